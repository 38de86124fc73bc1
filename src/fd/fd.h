/*
 * fd.h - the fd layer: the state of fd numbers and the shim's own fds, and every way
 * the shim reaches the kernel about an fd. Uses base; knows nothing of the registry.
 *
 *   fdstate.c   a byte per fd number (watched, closing, closed, end-of-file not read
 *               yet): what close(), read() & co test before anything else
 *   ownfd.c     the shim's own fds, moved high and protected from the program
 *   owntable.c  the shim thread's fd table of its own, and reaching the program's fds
 *               from it (pidfd_getfd)
 *   iochild.c   file I/O in a child with its own copy of the fd table
 *   stdfd.c     the program's stdout/stderr as they were at start-up: where text may go
 *   probe.c     what the kernel says about one fd (fstat, TCP_INFO, addresses) and the
 *               list of open fds
 *   sockdiag.c  every TCP socket in CLOSE_WAIT, from one NETLINK_SOCK_DIAG dump
 */
#ifndef SOCKLEAK_FD_H
#define SOCKLEAK_FD_H

#include "base/base.h"

/* ---- fdstate.c: the per-fd state map ----
 * One byte per fd number, of four bits:
 *   SL_FD_WATCH    tracked, or one of the shim's own: close() & co take their slow path;
 *   SL_FD_CLOSING  detached, the real close under way: a scan must not adopt it;
 *   SL_FD_CLOSED   the last tracked socket on this number was closed by a close we saw:
 *                  a close that then fails with EBADF is a double close;
 *   SL_FD_EOF      a tracked stream socket (or one of a type not known yet) whose
 *                  end-of-file no read has returned yet: a read() that returns 0 on it
 *                  takes its slow path (the registry sets it with the record, clears it
 *                  once end-of-file is recorded, and at close).
 * A byte per number, not less, so that the registry, which changes a number's bits
 * only under the lock that guards its record, sets them with a plain store
 * (sl_fdstate_put); the one change made without that lock, the end of a close's
 * CLOSING window, is an atomic AND that leaves every other bit alone (sl_fdstate_clear),
 * and the shim's own fds, which have no record, change theirs with a compare-and-swap
 * (sl_fdstate_update). Numbers beyond the map (it covers fs.nr_open) answer
 * "watched": the slow path. */
#define SL_FD_WATCH 1u
#define SL_FD_CLOSING 2u
#define SL_FD_CLOSED 4u
#define SL_FD_EOF 8u
extern _Atomic uint8_t *sl_fdmap;  /* sl_fdmap_n bytes; NULL before sl_fdstate_init */
extern _Atomic unsigned sl_fdmap_n; /* 0 until sl_fdmap is set (published after it) */
extern _Atomic int sl_fdmap_hi;    /* highest fd ever watched, -1 = none; always one the map covers */

int sl_fdstate_init(void); /* 0, or -ENOMEM: every fd then takes the slow path */

static inline bool sl_fdstate_covers(int fd)
{
    /* one comparison: a negative fd is a huge unsigned, and n is 0 while there is no map */
    return (unsigned)fd < atomic_load_explicit(&sl_fdmap_n, memory_order_acquire);
}
static inline unsigned sl_fdstate_get(int fd)
{
    return atomic_load_explicit(&sl_fdmap[(unsigned)fd], memory_order_relaxed);
}
void sl_fdstate_raise_hi(int fd); /* sl_fdmap_hi becomes at least fd */
/* fd's bits become exactly bits: only under the lock of fd's record (the registry). */
static inline void sl_fdstate_put(int fd, unsigned bits)
{
    if (SL_UNLIKELY(!sl_fdstate_covers(fd)))
        return;
    atomic_store_explicit(&sl_fdmap[(unsigned)fd], (uint8_t)bits, memory_order_relaxed);
    if ((bits & SL_FD_WATCH) && SL_UNLIKELY(fd > atomic_load_explicit(&sl_fdmap_hi, memory_order_relaxed)))
        sl_fdstate_raise_hi(fd);
}
/* The same for a number covered by the map and at most sl_fdmap_hi: one store. */
static inline void sl_fdstate_store(int fd, unsigned bits)
{
    atomic_store_explicit(&sl_fdmap[(unsigned)fd], (uint8_t)bits, memory_order_relaxed);
}
/* fd's bits lose those in clear, in one atomic step, whatever else changes them. */
static inline void sl_fdstate_clear(int fd, unsigned clear)
{
    if (SL_LIKELY(sl_fdstate_covers(fd)))
        atomic_fetch_and_explicit(&sl_fdmap[(unsigned)fd], (uint8_t)~clear, memory_order_relaxed);
}
/* fd's bits become (bits & ~clear) | set, in one atomic step. */
void sl_fdstate_update(int fd, unsigned clear, unsigned set);

/* Cheap test used by close() & co: can fd be a tracked socket or a private fd? False
 * means "certainly not": the wrapper forwards without further work. */
static inline bool sl_fd_watched(int fd)
{
    if (fd < 0)
        return false;
    if (SL_UNLIKELY(!sl_fdstate_covers(fd)))
        return true; /* unknown: take the slow path */
    return sl_fdstate_get(fd) & SL_FD_WATCH;
}
static inline void sl_fd_watch_set(int fd, bool on)
{
    sl_fdstate_update(fd, on ? 0 : SL_FD_WATCH | SL_FD_EOF, on ? SL_FD_WATCH : 0);
}
/* What read() & co test when they return 0: is fd a tracked stream socket whose
 * end-of-file is not recorded yet? One load of its state; numbers beyond the map (and
 * negative ones, as unsigned) say no. */
static inline bool sl_fd_eof_armed(int fd)
{
    return sl_fdstate_covers(fd) && (sl_fdstate_get(fd) & SL_FD_EOF);
}
/* Watched, or detached with its real close under way: a scan must not adopt fd. */
static inline bool sl_fd_busy(int fd)
{
    if (fd < 0)
        return false;
    if (!sl_fdstate_covers(fd))
        return true;
    return sl_fdstate_get(fd) & (SL_FD_WATCH | SL_FD_CLOSING);
}
/* The next watched fd in [from, to], or -1. */
int sl_fdstate_next_watched(unsigned from, unsigned to);

/* ---- ownfd.c: the shim's own fds ----
 * The shim owns few fds in the program's table: libunwind's validation pipe and the
 * worker's eventfd (for the process lifetime), and a syslog socket. They are moved to the top of the fd space and
 * the wrappers protect them: close_range/closefrom skip them, close() of one by the
 * program fails with EBADF (it never opened it), and dup2/dup3 onto one fail with
 * EBADF, as on a number beyond its limit. */
/* Take ownership of fd: move it high, remember it; one that lives as long as the
 * process (permanent) goes above the soft RLIMIT_NOFILE, out of sight of loops up to
 * sysconf(_SC_OPEN_MAX). Returns the fd to use from now on (may differ from fd; fd
 * itself if it could not be moved), or -EBADF if the program closed fd before it could
 * be moved (it is then not ours: do not touch the number). */
int sl_ownfd_adopt(int fd, bool permanent);
/* Forget fd and close it with a raw close. Returns 0 or -errno. */
int sl_ownfd_close(int fd);
/* Forget fd without closing it (its owner closed it). */
void sl_ownfd_forget(int fd);
/* Is fd one of the shim's own? One load for the usual answer, no: they sit at the top
 * of the fd space, at or above sl_ownfd_lo (INT_MAX: none). */
extern _Atomic int sl_ownfd_lo;
bool sl_ownfd_held(int fd);
static inline bool sl_ownfd_is(int fd)
{
    return SL_UNLIKELY(fd >= atomic_load_explicit(&sl_ownfd_lo, memory_order_relaxed)) && sl_ownfd_held(fd);
}
/* Fill out[] with the shim's fds in ascending order; returns how many. */
int sl_ownfd_list(int *out, int max);

/* ---- owntable.c: the shim thread's own fd table ----
 * sl_owntable_get(fd) returns a number this thread can use for the program's fd (fd
 * itself, except in the shim's thread with a table of its own: a copy), or -errno;
 * sl_owntable_put releases it. Every probe of a program's fd by number goes through
 * them. */
int sl_owntable_leave(void); /* the shim's thread, at start: 0 if it has its own now */
bool sl_owntable_lost(void); /* own table, and the program's is out of reach (main thread gone) */
int sl_owntable_get(int fd);
void sl_owntable_put(int local);

/* ---- iochild.c: the shim's file I/O, in a child with its own copy of the fd table ---- */
/* Run fn(arg) in a clone(CLONE_VM|CLONE_VFORK) child without CLONE_FILES (in place if
 * no child can be made); fn makes raw system calls only. Returns fn's result. */
long sl_iochild_run(long (*fn)(void *), void *arg);
/* Map a whole file read-only (the mapping is ours; no fd is left). 0 or -errno. */
int sl_iochild_map(const char *path, void **addr, size_t *len);
/* Read up to cap-1 bytes, NUL-terminated. Returns the length or -errno. */
long sl_iochild_read(const char *path, char *buf, size_t cap);
/* Read several small files in one child: lens[i] = length or -errno. */
void sl_iochild_read_many(const char *const *paths, size_t n, char (*bufs)[64], long *lens);
/* Append to a file, creating it mode 0600; refuses a symbolic link (-ELOOP) and another
 * user's regular file (-EPERM). Returns 0 or -errno. */
int sl_iochild_append(const char *path, const char *data, size_t len);
void sl_iochild_after_fork_child(void);

/* ---- stdfd.c: the program's stdout and stderr ----
 * What fds 1 and 2 were at start-up (device, inode, type) is remembered. Text goes to
 * one of them only while it is still that file, and never when it is an inet socket
 * (inetd style): a daemon that closed its stderr and opened a data file on fd 2 never
 * gets a report appended to its data. */
void sl_stdfd_remember(void);
/* A number this thread can write fd (1 or 2) through, or -ESTALE (replaced since
 * start-up), -ENOTCONN (a network socket), -EBADF (closed); release with
 * sl_owntable_put. */
int sl_stdfd_get(int fd);
/* The log sink: one line to stderr, if sl_stdfd_get(2) allows. */
void sl_stdfd_log_sink(const char *line, size_t len);

/* ---- probe.c: the OS seam for one fd ----
 * Read-only; each returns 0 or -errno, preserves errno, and reaches the program's fd
 * through sl_owntable_get. */
int sl_probe_inode(int fd, uint64_t *dev, uint64_t *ino); /* -ENOTSOCK if not a socket */
int sl_probe_meta(int fd, int *family, int *type, int *proto);
struct sl_tcp {                    /* what TCP_INFO says, in the units we use */
    int state;
    uint32_t last_data_sent_ms, last_data_recv_ms, last_ack_recv_ms;
};
int sl_probe_tcp(int fd, struct sl_tcp *out);
/* How long a connection has carried no data (-1: a state that carries none, never
 * connected or listening); at most age_ns, the socket's life. */
int64_t sl_tcp_idle_ns(const struct sl_tcp *t, int64_t age_ns);
int sl_probe_tcp_state(int fd, int *state); /* TCP_INFO tcpi_state */
/* Has the peer of this (unix stream/seqpacket) socket closed? poll(POLLRDHUP), which
 * reads nothing. */
bool sl_probe_peer_closed(int fd);
bool sl_probe_listening(int fd); /* SO_ACCEPTCONN */
int sl_probe_addr(int fd, bool peer, struct sockaddr_storage *ss, socklen_t *len);
/* Bytes received on a connected stream socket and not read yet (SIOCINQ: the FIN is not
 * one of them, unlike in sock_diag's rqueue); -EINVAL for a listener. */
int sl_probe_unread(int fd, long *bytes);
/* The number of fds open in the process but the shim's own, from the size the kernel
 * gives /proc/PID/fd (Linux 6.2 on), without opening anything; -1 if not known. */
long sl_probe_count_fds(void);
/* Call fn(fd, arg) for every fd open in this process but the shim's own; stops early
 * if fn returns non-zero. Reads /proc/self/fd: in the shim's thread with a table of its
 * own, through a directory fd kept there; elsewhere in the I/O child, so the program's
 * table never holds the directory's fd. No malloc (the list is mmap'd). Returns 0. */
int sl_probe_each_fd(int (*fn)(int fd, void *arg), void *arg);

/* The pid of the process tracing this one (a debugger attached to it: TracerPid), 0
 * when none, or -errno. Opens nothing in the program's fd table (fd/iochild.c). */
long sl_probe_tracer(void);

/* The absolute path of the file mapped at addr, from /proc/self/maps (for a module the
 * loader knows by a relative name, e.g. LD_PRELOAD=build/lib.so); malloc'd, NULL if
 * none. Not for a wrapper: it reads a file (in the I/O child) and allocates. */
char *sl_probe_mapped_path(uintptr_t addr);

/* ---- sockdiag.c ---- */
struct sl_cw_entry {
    uint64_t ino;
    uint32_t last_ack_recv_ms;
};
/* Every TCP socket in CLOSE_WAIT in this network namespace, from one NETLINK_SOCK_DIAG
 * dump per address family filtered by state in the kernel (in the I/O child): cost
 * independent of how many sockets we track. Fills out[0..cap). Returns the count,
 * -ENOBUFS if there were more than cap, or -errno. */
#define SL_DIAG_INET 1u
#define SL_DIAG_INET6 2u
long sl_probe_close_wait_inodes(struct sl_cw_entry *out, size_t cap, unsigned families);

#endif
