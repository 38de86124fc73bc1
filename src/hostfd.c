/*
 * hostfd.c - the host's fds, seen from the shim's own thread.
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
 * probe makes, and the copy is closed right after (sl_hostfd_get/put; in every other
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
 * sl_hostfd_lost() notices: the thread then hands over to a new one that shares the
 * table (scanner.c).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <linux/close_range.h>
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

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
static __thread int tls_pidfd __attribute__((tls_model("initial-exec"))) = -1;

bool sl_hostfd_own_table(void)
{
    return tls_pidfd >= 0;
}

/* bit 0: known; bit 1: some sanitizer; bit 2: ThreadSanitizer */
static int sanitizers(void)
{
    static _Atomic int known;
    int k = atomic_load_explicit(&known, memory_order_relaxed);
    if (!k) {
        static const char *const inits[] = { "__tsan_init", "__asan_init", "__msan_init", "__hwasan_init" };
        k = 1;
        for (size_t i = 0; i < SL_ARRAY_LEN(inits); i++)
            if (dlsym(RTLD_DEFAULT, inits[i]))
                k |= 2 | (i == 0 ? 4 : 0);
        atomic_store_explicit(&known, k, memory_order_relaxed);
    }
    return k;
}

bool sl_sanitized(void)
{
    return sanitizers() & 2;
}

bool sl_tsan(void)
{
    return sanitizers() & 4;
}

int sl_hostfd_leave_table(void)
{
    int saved = errno, r = 0;
    if (tls_pidfd >= 0)
        goto out;
    if (sl_sanitized()) { /* its reports from this thread must reach the host's stderr */
        r = -ENOTSUP;
        goto out;
    }
    /* can this process copy its own fds? (a pidfd in the shared table, for a moment) */
    int p = (int)syscall(SYS_pidfd_open, getpid(), 0);
    if (p < 0) {
        r = -errno;
        goto out;
    }
    int t = (int)syscall(SYS_pidfd_getfd, p, p, 0);
    if (t < 0) {
        r = -errno;
        syscall(SYS_close, p);
        goto out;
    }
    syscall(SYS_close, t);
    syscall(SYS_close, p);
    /* a table of our own, empty: nothing of the host's is copied, so no host file
     * outlives the host's close of it through us */
    if (syscall(SYS_close_range, 0U, ~0U, CLOSE_RANGE_UNSHARE) != 0) {
        r = -errno;
        goto out;
    }
    p = (int)syscall(SYS_pidfd_open, getpid(), 0);
    if (p < 0) {
        /* cannot happen short of running out of memory; the thread cannot go back */
        r = -errno;
        sl_log("the background thread cannot reach the program's fds (pidfd_open: %s)", strerror(-r));
        tls_pidfd = -2;
        goto out;
    }
    tls_pidfd = p;
out:
    errno = saved;
    return r;
}

bool sl_hostfd_lost(void)
{
    if (tls_pidfd == -2)
        return true;
    if (tls_pidfd < 0)
        return false;
    /* With the main thread gone, pidfd_getfd fails with ESRCH whatever the number. Older
     * kernels say EBADF: then one of the shim's own fds in the host's table, which the
     * host cannot close (privfd.c), tells a gone table from a closed number. */
    int c = sl_hostfd_get(2);
    if (c >= 0) {
        sl_hostfd_put(c);
        return false;
    }
    bool lost = c == -ESRCH;
    if (c == -EBADF) {
        int ours[16];
        if (sl_privfd_list(ours, 16) > 0) {
            c = sl_hostfd_get(ours[0]);
            sl_hostfd_put(c);
            lost = c == -EBADF || c == -ESRCH;
        }
    }
    if (lost) {
        syscall(SYS_close, tls_pidfd);
        tls_pidfd = -2;
    }
    return lost;
}

int sl_hostfd_get(int fd)
{
    if (SL_LIKELY(tls_pidfd == -1))
        return fd;
    if (fd < 0)
        return -EBADF;
    if (tls_pidfd < 0)
        return -EBADF;
    int saved = errno;
    int r = (int)syscall(SYS_pidfd_getfd, tls_pidfd, fd, 0);
    if (r < 0)
        r = -errno;
    errno = saved;
    return r;
}

void sl_hostfd_put(int local)
{
    if (SL_UNLIKELY(tls_pidfd != -1) && local >= 0) {
        int saved = errno;
        syscall(SYS_close, local);
        errno = saved;
    }
}
