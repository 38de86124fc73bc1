/*
 * wrappers.c - the interposed libc entry points.
 *
 * Every wrapper has the same shape, a few lines: call the real function, then hand
 * its result to one of the helpers below, which tells the core what happened and
 * returns the result unchanged. The helpers keep errno for their whole scope
 * (SL_KEEP_ERRNO): the host gets exactly the return value and errno libc gave. Creates
 * are recorded after the real call returned (the fd exists), closes before it (once
 * the real close returns, another thread may already own the number again). No wrapper
 * holds a lock, or allocates, across the real call. Only a wrapper that has a new
 * socket to record brings the core up (sl_ensure); the others forward untouched until
 * it is, so a sanitizer runtime calling sigaction() from its own start-up, before the
 * shim may parse options, only meets a plain forwarder.
 *
 * close() of an fd that is neither a tracked socket nor one of the shim's own costs one
 * load from the fd state map. read() & co that return data cost one comparison; one that
 * returns 0 (end-of-file) one load from that map, and the first on a tracked stream
 * socket records where the program read its peer's hang-up (sl_fd_eof). The shim's own
 * fds (fd/ownfd.c) are protected here: the host cannot close them, close_range/closefrom
 * step around them, dup2/dup3 onto them fail with EBADF.
 *
 * Also here, for the dump signal: sigaction and the signal() family, which route the
 * host's calls for that one signal to runtime/signals.c; and clone, for CLONE_VM
 * children. vfork is in runtime/vfork_x86_64.S.
 */
#define _GNU_SOURCE
#undef _FORTIFY_SOURCE /* read, recv... are defined here, not as glibc's inline checks */
#include <fcntl.h>
#include <linux/close_range.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "shim.h"

/* ---- the helpers: what a result means for the core ---- */

/* A socket appeared while we could not record it: say so in the coverage counters
 * (not for vfork/clone children, whose fds are not the parent's). */
static void missed(void)
{
    if ((sl_tls_guard & ~SL_GUARD_VFORK) && !(sl_tls_guard & SL_GUARD_VFORK)) {
        atomic_fetch_add_explicit(&sl_count.untracked, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&sl_count.reentrant, 1, memory_order_relaxed);
    }
}

/* A call that makes an fd failed with r: EMFILE/ENFILE start the trouble trigger.
 * noinline, as the other paths of a failed call: the wrappers' own paths then save no
 * register for them. */
static __attribute__((noinline)) int create_failed(int r)
{
    if (SL_UNLIKELY(errno == EMFILE || errno == ENFILE) && sl_recording()) {
        SL_KEEP_ERRNO();
        sl_trigger_emfile(errno);
    }
    return r;
}

/* Whether a new socket can be recorded now (brings the core up first). */
static inline bool can_record(void)
{
    sl_ensure();
    if (SL_LIKELY(sl_recording()))
        return true;
    missed();
    return false;
}

/* The same before the core is up, while recording is off, or with a vfork or
 * clone(CLONE_VM) child about. */
static __attribute__((noinline)) int created_unready(int fd, uint64_t meta)
{
    SL_KEEP_ERRNO(); /* bringing the core up */
    if (can_record())
        sl_fd_new(fd, meta);
    return fd;
}

/* socket() & co returned fd: record the new socket (the verb keeps errno). meta:
 * SL_META(origin, domain, type, protocol). */
static inline int created(int fd, uint64_t meta)
{
    if (SL_UNLIKELY(fd < 0))
        return create_failed(fd);
    if (SL_LIKELY(sl_recording_plainly()))
        return sl_fd_new(fd, meta);
    return created_unready(fd, meta); /* which asks sl_recording() */
}

static int pair_created(int r, const int sv[2], int domain, int type, int proto)
{
    if (r != 0)
        return create_failed(r);
    created(sv[0], SL_META(SL_ORIGIN_SOCKETPAIR, domain, type, proto));
    created(sv[1], SL_META(SL_ORIGIN_SOCKETPAIR, domain, type, proto));
    return r;
}

/* accept() on listener returned fd; the peer's address is in addr, *len of cap. */
static int accepted(int listener, int fd, const struct sockaddr *addr, const socklen_t *len, socklen_t cap)
{
    if (fd < 0)
        return create_failed(fd);
    SL_KEEP_ERRNO();
    if (can_record())
        sl_fd_accepted(listener, fd, addr, len && *len < cap ? *len : cap);
    return fd;
}

/* connect() returned r: remember where it was aimed, even if it failed (the peer of a
 * leaked socket whose connect() was refused is still worth naming); not if the kernel
 * could not read the address (EFAULT): neither can we. */
static int connected(int fd, const struct sockaddr *addr, socklen_t len, int r)
{
    SL_KEEP_ERRNO();
    if ((r == 0 || (errno != EFAULT && errno != EBADF && errno != ENOTSOCK)) && sl_fd_watched(fd) && sl_recording())
        sl_fd_connect(fd, addr, len);
    return r;
}

/* A copy of oldfd returned as r. It is recorded whatever the state map says about
 * oldfd: another thread may have closed oldfd since the copy was made, or not recorded
 * it yet (sl_fd_dup then checks that the copy is a socket). */
static int duped(int oldfd, int r)
{
    if (r < 0)
        return create_failed(r);
    SL_KEEP_ERRNO();
    if (r != oldfd && sl_recording())
        sl_fd_dup(oldfd, r);
    return r;
}

/* dup2/dup3 onto a tracked fd close the socket that was there; real does the copy. */
static int dup_onto(int (*real)(int, int, int), int oldfd, int newfd, int flags)
{
    if (sl_ownfd_is(newfd) && !sl_tls_in_unwind) {
        errno = EBADF; /* as for a number beyond the host's limit: it is the shim's */
        return -1;
    }
    bool rec = sl_recording() && oldfd != newfd;
    struct sl_rec_info old;
    bool had = rec && sl_fd_detach_one(newfd, &old);
    int r = real(oldfd, newfd, flags);
    SL_KEEP_ERRNO();
    if (had && r < 0)
        sl_fd_reattach_one(&old);
    else if (had)
        sl_fd_release_one(newfd);
    if (rec && r >= 0)
        sl_fd_dup(oldfd, newfd);
    return r;
}

/* dup2/dup3 through real: the fast path when neither number is watched. */
static inline int copied(int (*real)(int, int, int), int oldfd, int newfd, int flags)
{
    if (SL_LIKELY(!sl_fd_watched(oldfd) && !sl_fd_watched(newfd)))
        return duped(oldfd, real(oldfd, newfd, flags));
    return dup_onto(real, oldfd, newfd, flags);
}

static int libc_dup2(int oldfd, int newfd, int flags)
{
    (void)flags;
    return real_dup2(oldfd, newfd);
}

static int libc_dup3(int oldfd, int newfd, int flags)
{
    return real_dup3(oldfd, newfd, flags);
}

static int fcntl_common(int (*real)(int, int, ...), int fd, int cmd, void *arg)
{
    int r = real(fd, cmd, arg);
    return cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC ? duped(fd, r) : r;
}

/* close() of a watched number: one of the shim's own, or a tracked socket. flatten: the
 * registry's detach compiled in (as sl_fd_new, core/verbs.c). */
static __attribute__((flatten)) int close_slow(int (*real)(int), int fd)
{
    if (fd < 0) /* never: sl_fd_watched() is false for a negative number (a hint to the compiler) */
        __builtin_unreachable();
    if (sl_ownfd_is(fd)) {
        if (sl_tls_in_unwind) { /* libunwind re-opening its pipe */
            sl_ownfd_forget(fd);
            return real(fd);
        }
        errno = EBADF; /* the host never opened it */
        return -1;
    }
    if (!sl_recording()) /* vfork child, or re-entered from inside the shim */
        return real(fd);
    bool had = sl_fd_detach_one(fd, NULL);
    int r = real(fd);
    if (had)
        sl_fd_release_one(fd); /* Linux frees the number even when close reports an error */
    return r;
}

/* close() said r: EBADF may be a double close of a socket we saw closed. */
static __attribute__((noinline)) int close_failed(int fd, int r)
{
    SL_KEEP_ERRNO();
    if (errno == EBADF && sl_recording())
        sl_fd_bad_close(fd);
    return r;
}

/* close(fd) through real: the one-load fast path for numbers nobody watches. */
static inline int closed(int (*real)(int), int fd)
{
    if (SL_UNLIKELY(sl_fd_watched(fd)))
        return close_slow(real, fd);
    int r = real(fd);
    return SL_LIKELY(r == 0) ? 0 : close_failed(fd, r);
}

/* close_range over [first, last], stepping around the shim's own fds. */
static int close_range_around_ours(unsigned first, unsigned last, int flags)
{
    int ours[16];
    int n = sl_tls_in_unwind ? 0 : sl_ownfd_list(ours, 16);
    unsigned lo = first;
    for (int i = 0; i < n; i++) {
        unsigned p = (unsigned)ours[i];
        if (p < lo || p > last || first > last)
            continue;
        if (p > lo) {
            int r = real_close_range(lo, p - 1, flags);
            if (r != 0)
                return r;
        }
        if (p == ~0U)
            return 0;
        lo = p + 1;
    }
    if (lo > last && first <= last)
        return 0;
    return real_close_range(lo, last, flags);
}

static int ranged_close(unsigned first, unsigned last, int flags)
{
    if (flags & CLOSE_RANGE_CLOEXEC) /* nothing is closed now */
        return real_close_range(first, last, flags);
    struct sl_rec *list = sl_recording() && first <= last ? sl_fd_detach_range(first, last) : NULL;
    int r = close_range_around_ours(first, last, flags);
    SL_KEEP_ERRNO();
    if (r != 0)
        sl_fd_reattach(list);
    else
        sl_fd_release(list);
    return r;
}

static int close_one_fallback(int fd, void *arg)
{
    if (fd >= *(int *)arg && !sl_ownfd_is(fd))
        real_close(fd);
    return 0;
}

static void close_from(int lowfd)
{
    lowfd = lowfd < 0 ? 0 : lowfd;
    struct sl_rec *list = sl_recording() ? sl_fd_detach_range((unsigned)lowfd, ~0U) : NULL;
    int ours[16];
    int n = sl_tls_in_unwind ? 0 : sl_ownfd_list(ours, 16);
    if (n == 0 || ours[n - 1] < lowfd)
        real_closefrom(lowfd);
    else if (close_range_around_ours((unsigned)lowfd, ~0U, 0) != 0)
        sl_probe_each_fd(close_one_fallback, &lowfd); /* no close_range (kernel < 5.9): walk /proc/self/fd */
    sl_fd_release(list);
}

/* ---- end-of-file: what read() & co returned ---- */

/* A read returned end-of-file on fd, whose state says that is news. */
static __attribute__((noinline, cold)) void eof_read(int fd)
{
    SL_KEEP_ERRNO();
    if (sl_recording())
        sl_fd_eof(fd);
}

/* Not zero if the buffers can hold a byte. */
static size_t iov_room(const struct iovec *iov, size_t n)
{
    size_t any = 0;
    for (size_t k = 0; iov && k < n; k++)
        any |= iov[k].iov_len;
    return any;
}

/* read() & co asked fd for n bytes and got r: 0 is end-of-file, if n was not 0. */
static inline ssize_t got(int fd, ssize_t r, size_t n)
{
    if (SL_UNLIKELY(r == 0) && sl_fd_eof_armed(fd) && n)
        eof_read(fd);
    return r;
}

/* The same for a vector of buffers (readv, recvmsg). */
static inline ssize_t got_iov(int fd, ssize_t r, const struct iovec *iov, size_t n)
{
    if (SL_UNLIKELY(r == 0) && sl_fd_eof_armed(fd) && iov_room(iov, n))
        eof_read(fd);
    return r;
}

/* recvmmsg() got r messages: on a stream socket, an empty one is end-of-file. */
static void got_mmsg(int fd, const struct mmsghdr *vec, int r)
{
    for (int k = 0; k < r; k++)
        if (vec[k].msg_len == 0 && iov_room(vec[k].msg_hdr.msg_iov, vec[k].msg_hdr.msg_iovlen)) {
            eof_read(fd);
            return;
        }
}

/* recvmsg() & co delivered msg: sockets passed with SCM_RIGHTS are new to us. */
static void received(const struct msghdr *msg)
{
    if (!msg || !msg->msg_control || msg->msg_controllen < sizeof(struct cmsghdr))
        return;
    SL_KEEP_ERRNO();
    if (!can_record())
        return;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR((struct msghdr *)msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len < CMSG_LEN(0))
            continue;
        size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t k = 0; k < n; k++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + k * sizeof(int), sizeof(int));
            sl_fd_received(fd);
        }
    }
}

/* recvmsg(fd) returned r into msg: passed sockets, or end-of-file. */
static ssize_t msg_received(int fd, ssize_t r, const struct msghdr *msg)
{
    if (r >= 0 && msg && msg->msg_controllen)
        received(msg);
    return r == 0 ? got_iov(fd, r, msg->msg_iov, msg->msg_iovlen) : r; /* 0: the kernel read msg */
}

/* libunwind opens a pipe on its first unwind, through the PLT: that one is ours. */
static int pipe_made(int r, int fds[2])
{
    if (r == 0 && SL_UNLIKELY(sl_tls_in_unwind)) {
        /* libunwind's own, made inside our call: nobody can have closed them yet */
        int r0 = sl_ownfd_adopt(fds[0], true), r1 = sl_ownfd_adopt(fds[1], true);
        fds[0] = r0 >= 0 ? r0 : fds[0];
        fds[1] = r1 >= 0 ? r1 : fds[1];
    }
    return r;
}

/* The dump signal is shared with the host: its calls for that one signal go to
 * runtime/signals.c. */
static bool host_owns_signal(int sig)
{
    return !sl_signal_is_ours(sig) || (sl_tls_guard & SL_GUARD_VFORK) || sl_in_foreign_vm_child();
}

/* For the dump signal, signal() and friends become a sigaction with the flags glibc
 * uses; every other signal goes to the real function, siginterrupt() state and all. */
static sighandler_t signal_with(int sig, sighandler_t handler, int flags, bool mask_self)
{
    struct sigaction act, old;
    if (handler == SIG_ERR) {
        errno = EINVAL;
        return SIG_ERR;
    }
    sl_signal_as_sigaction(sig, handler, flags, mask_self, &act);
    return sl_signal_host_sigaction(&act, &old) == 0 ? old.sa_handler : SIG_ERR;
}

/* syscall(): the numbers that make, copy or close fds take the same paths as the libc
 * functions (libuv closes with syscall(SYS_close, fd)), with raw system calls behind */
static long libc_style(long r)
{
    if (r < 0 && r > -4096) {
        errno = (int)-r;
        return -1;
    }
    return r;
}
static int sys_close(int fd)
{
    return (int)libc_style(SL_SYS(SYS_close, fd));
}
static int sys_dup3(int oldfd, int newfd, int flags)
{
    return (int)libc_style(SL_SYS(SYS_dup3, oldfd, newfd, flags));
}
static int sys_dup2(int oldfd, int newfd, int flags)
{
    (void)flags;
    return (int)libc_style(SL_SYS(SYS_dup2, oldfd, newfd));
}

static bool fd_syscall(long nr)
{
    switch (nr) {
    case SYS_socket: case SYS_socketpair: case SYS_accept: case SYS_accept4: case SYS_close:
    case SYS_dup: case SYS_dup2: case SYS_dup3: case SYS_close_range: case SYS_fcntl:
    case SYS_read: case SYS_readv: case SYS_recvfrom: case SYS_recvmsg:
        return true;
    default:
        return false;
    }
}

static long fd_syscall_made(long nr, const long *a)
{
#define SYS_RESULT(...) ((int)libc_style(SL_SYS(nr, __VA_ARGS__)))
#define SYS_SIZE(...) ((ssize_t)libc_style(SL_SYS(nr, __VA_ARGS__)))
    switch (nr) {
    case SYS_socket:
        return created(SYS_RESULT(a[0], a[1], a[2]), SL_META(SL_ORIGIN_SOCKET, a[0], a[1], a[2]));
    case SYS_socketpair:
        return pair_created(SYS_RESULT(a[0], a[1], a[2], a[3]), (int *)a[3], (int)a[0], (int)a[1], (int)a[2]);
    case SYS_accept:
    case SYS_accept4: {
        socklen_t cap = a[1] && a[2] ? *(socklen_t *)a[2] : 0;
        return accepted((int)a[0], SYS_RESULT(a[0], a[1], a[2], a[3]), (struct sockaddr *)a[1], (socklen_t *)a[2],
                        cap);
    }
    case SYS_close:
        return closed(sys_close, (int)a[0]);
    case SYS_dup:
        return duped((int)a[0], SYS_RESULT(a[0]));
    case SYS_dup2:
        return copied(sys_dup2, (int)a[0], (int)a[1], 0);
    case SYS_dup3:
        return copied(sys_dup3, (int)a[0], (int)a[1], (int)a[2]);
    case SYS_close_range:
        return ranged_close((unsigned)a[0], (unsigned)a[1], (int)a[2]);
    case SYS_read:
        return got((int)a[0], SYS_SIZE(a[0], a[1], a[2]), (size_t)a[2]);
    case SYS_readv:
        return got_iov((int)a[0], SYS_SIZE(a[0], a[1], a[2]), (const struct iovec *)a[1], (size_t)a[2]);
    case SYS_recvfrom:
        return got((int)a[0], SYS_SIZE(a[0], a[1], a[2], a[3], a[4], a[5]), (size_t)a[2]);
    case SYS_recvmsg:
        return msg_received((int)a[0], SYS_SIZE(a[0], a[1], a[2]), (const struct msghdr *)a[1]);
    default: /* SYS_fcntl */
        return a[1] == F_DUPFD || a[1] == F_DUPFD_CLOEXEC ? duped((int)a[0], SYS_RESULT(a[0], a[1], a[2]))
                                                        : libc_style(SL_SYS(nr, a[0], a[1], a[2]));
    }
#undef SYS_RESULT
#undef SYS_SIZE
}

/* Will sig, sent to this process, end it as an exit would? Its action is the default
 * and that terminates, and the calling thread does not block it (a program that blocks
 * it collects it with sigwait or a signalfd). Not SIGKILL: a program sends itself that
 * to end at once, as with _exit(). */
static bool ends_process(int sig)
{
    switch (sig) {
    case SIGKILL:
    case SIGCHLD: case SIGCONT: case SIGURG: case SIGWINCH: case SIGSTOP: case SIGTSTP: case SIGTTIN: case SIGTTOU:
        return false;
    default:
        break;
    }
    struct sigaction cur;
    sigset_t mask;
    if (sig <= 0 || sig >= NSIG || real_sigaction(sig, NULL, &cur) != 0 || cur.sa_handler != SIG_DFL)
        return false;
    return pthread_sigmask(SIG_BLOCK, NULL, &mask) == 0 && !sigismember(&mask, sig);
}

/* The program sends itself sig (Python re-raises SIGINT after Ctrl-C, a daemon kills
 * itself with SIGTERM): if that ends it, the exit report comes first. */
static void signalling_self(bool self, int sig)
{
    if (self && sl_recording() && ends_process(sig)) {
        SL_KEEP_ERRNO();
        sl_exit_report_now();
    }
}

/* ---- creating ---- */

SL_EXPORT int socket(int domain, int type, int protocol)
{
    uint64_t meta = SL_META(SL_ORIGIN_SOCKET, domain, type, protocol);
    return created(real_socket(domain, type, protocol), meta);
}

SL_EXPORT int socketpair(int domain, int type, int protocol, int sv[2])
{
    return pair_created(real_socketpair(domain, type, protocol, sv), sv, domain, type, protocol);
}

SL_EXPORT int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
    socklen_t cap = addr && len ? *len : 0;
    return accepted(fd, real_accept(fd, addr, len), addr, len, cap);
}

SL_EXPORT int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    socklen_t cap = addr && len ? *len : 0;
    return accepted(fd, real_accept4(fd, addr, len, flags), addr, len, cap);
}

SL_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    return connected(fd, addr, len, real_connect(fd, addr, len));
}

SL_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
    return msg_received(fd, real_recvmsg(fd, msg, flags), msg);
}

SL_EXPORT int recvmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags, struct timespec *timeout)
{
    int r = real_recvmmsg(fd, vec, vlen, flags, timeout);
    for (int k = 0; k < r; k++)
        if (vec[k].msg_hdr.msg_controllen)
            received(&vec[k].msg_hdr);
    if (r > 0 && SL_UNLIKELY(sl_fd_eof_armed(fd)))
        got_mmsg(fd, vec, r);
    return r;
}

SL_EXPORT int pipe2(int fds[2], int flags)
{
    return pipe_made(real_pipe2(fds, flags), fds);
}

/* ---- reading ---- */

SL_EXPORT ssize_t read(int fd, void *buf, size_t n)
{
    return got(fd, real_read(fd, buf, n), n);
}

SL_EXPORT ssize_t readv(int fd, const struct iovec *iov, int n)
{
    return got_iov(fd, real_readv(fd, iov, n), iov, n > 0 ? (size_t)n : 0);
}

SL_EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags)
{
    return got(fd, real_recv(fd, buf, n, flags), n);
}

SL_EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *addr, socklen_t *len)
{
    return got(fd, real_recvfrom(fd, buf, n, flags, addr, len), n);
}

/* what programs built with _FORTIFY_SOURCE call instead, when the buffer's size is known */
SL_EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t cap)
{
    return got(fd, real___read_chk(fd, buf, n, cap), n);
}

SL_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t n, size_t cap, int flags)
{
    return got(fd, real___recv_chk(fd, buf, n, cap, flags), n);
}

SL_EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t cap, int flags, struct sockaddr *addr,
                                 socklen_t *len)
{
    return got(fd, real___recvfrom_chk(fd, buf, n, cap, flags, addr, len), n);
}

/* ---- copying ---- */

SL_EXPORT int dup(int oldfd)
{
    return duped(oldfd, real_dup(oldfd));
}

SL_EXPORT int dup2(int oldfd, int newfd)
{
    return copied(libc_dup2, oldfd, newfd, 0);
}

SL_EXPORT int dup3(int oldfd, int newfd, int flags)
{
    return copied(libc_dup3, oldfd, newfd, flags);
}

/* fcntl's third argument is an int or a pointer depending on cmd; like glibc, read
 * it as a pointer-sized value and pass it on unchanged. */
SL_EXPORT int fcntl(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    return fcntl_common(real_fcntl, fd, cmd, arg);
}

SL_EXPORT int fcntl64(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    return fcntl_common(real_fcntl64, fd, cmd, arg);
}

/* ---- closing ---- */

SL_EXPORT int close(int fd)
{
    return closed(real_close, fd);
}

SL_EXPORT int close_range(unsigned first, unsigned last, int flags)
{
    return ranged_close(first, last, flags);
}

SL_EXPORT void closefrom(int lowfd)
{
    close_from(lowfd);
}

SL_EXPORT long syscall(long nr, ...)
{
    long a[6];
    va_list ap;
    va_start(ap, nr);
    SL_VA_SYSCALL_ARGS(ap, a);
    va_end(ap);
    return fd_syscall(nr) ? fd_syscall_made(nr, a) : real_syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

/* ---- the loader ---- */

SL_EXPORT int dlclose(void *handle)
{
    if (!sl_tls_guard) /* the program's, not the shim's own (libdw's backends) */
        sl_unwind_forget(); /* the module's addresses may be another's soon */
    return real_dlclose(handle);
}

/* ---- processes ---- */

SL_EXPORT int clone(int (*fn)(void *), void *stack, int flags, void *arg, ...)
{
    va_list ap;
    va_start(ap, arg);
    pid_t *ptid = va_arg(ap, pid_t *);
    void *tls = va_arg(ap, void *);
    pid_t *ctid = va_arg(ap, pid_t *);
    va_end(ap);
    return sl_clone(real_clone, fn, stack, flags, arg, ptid, tls, ctid);
}

/* ---- signals ---- */

SL_EXPORT int kill(pid_t pid, int sig)
{
    signalling_self(pid == getpid() || pid == 0 || (pid < -1 && -pid == getpgrp()), sig);
    return real_kill(pid, sig);
}

SL_EXPORT int raise(int sig)
{
    signalling_self(true, sig);
    return real_raise(sig);
}

SL_EXPORT int pthread_kill(pthread_t thread, int sig)
{
    signalling_self(true, sig); /* any thread of this process: a fatal signal ends it */
    return real_pthread_kill(thread, sig);
}

SL_EXPORT int tgkill(pid_t tgid, pid_t tid, int sig)
{
    signalling_self(tgid == getpid(), sig);
    return real_tgkill(tgid, tid, sig);
}

SL_EXPORT int sigqueue(pid_t pid, int sig, const union sigval value)
{
    signalling_self(pid == getpid(), sig);
    return real_sigqueue(pid, sig, value);
}

SL_EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
    if (SL_LIKELY(host_owns_signal(sig)))
        return real_sigaction(sig, act, old);
    return sl_signal_host_sigaction(act, old);
}

SL_EXPORT sighandler_t signal(int sig, sighandler_t handler)
{
    if (SL_LIKELY(host_owns_signal(sig)))
        return real_signal(sig, handler);
    return signal_with(sig, handler, SA_RESTART, true);
}

SL_EXPORT sighandler_t bsd_signal(int sig, sighandler_t handler)
{
    return signal(sig, handler);
}

SL_EXPORT sighandler_t sysv_signal(int sig, sighandler_t handler)
{
    if (SL_LIKELY(host_owns_signal(sig)))
        return real_sysv_signal(sig, handler);
    return signal_with(sig, handler, SA_RESETHAND | SA_NODEFER, false);
}

SL_EXPORT sighandler_t __sysv_signal(int sig, sighandler_t handler)
{
    return sysv_signal(sig, handler);
}
