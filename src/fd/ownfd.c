/*
 * ownfd.c - the shim's own file descriptors.
 *
 * The host must never notice the shim's fds, and the shim must never touch the host's.
 * Both are at risk when a host sweeps its fd table (closefrom(3) in a daemon, a
 * close() loop, close_range after fork) and then reuses the numbers: the shim would
 * read or write the host's sockets through a stale number. So every fd the shim keeps
 * is adopted here: moved to the top of the fd space (near the soft RLIMIT_NOFILE, where
 * hosts do not look; the unwinder's pipe, kept for the process lifetime, just above it,
 * where they cannot look), remembered in a small slot array, and marked in the
 * fd state map (fdstate.c) so the close/dup wrappers take their slow path for it and
 * protect it.
 * Slots are atomics: the table is read from any thread, including signal handlers.
 *
 * Only fds the shim keeps live here (libunwind's pipe, the /proc/self/fd directory);
 * files read or written once are opened in the I/O child, in its copy of the fd table
 * (iochild.c), and never appear in the host's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fd.h"

#define SLOTS 16
#define HIGH_MARGIN 32 /* how far below the soft limit private fds go */

static _Atomic int slots[SLOTS] = { [0 ... SLOTS - 1] = -1 };
/* The lowest fd in slots (INT_MAX: none), so the common answer of sl_ownfd_is, "no",
 * costs one load: private fds sit near the top of the fd space. */
_Atomic int sl_ownfd_lo = INT_MAX;

static void update_lo(void)
{
    int lo = INT_MAX;
    for (int i = 0; i < SLOTS; i++) {
        int fd = atomic_load(&slots[i]);
        if (fd >= 0 && fd < lo)
            lo = fd;
    }
    atomic_store(&sl_ownfd_lo, lo);
}

static int high_base(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return 1024 - HIGH_MARGIN;
    long cur = rl.rlim_cur > (1 << 20) ? (1 << 20) : (long)rl.rlim_cur;
    if (cur <= 2 * HIGH_MARGIN)
        return 3;
    return (int)(cur - HIGH_MARGIN);
}

/* Move fd above the soft RLIMIT_NOFILE, where no fd the host opens can ever be and
 * where loops up to sysconf(_SC_OPEN_MAX) do not look (daemons closing their fds,
 * Python's subprocess tests listing theirs); ABOVE_LIMIT past it when the hard limit
 * allows, clear of fds a parent with a higher limit left open. An fd there needs the
 * soft limit raised for the time of one F_DUPFD, and the hard limit too when it is
 * too low (allowed with CAP_SYS_RESOURCE); both are put back at once. Only for the
 * fds that live as long as the process (the unwinder's pipe, the worker's eventfd),
 * made at the first socket, when a host rarely has threads changing their limits
 * meanwhile. Returns the new fd, or -1 (fd unchanged). */
#define ABOVE_LIMIT 2048
static int move_above_limit(int fd)
{
    struct rlimit cur, raised;
    if (getrlimit(RLIMIT_NOFILE, &cur) != 0 || cur.rlim_cur == RLIM_INFINITY || cur.rlim_cur >= (1 << 20))
        return -1;
    rlim_t target = cur.rlim_cur + ABOVE_LIMIT;
    raised.rlim_cur = target + SLOTS;
    raised.rlim_max = cur.rlim_max == RLIM_INFINITY || cur.rlim_max >= raised.rlim_cur ? cur.rlim_max
                                                                                       : raised.rlim_cur;
    if (setrlimit(RLIMIT_NOFILE, &raised) != 0) {
        /* the hard limit may not be raised: as far above the soft one as it allows */
        if (cur.rlim_max == RLIM_INFINITY || cur.rlim_max <= cur.rlim_cur)
            return -1;
        target = cur.rlim_max - cur.rlim_cur > 2 * SLOTS ? cur.rlim_max - SLOTS : cur.rlim_cur;
        raised.rlim_cur = cur.rlim_max;
        raised.rlim_max = cur.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &raised) != 0)
            return -1;
    }
    int hi = (int)SL_SYS(SYS_fcntl, fd, F_DUPFD_CLOEXEC, (int)target);
    if (setrlimit(RLIMIT_NOFILE, &cur) != 0 && hi >= 0) {
        SL_SYS(SYS_close, hi); /* never leave the host a limit it did not set */
        return -1;
    }
    return hi;
}

int sl_ownfd_adopt(int fd, bool permanent)
{
    if (sl_tls_own_table)
        return fd; /* the shim's thread, in a table of its own: the host cannot reach it */
    SL_KEEP_ERRNO(); /* setrlimit */
    int base = high_base();
    int hidden = permanent ? move_above_limit(fd) : -1;
    if (hidden >= 0) {
        SL_SYS(SYS_close, fd);
        fd = hidden;
    } else if (fd < base) {
        int hi = (int)SL_SYS(SYS_fcntl, fd, F_DUPFD_CLOEXEC, base);
        if (hi == -EBADF)
            return -EBADF; /* the host closed the number under us (a close loop, closefrom): not ours */
        if (hi >= 0) {
            SL_SYS(SYS_close, fd);
            fd = hi;
        }
    }
    for (int i = 0; i < SLOTS; i++) {
        int expect = -1;
        if (atomic_compare_exchange_strong(&slots[i], &expect, fd)) {
            int lo = atomic_load(&sl_ownfd_lo);
            while (fd < lo && !atomic_compare_exchange_weak(&sl_ownfd_lo, &lo, fd))
                ;
            sl_fd_watch_set(fd, true);
            break;
        }
    }
    return fd;
}

void sl_ownfd_forget(int fd)
{
    for (int i = 0; i < SLOTS; i++) {
        int expect = fd;
        if (atomic_compare_exchange_strong(&slots[i], &expect, -1)) {
            sl_fd_watch_set(fd, false);
            update_lo();
            return;
        }
    }
}

int sl_ownfd_close(int fd)
{
    if (!sl_tls_own_table)
        sl_ownfd_forget(fd);
    return (int)SL_SYS(SYS_close, fd);
}

bool sl_ownfd_held(int fd)
{
    for (int i = 0; i < SLOTS; i++)
        if (atomic_load_explicit(&slots[i], memory_order_relaxed) == fd)
            return true;
    return false;
}

int sl_ownfd_list(int *out, int max)
{
    int n = 0;
    for (int i = 0; i < SLOTS && n < max; i++) {
        int fd = atomic_load(&slots[i]);
        if (fd >= 0)
            out[n++] = fd;
    }
    /* sorted, so callers can split ranges around them */
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && out[j - 1] > out[j]; j--) {
            int t = out[j];
            out[j] = out[j - 1];
            out[j - 1] = t;
        }
    return n;
}
