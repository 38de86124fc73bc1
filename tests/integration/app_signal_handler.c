// The host's own handler for the dump signal keeps working: the shim chains to it.
// sigaction() reports the host's handler back (not the shim's); SA_RESETHAND is
// honoured (the host handler runs once); signal() works too; every dump request
// still writes a report; and the default action of SIGUSR2 (terminate) never happens.
// EXPECT: v("calls") == 3 and v("query_ok") == 1 and v("siginfo_ok") == 1
// EXPECT: v("oneshot_calls") == 1 and v("signal_calls") == 2 and v("sysv_calls") == 1
// EXPECT: len([x for x in mine if x["reason"] == "signal"]) >= 1
// EXPECT: r["reason"] == "exit"
#include <signal.h>

#include "common.h"

static volatile sig_atomic_t calls, siginfo_ok, oneshot_calls, signal_calls, sysv_calls;

extern sighandler_t sysv_signal(int sig, sighandler_t handler);

static void sysv(int sig)
{
    (void)sig;
    sysv_calls++;
}

static void on_usr2(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    calls++;
    if (sig == SIGUSR2 && si && si->si_signo == SIGUSR2)
        siginfo_ok = 1;
}

static void oneshot(int sig)
{
    (void)sig;
    oneshot_calls++;
}

static void plain(int sig)
{
    (void)sig;
    signal_calls++;
}

static void wait_for(volatile sig_atomic_t *counter, int n)
{
    for (int i = 0; i < 500 && *counter < n; i++)
        sleep_ms(10);
}

int main(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    MUST(s >= 0);
    struct sigaction sa, old;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_usr2;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    MUST(sigaction(SIGUSR2, &sa, NULL) == 0);
    MUST(sigaction(SIGUSR2, NULL, &old) == 0);
    int query_ok = old.sa_sigaction == on_usr2 && (old.sa_flags & SA_SIGINFO);
    for (int i = 0; i < 3; i++) {
        MUST(kill(getpid(), SIGUSR2) == 0);
        wait_for(&calls, i + 1);
    }
    /* one-shot handler */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = oneshot;
    sa.sa_flags = SA_RESETHAND;
    MUST(sigaction(SIGUSR2, &sa, NULL) == 0);
    MUST(kill(getpid(), SIGUSR2) == 0);
    MUST(kill(getpid(), SIGUSR2) == 0); /* SIG_DFL for the host now: must not kill us */
    sleep_ms(100);
    /* signal() */
    MUST(signal(SIGUSR2, plain) != SIG_ERR);
    MUST(signal(SIGUSR2, plain) == plain);
    raise(SIGUSR2);
    raise(SIGUSR2);
    wait_for(&signal_calls, 2);
    /* sysv_signal(): one-shot as well */
    MUST(sysv_signal(SIGUSR2, sysv) == plain);
    raise(SIGUSR2);
    raise(SIGUSR2);
    sleep_ms(300); /* let the report thread write */
    printf("calls=%d query_ok=%d siginfo_ok=%d oneshot_calls=%d signal_calls=%d sysv_calls=%d\n", (int)calls, query_ok,
           (int)siginfo_ok, (int)oneshot_calls, (int)signal_calls, (int)sysv_calls);
    return 0;
}
