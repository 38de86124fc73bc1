/*
 * signals.c - the dump signal, only while the program has no use for it.
 *
 * A report can be asked for with a signal (dump_signal, SIGUSR2 by default), but only
 * a signal the program leaves at its default action is the shim's to take: at start-up
 * the shim installs its handler for it if, and only if, its disposition is SIG_DFL. A
 * program that ignores it (SIG_IGN set, or inherited across exec) keeps it ignored, so
 * its own exec'd children inherit SIG_IGN as POSIX says. A program that installs its
 * own handler for it, or ignores it later (a JVM suspends threads with SIGUSR2, nginx
 * upgrades its binary on it), gets exactly that installed: the shim steps aside for
 * the signal, says so once, and takes dump requests through its control socket only
 * (control.c). While the shim holds the signal, the program's sigaction() calls that
 * keep it at SIG_DFL are recorded and reported back as the program's, so it sees what
 * it set.
 *
 * The handler only asks the worker for a report (atomics and a futex wake): nothing
 * else runs in signal context. It uses SA_RESTART, so a dump never makes the
 * program's calls fail with EINTR (sleeps are another matter: nanosleep returns early
 * on any handled signal, which is why `sockleak dump` does not send one).
 */
#define _GNU_SOURCE
#include <signal.h>
#include <string.h>

#include "runtime.h"

enum { NOT_OURS = 0, OURS, STEPPED_ASIDE };
static _Atomic int state;
static struct sigaction host_view; /* what the program set, SIG_DFL, while the signal is ours */
static atomic_flag writer = ATOMIC_FLAG_INIT;

static void handler(int sig, siginfo_t *si, void *uc)
{
    (void)sig, (void)si, (void)uc;
    sl_request(SL_REASON_SIGNAL); /* atomics and a raw futex wake: errno untouched */
}

int sl_signals_install(void)
{
    int sig = sl_opt.dump_signal;
    if (!sig || atomic_load(&state) != NOT_OURS)
        return 0;
    struct sigaction cur, ours;
    if (real_sigaction(sig, NULL, &cur) != 0)
        return -errno;
    if (cur.sa_handler != SIG_DFL) { /* ignored (inherited) or handled already: the program's */
        atomic_store(&state, STEPPED_ASIDE);
        return -EBUSY;
    }
    host_view = cur;
    memset(&ours, 0, sizeof(ours));
    ours.sa_sigaction = handler;
    ours.sa_flags = SA_RESTART | SA_SIGINFO; /* a dump must not make the program's calls fail with EINTR */
    sigemptyset(&ours.sa_mask);
    if (real_sigaction(sig, &ours, NULL) != 0)
        return -errno;
    atomic_store(&state, OURS);
    return 0;
}

void sl_signals_uninstall(void)
{
    while (atomic_flag_test_and_set_explicit(&writer, memory_order_acquire))
        ;
    if (atomic_load(&state) == OURS)
        real_sigaction(sl_opt.dump_signal, &host_view, NULL); /* what the program set: SIG_DFL */
    atomic_store(&state, NOT_OURS);
    atomic_flag_clear_explicit(&writer, memory_order_release);
}

bool sl_signal_is_ours(int sig)
{
    return sig > 0 && sig == sl_opt.dump_signal && atomic_load_explicit(&state, memory_order_relaxed) == OURS;
}

int sl_signal_host_sigaction(const struct sigaction *act, struct sigaction *old)
{
    while (atomic_flag_test_and_set_explicit(&writer, memory_order_acquire))
        ;
    struct sigaction prev = host_view;
    int r = 0;
    bool aside = false;
    if (act && act->sa_handler == SIG_DFL && atomic_load(&state) == OURS) {
        host_view = *act; /* still the default for the program: the signal stays ours */
    } else if (act) {
        r = real_sigaction(sl_opt.dump_signal, act, NULL);
        aside = r == 0 && atomic_exchange(&state, STEPPED_ASIDE) == OURS;
    }
    atomic_flag_clear_explicit(&writer, memory_order_release);
    if (old)
        *old = prev;
    if (aside && act->sa_handler != SIG_IGN)
        sl_log("the program handles %s itself: sockleak leaves that signal to it; `sockleak dump %d` asks for a "
               "report without a signal", sl_signal_name(sl_opt.dump_signal), (int)sl_pid);
    return r;
}
