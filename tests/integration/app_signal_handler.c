// A program that handles the dump signal itself (a JVM, nginx) gets exactly its own
// handler: the shim steps aside for that signal, says so once (naming pid and program),
// and no signal becomes a report. sigaction() reports the program's handler back;
// SA_RESETHAND, signal() and sysv_signal() behave as without the shim (noshim_ lines).
// RUN: env -u LD_PRELOAD %t noshim_ ; %t shim_
// EXPECT: all(v("shim_" + k) == v("noshim_" + k) for k in ["calls", "query_ok", "siginfo_ok", "oneshot_calls", "signal_calls", "sysv_calls"])
// EXPECT: v("shim_calls") == 3 and v("shim_query_ok") == 1 and v("shim_oneshot_calls") == 1 and v("shim_sysv_calls") == 1
// EXPECT: len([x for x in mine if x["reason"] == "signal"]) == 0 and r["reason"] == "exit"
// EXPECT: len(re.findall(r"sockleak: app_signal_handler \(pid %d\): the program handles SIGUSR2 itself" % pid, err)) == 1
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

int main(int argc, char **argv)
{
    const char *prefix = argc > 1 ? argv[1] : "";
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
    sleep_ms(100);
    MUST(sigaction(SIGUSR2, NULL, &old) == 0 && old.sa_handler == SIG_DFL); /* reset by the kernel */
    /* signal() */
    MUST(signal(SIGUSR2, plain) != SIG_ERR);
    MUST(signal(SIGUSR2, plain) == plain);
    raise(SIGUSR2);
    raise(SIGUSR2);
    wait_for(&signal_calls, 2);
    /* sysv_signal(): one-shot as well */
    MUST(sysv_signal(SIGUSR2, sysv) == plain);
    raise(SIGUSR2); /* once: a second one would meet the default action, which ends the program */
    sleep_ms(300); /* let the report thread write */
    printf("%scalls=%d %squery_ok=%d %ssiginfo_ok=%d %soneshot_calls=%d %ssignal_calls=%d %ssysv_calls=%d\n", prefix,
           (int)calls, prefix, query_ok, prefix, (int)siginfo_ok, prefix, (int)oneshot_calls, prefix, (int)signal_calls,
           prefix, (int)sysv_calls);
    return 0;
}
