/*
 * triggers.c - reports when trouble starts, not after the postmortem.
 *
 * Three triggers, each firing once per crossing and re-armed only when the process has
 * come back below 90% of the level (so a process hovering at its limit does not write
 * a report per call):
 *   - emfile: socket()/accept()/socketpair()/dup() failed with EMFILE or ENFILE;
 *   - threshold, fds: open fds reached fd_threshold % of the soft RLIMIT_NOFILE. In the
 *     hot path the check is free: a new fd number N means fds 0..N-1 were all open
 *     (the kernel hands out the lowest free number), so N+1 is a floor on the count;
 *     scans count exactly (/proc/self/fd) and catch what the floor misses;
 *   - threshold, sockets: live tracked sockets reached max_sockets.
 * A trigger only asks the background thread for a report (async-signal-safe); the
 * report says which reason, and the fd counts at that moment.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <sys/resource.h>

#include "core.h"

static _Atomic int emfile_armed = 1, fds_armed = 1, sockets_armed = 1;
static _Atomic long threshold_fds, nofile_soft, nofile_hard, open_fds_seen;
_Atomic long sl_trigger_fds_at = LONG_MAX;
static _Atomic int last_errno;

void sl_trigger_limits(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    long soft = rl.rlim_cur == RLIM_INFINITY ? (1L << 30) : (long)rl.rlim_cur;
    long hard = rl.rlim_max == RLIM_INFINITY ? (1L << 30) : (long)rl.rlim_max;
    atomic_store(&nofile_soft, soft);
    atomic_store(&nofile_hard, hard);
    long t = sl_opt.fd_threshold > 0 ? soft * sl_opt.fd_threshold / 100 : 0;
    atomic_store(&threshold_fds, t);
    atomic_store(&sl_trigger_fds_at, t > 0 ? t : LONG_MAX);
}

static void fire(_Atomic int *armed, int reason)
{
    if (atomic_exchange(armed, 0)) {
        sl_need_worker();
        sl_request(reason);
    }
}

void sl_trigger_check(int fd)
{
    long t = atomic_load_explicit(&threshold_fds, memory_order_relaxed);
    if (SL_UNLIKELY(t > 0 && fd + 1 >= t) && atomic_load_explicit(&fds_armed, memory_order_relaxed))
        fire(&fds_armed, SL_REASON_THRESHOLD);
    if (SL_UNLIKELY(sl_opt.max_sockets > 0) && atomic_load_explicit(&sockets_armed, memory_order_relaxed)
        && sl_fd_live() >= sl_opt.max_sockets)
        fire(&sockets_armed, SL_REASON_THRESHOLD);
}

void sl_trigger_emfile(int err)
{
    SL_KEEP_ERRNO();
    atomic_store_explicit(&last_errno, err, memory_order_relaxed);
    if (atomic_load_explicit(&emfile_armed, memory_order_relaxed))
        fire(&emfile_armed, SL_REASON_EMFILE);
}

void sl_trigger_scan(long open_fds, long live)
{
    sl_trigger_limits();
    atomic_store(&open_fds_seen, open_fds);
    long t = atomic_load(&threshold_fds), soft = atomic_load(&nofile_soft);
    if (t > 0) {
        if (open_fds >= t)
            fire(&fds_armed, SL_REASON_THRESHOLD);
        else if (open_fds < t * 9 / 10)
            atomic_store(&fds_armed, 1);
    }
    if (open_fds < soft * 9 / 10)
        atomic_store(&emfile_armed, 1);
    if (sl_opt.max_sockets > 0) {
        if (live >= sl_opt.max_sockets)
            fire(&sockets_armed, SL_REASON_THRESHOLD);
        else if (live < sl_opt.max_sockets * 9 / 10)
            atomic_store(&sockets_armed, 1);
    }
}

void sl_trigger_info(struct sl_trigger_info *out)
{
    out->open_fds = atomic_load(&open_fds_seen);
    out->nofile_soft = atomic_load(&nofile_soft);
    out->nofile_hard = atomic_load(&nofile_hard);
    out->threshold_fds = atomic_load(&threshold_fds);
    out->last_errno = atomic_load(&last_errno);
}
