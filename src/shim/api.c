/*
 * api.c - the public API (include/sockleak.h): what a program may ask the shim.
 *
 * Each entry point brings the core up if need be (the program may call it from a
 * constructor, or after dlopen-ing the shim), runs with the guard held so nothing the
 * shim does on its behalf is recorded, and hands errno back untouched. Results are
 * 0 or -errno, as inside the shim. None of this is on a wrapper's path.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "shim.h"
#define SOCKLEAK_API SL_EXPORT
#include "sockleak.h"

/* The core is up, or -EAGAIN (this thread is initializing it: a constructor race), or
 * -EDEADLK (called from a signal handler that interrupted the shim on this thread: the
 * locks a report or a scan needs may be this thread's). */
static int ready(void)
{
    if (sl_tls_guard)
        return -EDEADLK;
    sl_ensure();
    if (atomic_load(&sl_core_state) != 2)
        return -EAGAIN;
    sl_startup_finish(false);
    return 0;
}

SL_EXPORT int sockleak_report(void)
{
    int r = ready();
    return r ? r : sl_report_write(SL_REASON_API);
}

SL_EXPORT int sockleak_scan(void)
{
    int r = ready();
    if (r)
        return r;
    SL_KEEP_ERRNO();
    sl_guard_enter();
    sl_work_lock();
    sl_scan(false);
    sl_work_unlock();
    sl_guard_leave();
    return 0;
}

SL_EXPORT const char *sockleak_version(void)
{
    return SL_VERSION;
}

SL_EXPORT int sockleak_ignore(int fd)
{
    int r = ready();
    if (r)
        return r;
    SL_KEEP_ERRNO();
    return sl_fd_ignore(fd);
}

SL_EXPORT int sockleak_stats(struct sockleak_stats *out, size_t size)
{
    if (!out)
        return -EINVAL;
    int r = ready();
    if (r)
        return r;
    SL_KEEP_ERRNO();
    sl_guard_enter();
    struct sl_metrics m;
    if (!sl_metrics_latest(&m)) {
        sl_work_lock();
        sl_scan(false); /* nothing scanned yet: one scan, so no field is a guess */
        sl_work_unlock();
        sl_metrics_latest(&m);
    }
    struct sl_fd_stats fs;
    sl_fd_stats(&fs);
    struct sockleak_stats st = {
        .live = fs.live,
        .close_wait = m.close_wait,
        .leaked = m.leaked,
        .ignored = m.ignored,
        .listening = m.listening,
        .opened = fs.opened,
        .closed = fs.closed,
        .reports_written = atomic_load(&sl_reports_written),
        .untracked = atomic_load(&sl_count.untracked),
        .unseen = atomic_load(&sl_count.unseen_found),
        .open_fds = m.open_fds,
        .fd_limit = m.fd_limit,
        .age_ms = m.at_ns ? (sl_now_ns() - m.at_ns) / SL_MS : -1,
    };
    memset(out, 0, size);
    memcpy(out, &st, size < sizeof(st) ? size : sizeof(st));
    sl_guard_leave();
    return 0;
}

SL_EXPORT unsigned long sockleak_checkpoint(void)
{
    if (!sl_tls_guard)
        sl_ensure(); /* so that the sockets made from now on are recorded */
    return (unsigned long)sl_fd_checkpoint();
}

SL_EXPORT int sockleak_open_since(unsigned long cp)
{
    int r = ready();
    if (r)
        return r;
    SL_KEEP_ERRNO();
    long n = sl_fd_open_since(cp);
    return n > INT_MAX ? INT_MAX : (int)n;
}

SL_EXPORT long sockleak_report_since(unsigned long cp, char *buf, size_t size)
{
    int r = ready();
    return r ? r : sl_report_since(cp, buf, size);
}
