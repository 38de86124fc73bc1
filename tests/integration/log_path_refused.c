// A log_path the shim cannot write: a missing directory, and a directory. Each gives
// one warning per process, however many reports, and the reports go to stderr
// instead; the host runs unaffected. (The cases that need root, an unwritable
// directory and another user's file, are log_path_refused_root.)
// RUN: SOCKLEAK_OPTIONS="format=json:log_path=%T/missing/dir/r.%p.jsonl" %t 2>%T/err1 ; echo rc1=$? ; grep -c "cannot write reports to '%T/missing/dir/r\.[0-9]*\.jsonl' (No such file or directory); writing them to stderr" %T/err1 | sed 's/^/warn1=/' ; grep -c '^{"tool":"sockleak"' %T/err1 | sed 's/^/reports1=/'
// RUN: SOCKLEAK_OPTIONS="format=json:log_path=%T" %t 2>%T/err2 ; echo rc2=$? ; grep -c "cannot write reports to '%T' (Is a directory)" %T/err2 | sed 's/^/warn2=/' ; grep -c '^{"tool":"sockleak"' %T/err2 | sed 's/^/reports2=/'
// EXPECT: [v("rc%d" % i) for i in (1, 2)] == [0] * 2
// EXPECT: [v("warn%d" % i) for i in (1, 2)] == [1] * 2
// EXPECT: [v("reports%d" % i) for i in (1, 2)] == [2] * 2
#include <signal.h>

#include "common.h"

int main(void)
{
    MUST(socket(AF_INET, SOCK_STREAM, 0) >= 0);
    MUST(kill(getpid(), SIGUSR2) == 0); /* two reports: a signal one and the exit one */
    sleep_ms(200);
    return 0;
}
