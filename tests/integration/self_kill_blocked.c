// raise() of a signal the thread blocks (a program that collects it with sigwait) does
// not end the process: no early exit report. The one report is written at the real exit
// and sees the socket closed after the signal.
// EXPECT: len(mine) == 1 and r["reason"] == "exit"
// EXPECT: fds() == set() and r["summary"]["closed"] == 1
#include <signal.h>

#include "common.h"

int main(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    MUST(pthread_sigmask(SIG_BLOCK, &set, NULL) == 0);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    MUST(s >= 0);
    MUST(raise(SIGTERM) == 0);
    int got = 0;
    MUST(sigwait(&set, &got) == 0 && got == SIGTERM);
    MUST(close(s) == 0);
    return 0;
}
