// A log_path that is a FIFO: with a reader, the report goes through it whole; with no
// reader (nobody will ever open the other end), the shim must not wait for one: the
// host exits at once, with one warning, and the report on stderr instead.
// RUN: mkfifo %T/fifo ; cat %T/fifo > %T/read.jsonl & C=$! ; SOCKLEAK_OPTIONS="format=json:log_path=%T/fifo" %t ; echo rc1=$? ; wait $C ; echo read_lines=$(grep -c '^{"tool":"sockleak"' %T/read.jsonl) ; mkfifo %T/lonely ; SOCKLEAK_OPTIONS="format=json:log_path=%T/lonely" timeout 10 %t 2>%T/err2 ; echo rc2=$? ; grep -c "cannot write reports to '%T/lonely'" %T/err2 | sed 's/^/warn2=/' ; grep -c '^{"tool":"sockleak"' %T/err2 | sed 's/^/reports2=/'
// EXPECT: v("rc1") == 0 and v("read_lines") == 1
// EXPECT: v("rc2") == 0 and v("warn2") == 1 and v("reports2") == 1
#include "common.h"

int main(void)
{
    MUST(socket(AF_INET, SOCK_STREAM, 0) >= 0);
    return 0;
}
