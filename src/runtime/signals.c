/*
 * signals.c - the dump signal, shared with the host.
 *
 * The shim installs its handler for dump_signal at start-up and keeps it installed:
 * the sigaction/signal wrappers (shim/wrappers.c) route the host's calls for that one
 * signal here. The host's disposition is recorded instead of installed, reported back
 * to it on query, and honoured by chaining: our handler wakes the report thread (an
 * atomic add and a futex wake, nothing else) and then runs the host's handler, with the
 * host's flags (SA_SIGINFO, SA_RESETHAND) emulated and the host's sa_mask and
 * SA_RESTART/SA_ONSTACK/SA_NODEFER applied to the installed handler. The default
 * action (terminate, for SIGUSR2) is never taken: the user asked for a report. Other
 * signals pass straight through.
 *
 * The host's disposition lives in two slots with an atomic index, so the handler reads
 * a whole one even while the host changes it; writers serialize on a spin flag.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "runtime.h"

static struct sigaction host_act[2];
static _Atomic int host_idx;
static _Atomic int installed;
static atomic_flag writer = ATOMIC_FLAG_INIT;
static _Atomic int warned;

static void handler(int sig, siginfo_t *si, void *uc)
{
    sl_request(SL_REASON_SIGNAL); /* atomics and a raw futex wake: errno untouched */
    int idx = atomic_load_explicit(&host_idx, memory_order_acquire);
    struct sigaction a = host_act[idx];
    if (a.sa_flags & SA_RESETHAND) {
        /* one-shot host handler: it is SIG_DFL from now on (for us: dump only) */
        struct sigaction dfl;
        memset(&dfl, 0, sizeof(dfl));
        dfl.sa_handler = SIG_DFL;
        host_act[!idx] = dfl;
        atomic_store_explicit(&host_idx, !idx, memory_order_release);
    }
    if (a.sa_flags & SA_SIGINFO) {
        if (a.sa_sigaction && (void *)a.sa_sigaction != (void *)SIG_IGN && (void *)a.sa_sigaction != (void *)SIG_DFL)
            a.sa_sigaction(sig, si, uc);
    } else if (a.sa_handler != SIG_DFL && a.sa_handler != SIG_IGN) {
        a.sa_handler(sig);
    }
}

/* The handler as installed, carrying the host's mask and flags. */
static int install(const struct sigaction *host)
{
    struct sigaction ours;
    memset(&ours, 0, sizeof(ours));
    ours.sa_sigaction = handler;
    bool host_handles = host->sa_handler != SIG_DFL && host->sa_handler != SIG_IGN;
    if (host_handles) {
        ours.sa_mask = host->sa_mask;
        ours.sa_flags = (host->sa_flags & (SA_RESTART | SA_ONSTACK | SA_NODEFER)) | SA_SIGINFO;
    } else {
        sigemptyset(&ours.sa_mask);
        ours.sa_flags = SA_RESTART | SA_SIGINFO; /* a dump must not make the host's calls fail with EINTR */
    }
    return real_sigaction(sl_opt.dump_signal, &ours, NULL);
}

int sl_signals_install(void)
{
    int sig = sl_opt.dump_signal;
    if (!sig || atomic_load(&installed))
        return 0;
    struct sigaction cur;
    if (real_sigaction(sig, NULL, &cur) != 0)
        return -errno;
    host_act[0] = cur; /* SIG_IGN inherited across exec stays the host's choice */
    atomic_store(&host_idx, 0);
    if (install(&cur) != 0)
        return -errno;
    atomic_store(&installed, 1);
    return 0;
}

bool sl_signal_is_ours(int sig)
{
    return sig > 0 && sig == sl_opt.dump_signal && atomic_load_explicit(&installed, memory_order_relaxed);
}

int sl_signal_host_sigaction(const struct sigaction *act, struct sigaction *old)
{
    while (atomic_flag_test_and_set_explicit(&writer, memory_order_acquire))
        ;
    int idx = atomic_load(&host_idx);
    struct sigaction prev = host_act[idx];
    int r = 0;
    if (act) {
        host_act[!idx] = *act;
        atomic_store_explicit(&host_idx, !idx, memory_order_release);
        r = install(act);
    }
    atomic_flag_clear_explicit(&writer, memory_order_release);
    if (old)
        *old = prev;
    if (act && act->sa_handler != SIG_DFL && act->sa_handler != SIG_IGN && !atomic_exchange(&warned, 1))
        sl_log("the program handles %s itself; each dump request will also run its handler "
               "(set dump_signal to another signal if that is unwanted)",
               sl_signal_name(sl_opt.dump_signal));
    return r;
}
