/*
 * owntable.c - the shim thread's fd table of its own, and the program's fds seen from it.
 *
 * A second thread costs a process something in the kernel even while it sleeps: while
 * an fd table has more than one user, every system call on an fd takes and drops a
 * reference on the file (fdget's fast path is for tables with one user). The shim's
 * background thread made single-threaded servers two-threaded: an nginx worker spent
 * about 2% more CPU per keep-alive request for it, measured on the development machine.
 *
 * So that thread gives up the host's fd table as it starts: close_range(0, ~0U,
 * CLOSE_RANGE_UNSHARE) leaves it an empty table of its own, and the host's table has
 * one user again. The thread reaches a host fd through a pidfd of its own process:
 * pidfd_getfd() copies the file into the thread's table for the few system calls a
 * probe makes, and the copy is closed right after (sl_owntable_get/put; in every other
 * thread they return the number itself). The copy is the same open file, so fstat,
 * getsockopt, poll and getsockname see what they would see through the host's number,
 * and a probe never lands on a number the host reused meanwhile. Its one cost: a host
 * that closes the socket during those microseconds has its last reference dropped by
 * the shim's close of the copy instead (the FIN leaves a moment later; a lingering
 * close lingers in the shim's thread).
 *
 * The thread keeps sharing the host's table (as it did before) when the kernel lacks
 * pidfd_getfd (before 5.6) or close_range's unshare flag (before 5.9), when a seccomp
 * policy refuses them, or with own_fd_table=0. pidfd_getfd copies from the table of
 * the process's main thread; a process whose main thread has exited has none, which
 * sl_owntable_lost() notices: the thread then hands over to a new one that shares the
 * table (runtime/worker.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/close_range.h>
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fd.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif

/* the pidfd, in this thread's own table; -1: this thread shares the host's table */
static __thread int tls_pidfd SL_TLS = -1;

int sl_owntable_leave(void)
{
    if (tls_pidfd >= 0)
        return 0;
    if (sl_sanitized()) /* its reports from this thread must reach the host's stderr */
        return -ENOTSUP;
    /* can this process copy its own fds? (a pidfd in the shared table, for a moment) */
    int p = (int)SL_SYS(SYS_pidfd_open, getpid(), 0);
    if (p < 0)
        return p;
    int t = (int)SL_SYS(SYS_pidfd_getfd, p, p, 0);
    SL_SYS(SYS_close, p);
    if (t < 0)
        return t;
    SL_SYS(SYS_close, t);
    /* a table of our own, empty: nothing of the host's is copied, so no host file
     * outlives the host's close of it through us */
    long r = SL_SYS(SYS_close_range, 0U, ~0U, CLOSE_RANGE_UNSHARE);
    if (r != 0)
        return (int)r;
    p = (int)SL_SYS(SYS_pidfd_open, getpid(), 0);
    if (p < 0) {
        /* cannot happen short of running out of memory; the thread cannot go back */
        sl_log("the background thread cannot reach the program's fds (pidfd_open: %s)", strerror(-p));
        tls_pidfd = -2;
        return p;
    }
    tls_pidfd = p;
    sl_tls_own_table = true;
    return 0;
}

bool sl_owntable_lost(void)
{
    if (tls_pidfd == -2)
        return true;
    if (tls_pidfd < 0)
        return false;
    /* With the main thread gone, pidfd_getfd fails with ESRCH whatever the number. Older
     * kernels say EBADF: then one of the shim's own fds in the host's table, which the
     * host cannot close (ownfd.c), tells a gone table from a closed number. */
    int c = sl_owntable_get(2);
    if (c >= 0) {
        sl_owntable_put(c);
        return false;
    }
    bool lost = c == -ESRCH;
    if (c == -EBADF) {
        int ours[16];
        if (sl_ownfd_list(ours, 16) > 0) {
            c = sl_owntable_get(ours[0]);
            sl_owntable_put(c);
            lost = c == -EBADF || c == -ESRCH;
        }
    }
    if (lost) {
        SL_SYS(SYS_close, tls_pidfd);
        tls_pidfd = -2;
        sl_tls_own_table = false;
    }
    return lost;
}

int sl_owntable_get(int fd)
{
    if (SL_LIKELY(tls_pidfd == -1))
        return fd;
    if (fd < 0 || tls_pidfd < 0)
        return -EBADF;
    return (int)SL_SYS(SYS_pidfd_getfd, tls_pidfd, fd, 0);
}

void sl_owntable_put(int local)
{
    if (SL_UNLIKELY(tls_pidfd != -1) && local >= 0)
        SL_SYS(SYS_close, local);
}
