// Bad SOCKLEAK_OPTIONS, as the host sees them: every key with a bad value, an empty
// variable, a huge one (120 KB, close to the 128 KiB Linux allows one environment
// string; 1 MB strings are parsed in the unit tests and the fuzz target), bytes that
// are not UTF-8, unknown signals, negative durations. Each run prints one clear line
// per problem (at most 8, then one line counting the rest), naming the key and
// showing the offending text made printable; every key keeps its default; the host
// runs to its end (and survives the default dump signal it sends itself).
// RUN: SOCKLEAK_OPTIONS='format=json:log_path=%T/report.%p.jsonl:report_at_exit=maybe:dump_signal=SIGFOO:close_wait_after=-5s:scan_interval=10parsecs:stack_depth=65:verbose=9:max_tracked=-1' %t 1 2>%T/err1 ; grep -c '^sockleak: [^:]*: SOCKLEAK_OPTIONS: bad value' %T/err1 | sed 's/^/err1_bad=/' ; grep -c . %T/err1 | sed 's/^/err1_lines=/'
// (the text report on stderr: one for the signal, one at exit)
// RUN: SOCKLEAK_OPTIONS='format=xml:log_path=' %t 2 2>%T/err2 ; grep -c '^sockleak: [^:]*: SOCKLEAK_OPTIONS: bad value' %T/err2 | sed 's/^/err2_bad=/' ; grep -c '^SUMMARY: sockleak: 0 leaked sockets' %T/err2 | sed 's/^/err2_text_report=/'
// RUN: SOCKLEAK_OPTIONS="format=json:log_path=%T/report.%p.jsonl:dump_signal=SIGRTMIN+99:close_wait_after=-1ms:scan_interval=-0.5s:$(printf '\377\376')=1:stack_depth=$(printf 'x\200y')" %t 3 2>%T/err3 ; grep -c '^sockleak: [^:]*: SOCKLEAK_OPTIONS' %T/err3 | sed 's/^/err3_lines=/' ; grep -c 'xff.xfe' %T/err3 | sed 's/^/err3_escaped_key=/' ; grep -c 'x.x80y' %T/err3 | sed 's/^/err3_escaped_value=/'
// RUN: SOCKLEAK_OPTIONS= %t 4 2>%T/err4 ; grep -c '^sockleak' %T/err4 | sed 's/^/err4_warnings=/' ; grep -c '^SUMMARY: sockleak' %T/err4 | sed 's/^/err4_text_report=/'
// RUN: SOCKLEAK_OPTIONS="$(head -c 120000 /dev/zero | tr '\0' 'x')" %t 5 2>%T/err5 ; grep -c '^sockleak: [^:]*: SOCKLEAK_OPTIONS' %T/err5 | sed 's/^/err5_lines=/' ; awk '/^sockleak/ && length > m { m = length } END { print "err5_longest=" m }' %T/err5
// RUN: SOCKLEAK_OPTIONS="format=json:log_path=%T/report.%p.jsonl:$(yes 'stack_depth=x' | head -n 8000 | tr '\n' ':')" %t 6 2>%T/err6 ; grep -c '^sockleak: [^:]*: SOCKLEAK_OPTIONS: bad value' %T/err6 | sed 's/^/err6_bad=/' ; grep -c '^sockleak: [^:]*: SOCKLEAK_OPTIONS: 7992 more problems not shown' %T/err6 | sed 's/^/err6_more=/'
// EXPECT: [v("ran%d" % i) for i in range(1, 7)] == [1] * 6
// EXPECT: v("err1_bad") == 7 and v("err1_lines") == 7
// EXPECT: [x["reason"] for x in reports if x["pid"] == v("pid1")] == ["signal", "exit"]
// EXPECT: [[x for x in reports if x["pid"] == v("pid1")][-1]["options"][k] for k in ("close_wait_after_ms", "scan_interval_ms", "stack_depth")] == [5000, 1000, 16]
// EXPECT: [x for x in reports if x["pid"] == v("pid1")][-1]["summary"]["live"] == 3
// EXPECT: v("err2_bad") == 2 and v("err2_text_report") == 2
// EXPECT: v("err3_lines") == 5 and v("err3_escaped_key") == 1 and v("err3_escaped_value") == 1
// EXPECT: [[x for x in reports if x["pid"] == v("pid3")][-1]["options"][k] for k in ("close_wait_after_ms", "scan_interval_ms", "stack_depth")] == [5000, 1000, 16]
// EXPECT: v("err4_warnings") == 0 and v("err4_text_report") == 2
// EXPECT: v("err5_lines") == 1 and v("err5_longest") < 200
// EXPECT: v("err6_bad") == 8 and v("err6_more") == 1
// EXPECT: [x for x in reports if x["pid"] == v("pid6")][-1]["options"]["stack_depth"] == 16
// EXPECT: len([x for x in reports if x["reason"] == "exit"]) == 3
#include <signal.h>

#include "common.h"

int main(int argc, char **argv)
{
    MUST(argc == 2);
    for (int i = 0; i < 3; i++)
        MUST(socket(AF_INET, SOCK_STREAM, 0) >= 0);
    MUST(kill(getpid(), SIGUSR2) == 0); /* the default dump signal: a report, not death */
    sleep_ms(200);
    printf("ran%s=1 pid%s=%d\n", argv[1], argv[1], (int)getpid());
    return 0;
}
