/*
 * real.c - resolving the libc functions behind the wrappers.
 *
 * Each real_<name> starts out pointing at a resolver that looks the function up with
 * dlsym(RTLD_NEXT), stores the answer and calls through: a wrapper can forward a call
 * at any time without the rest of the shim, even while a sanitizer runtime preloaded
 * before us is still initializing (ASan calls sigaction from its own start-up, and
 * must not see us parse options then). sl_real_resolve() resolves them all eagerly at
 * start-up. An answer inside this shared object (a second copy of the shim, a broken
 * link map) is refused, since forwarding to ourselves would recurse forever; then, and
 * for optional functions libc lacks (close_range, closefrom, fcntl64 on older glibc),
 * a raw-syscall fallback with libc's semantics (-1 and errno) is used.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base.h"

/* ---- raw fallbacks: libc semantics (-1 and errno), never through the PLT (our own
 * syscall() wrapper would record the call a second time) ---- */
static long libc_style(long r)
{
    if (r < 0 && r > -4096) {
        errno = (int)-r;
        return -1;
    }
    return r;
}
#define RAW(...) libc_style(SL_SYS(__VA_ARGS__))
static int fb_socket(int d, int t, int p) { return (int)RAW(SYS_socket, d, t, p); }
static int fb_socketpair(int d, int t, int p, int sv[2]) { return (int)RAW(SYS_socketpair, d, t, p, sv); }
static int fb_accept(int fd, struct sockaddr *a, socklen_t *l) { return (int)RAW(SYS_accept, fd, a, l); }
static int fb_accept4(int fd, struct sockaddr *a, socklen_t *l, int f) { return (int)RAW(SYS_accept4, fd, a, l, f); }
static int fb_connect(int fd, const struct sockaddr *a, socklen_t l) { return (int)RAW(SYS_connect, fd, a, l); }
static int fb_close(int fd) { return (int)RAW(SYS_close, fd); }
static int fb_dup(int fd) { return (int)RAW(SYS_dup, fd); }
static int fb_dup2(int o, int n)
{
    if (o == n) /* dup3 rejects this case; dup2 checks o and returns it */
        return (int)RAW(SYS_fcntl, o, F_GETFD) < 0 ? -1 : n;
    return (int)RAW(SYS_dup3, o, n, 0);
}
static int fb_dup3(int o, int n, int f) { return (int)RAW(SYS_dup3, o, n, f); }
static int fb_fcntl(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *); /* what glibc itself does: every argument fits */
    va_end(ap);
    return (int)RAW(SYS_fcntl, fd, cmd, arg);
}
static int fb_close_range(unsigned first, unsigned last, int flags)
{
    return (int)RAW(SYS_close_range, first, last, flags);
}
static void fb_closefrom(int lowfd)
{
    RAW(SYS_close_range, (unsigned)lowfd, ~0U, 0);
}
static int fb_pipe2(int fds[2], int flags) { return (int)RAW(SYS_pipe2, fds, flags); }
static int fb_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
    (void)sig, (void)act, (void)old;
    errno = ENOSYS; /* a raw rt_sigaction needs libc's restorer; glibc always has this */
    return -1;
}

static sighandler_t sig_via_sigaction(int sig, sighandler_t h, int flags, bool mask_self)
{
    struct sigaction act, old;
    sl_signal_as_sigaction(sig, h, flags, mask_self, &act);
    return real_sigaction(sig, &act, &old) == 0 ? old.sa_handler : SIG_ERR;
}
static sighandler_t fb_signal(int sig, sighandler_t h) { return sig_via_sigaction(sig, h, SA_RESTART, true); }
static sighandler_t fb_sysv_signal(int sig, sighandler_t h)
{
    return sig_via_sigaction(sig, h, SA_RESETHAND | SA_NODEFER, false);
}
static ssize_t fb_recvmsg(int fd, struct msghdr *msg, int flags) { return RAW(SYS_recvmsg, fd, msg, flags); }
static ssize_t fb_read(int fd, void *buf, size_t n) { return RAW(SYS_read, fd, buf, n); }
static ssize_t fb_readv(int fd, const struct iovec *iov, int n) { return RAW(SYS_readv, fd, iov, n); }
static ssize_t fb_recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *addr, socklen_t *len)
{
    return RAW(SYS_recvfrom, fd, buf, n, flags, addr, len);
}
static ssize_t fb_recv(int fd, void *buf, size_t n, int flags) { return fb_recvfrom(fd, buf, n, flags, NULL, NULL); }
/* the _FORTIFY_SOURCE variants: a buffer smaller than asked for ends the program, as
 * glibc's __chk_fail does */
static ssize_t fb___read_chk(int fd, void *buf, size_t n, size_t cap)
{
    if (n > cap)
        abort();
    return fb_read(fd, buf, n);
}
static ssize_t fb___recv_chk(int fd, void *buf, size_t n, size_t cap, int flags)
{
    if (n > cap)
        abort();
    return fb_recv(fd, buf, n, flags);
}
static ssize_t fb___recvfrom_chk(int fd, void *buf, size_t n, size_t cap, int flags, struct sockaddr *addr,
                                 socklen_t *len)
{
    if (n > cap)
        abort();
    return fb_recvfrom(fd, buf, n, flags, addr, len);
}
static int fb_recvmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags, struct timespec *timeout)
{
    return (int)RAW(SYS_recvmmsg, fd, vec, vlen, flags, timeout);
}
static int fb_kill(pid_t pid, int sig) { return (int)RAW(SYS_kill, pid, sig); }
static int fb_tgkill(pid_t tgid, pid_t tid, int sig) { return (int)RAW(SYS_tgkill, tgid, tid, sig); }
static int fb_raise(int sig) { return fb_tgkill(getpid(), (pid_t)SL_SYS(SYS_gettid), sig); }
static int fb_pthread_kill(pthread_t thread, int sig)
{
    (void)thread, (void)sig;
    return ENOSYS; /* the thread's kernel id is libc's secret; glibc always has it */
}
static int fb_sigqueue(pid_t pid, int sig, const union sigval value)
{
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    si.si_signo = sig;
    si.si_code = SI_QUEUE;
    si.si_pid = getpid();
    si.si_uid = getuid();
    si.si_value = value;
    return (int)RAW(SYS_rt_sigqueueinfo, pid, sig, &si);
}
static int fb_dlclose(void *handle)
{
    (void)handle;
    return 0; /* glibc always has it: never reached */
}
static int fb_clone(int (*fn)(void *), void *stack, int flags, void *arg, ...)
{
    (void)fn, (void)stack, (void)flags, (void)arg;
    errno = ENOSYS;
    return -1;
}

static long fb_syscall(long nr, ...)
{
    va_list ap;
    va_start(ap, nr);
    long a[6];
    SL_VA_SYSCALL_ARGS(ap, a);
    va_end(ap);
    return libc_style(sl_sys6(nr, a[0], a[1], a[2], a[3], a[4], a[5]));
}

/* fcntl64 shares fcntl's fallback */
#define fb_fcntl64 fb_fcntl

static int self_marker;

/* The address range of this library, found once: a walk of the loaded objects costs
 * what one dladdr() does, and start-up resolves some thirty functions (two dladdr()
 * calls each were three quarters of the shim's start-up time). */
static _Atomic uintptr_t self_lo, self_hi;

static bool in_self(void *p)
{
    if (!atomic_load(&self_hi)) {
        uintptr_t lo, hi;
        if (sl_module_bounds(&self_marker, &lo, &hi)) {
            atomic_store(&self_lo, lo);
            atomic_store(&self_hi, hi);
        }
    }
    uintptr_t a = (uintptr_t)p, hi = atomic_load(&self_hi);
    if (!hi) { /* not found (cannot be): ask the slow way */
        Dl_info self, other;
        return dladdr(&self_marker, &self) && dladdr(p, &other) && self.dli_fbase == other.dli_fbase;
    }
    return a >= atomic_load(&self_lo) && a < hi;
}

/* The next definition of name after us, or fallback if libc has none or the answer is
 * our own wrapper. */
static void *lookup(const char *name, void *fallback, bool required)
{
    void *p = dlsym(RTLD_NEXT, name);
    if (p && in_self(p))
        p = NULL;
    if (!p) {
        /* libc loaded before us (LD_PRELOAD="libc.so.6 libsockleak.so"): RTLD_NEXT
         * looks only after us; ask libc itself */
        static void *libc; /* a reference kept for good (libc is never unloaded): no dlclose, which is ours */
        if (!libc)
            libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
        if (libc) {
            p = dlsym(libc, name);
            if (p && in_self(p))
                p = NULL;
        }
    }
    if (!p && required && sl_opt.verbose)
        sl_log("libc has no usable %s; using the raw system call", name);
    return p ? p : fallback;
}

/* Each real_<name> starts at res_<name>, which resolves it and calls through. */
#define SL_REAL_DEFINE(ret, name, params, args, required)                                    \
    static ret res_##name params;                                                           \
    ret(*real_##name) params = res_##name;                                                  \
    static ret res_##name params                                                            \
    {                                                                                       \
        real_##name = (ret(*) params)lookup(#name, (void *)fb_##name, required);             \
        return real_##name args;                                                            \
    }
SL_REAL_FUNCS(SL_REAL_DEFINE)
#undef SL_REAL_DEFINE

static int res_fcntl(int fd, int cmd, ...);
static int res_fcntl64(int fd, int cmd, ...);
static int res_clone(int (*fn)(void *), void *stack, int flags, void *arg, ...);
static long res_syscall(long nr, ...);
long (*real_syscall)(long nr, ...) = res_syscall;
int (*real_fcntl)(int fd, int cmd, ...) = res_fcntl;
int (*real_fcntl64)(int fd, int cmd, ...) = res_fcntl64;
int (*real_clone)(int (*fn)(void *), void *stack, int flags, void *arg, ...) = res_clone;

static int res_fcntl(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    real_fcntl = (int (*)(int, int, ...))lookup("fcntl", (void *)fb_fcntl, true);
    return real_fcntl(fd, cmd, arg);
}

static int res_fcntl64(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    real_fcntl64 = (int (*)(int, int, ...))lookup("fcntl64", (void *)real_fcntl, false);
    return real_fcntl64(fd, cmd, arg);
}

static int res_clone(int (*fn)(void *), void *stack, int flags, void *arg, ...)
{
    va_list ap;
    va_start(ap, arg);
    void *ptid = va_arg(ap, void *), *tls = va_arg(ap, void *), *ctid = va_arg(ap, void *);
    va_end(ap);
    real_clone = (int (*)(int (*)(void *), void *, int, void *, ...))lookup("clone", (void *)fb_clone, false);
    return real_clone(fn, stack, flags, arg, ptid, tls, ctid);
}

static long res_syscall(long nr, ...)
{
    va_list ap;
    va_start(ap, nr);
    long a[6];
    SL_VA_SYSCALL_ARGS(ap, a);
    va_end(ap);
    real_syscall = (long (*)(long, ...))lookup("syscall", (void *)fb_syscall, false);
    return real_syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

void sl_real_resolve(void)
{
#define SL_REAL_RESOLVE(ret, name, params, args, required)                                   \
    if (real_##name == res_##name)                                                          \
        real_##name = (ret(*) params)lookup(#name, (void *)fb_##name, required);
    SL_REAL_FUNCS(SL_REAL_RESOLVE)
#undef SL_REAL_RESOLVE
    if (real_fcntl == res_fcntl)
        real_fcntl = (int (*)(int, int, ...))lookup("fcntl", (void *)fb_fcntl, true);
    if (real_fcntl64 == res_fcntl64)
        real_fcntl64 = (int (*)(int, int, ...))lookup("fcntl64", (void *)real_fcntl, false);
    if (real_syscall == res_syscall)
        real_syscall = (long (*)(long, ...))lookup("syscall", (void *)fb_syscall, false);
    if (real_clone == res_clone)
        real_clone = (int (*)(int (*)(void *), void *, int, void *, ...))lookup("clone", (void *)fb_clone, false);
}
