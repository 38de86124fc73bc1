/*
 * real.c - resolving the libc functions behind the wrappers.
 *
 * Each real_<name> starts out pointing at a raw-syscall fallback, so a wrapper that
 * runs before resolution (another library's constructor calling socket() before ours
 * ran) still works. sl_real_resolve() replaces them with dlsym(RTLD_NEXT) answers, and
 * refuses an answer that lies inside this shared object (a second copy of the shim, or
 * a broken link map): forwarding to ourselves would recurse forever. Optional
 * functions (close_range, closefrom, fcntl64 on older glibc) keep their fallbacks.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

/* ---- raw fallbacks: libc semantics (-1 and errno) ---- */
static int fb_socket(int d, int t, int p) { return (int)syscall(SYS_socket, d, t, p); }
static int fb_socketpair(int d, int t, int p, int sv[2]) { return (int)syscall(SYS_socketpair, d, t, p, sv); }
static int fb_accept(int fd, struct sockaddr *a, socklen_t *l) { return (int)syscall(SYS_accept, fd, a, l); }
static int fb_accept4(int fd, struct sockaddr *a, socklen_t *l, int f) { return (int)syscall(SYS_accept4, fd, a, l, f); }
static int fb_connect(int fd, const struct sockaddr *a, socklen_t l) { return (int)syscall(SYS_connect, fd, a, l); }
static int fb_close(int fd) { return (int)syscall(SYS_close, fd); }
static int fb_dup(int fd) { return (int)syscall(SYS_dup, fd); }
static int fb_dup2(int o, int n)
{
    if (o == n) /* dup3 rejects this case; dup2 checks o and returns it */
        return (int)syscall(SYS_fcntl, o, F_GETFD) < 0 ? -1 : n;
    return (int)syscall(SYS_dup3, o, n, 0);
}
static int fb_dup3(int o, int n, int f) { return (int)syscall(SYS_dup3, o, n, f); }
static int fb_fcntl(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *); /* what glibc itself does: every argument fits */
    va_end(ap);
    return (int)syscall(SYS_fcntl, fd, cmd, arg);
}
static int fb_close_range(unsigned first, unsigned last, int flags)
{
    return (int)syscall(SYS_close_range, first, last, flags);
}
static void fb_closefrom(int lowfd)
{
    syscall(SYS_close_range, (unsigned)lowfd, ~0U, 0);
}
static int fb_pipe2(int fds[2], int flags) { return (int)syscall(SYS_pipe2, fds, flags); }
static int fb_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
    (void)sig, (void)act, (void)old;
    errno = ENOSYS; /* a raw rt_sigaction needs libc's restorer; glibc always has this */
    return -1;
}

static sighandler_t sig_via_sigaction(int sig, sighandler_t h, int flags, bool mask_self)
{
    struct sigaction act, old;
    memset(&act, 0, sizeof(act));
    act.sa_handler = h;
    sigemptyset(&act.sa_mask);
    if (mask_self)
        sigaddset(&act.sa_mask, sig);
    act.sa_flags = flags;
    return real_sigaction(sig, &act, &old) == 0 ? old.sa_handler : SIG_ERR;
}
static sighandler_t fb_signal(int sig, sighandler_t h) { return sig_via_sigaction(sig, h, SA_RESTART, true); }
static sighandler_t fb_sysv_signal(int sig, sighandler_t h)
{
    return sig_via_sigaction(sig, h, SA_RESETHAND | SA_NODEFER, false);
}
static int fb_clone(int (*fn)(void *), void *stack, int flags, void *arg, ...)
{
    (void)fn, (void)stack, (void)flags, (void)arg;
    errno = ENOSYS;
    return -1;
}

/* fcntl64 shares fcntl's fallback */
#define fb_fcntl64 fb_fcntl
#define SL_REAL_DEFINE(ret, name, params, required) ret(*real_##name) params = fb_##name;
SL_REAL_FUNCS(SL_REAL_DEFINE)
#undef SL_REAL_DEFINE

static int self_marker;

static bool in_self(void *p)
{
    Dl_info self, other;
    if (!dladdr(&self_marker, &self) || !dladdr(p, &other))
        return false;
    return self.dli_fbase == other.dli_fbase;
}

/* Look name up after us; NULL if libc lacks it or the answer is our own wrapper. */
static void *lookup(const char *name)
{
    void *p = dlsym(RTLD_NEXT, name);
    if (p && in_self(p))
        p = NULL;
    return p;
}

void sl_real_resolve(void)
{
#define SL_REAL_RESOLVE(ret, name, params, required)                                       \
    do {                                                                                    \
        void *p_ = lookup(#name);                                                           \
        if (p_)                                                                             \
            real_##name = (ret(*) params)p_;                                                \
        else if (required && sl_opt.verbose)                                                \
            sl_log("libc has no usable %s; using the raw system call", #name);     \
    } while (0);
    SL_REAL_FUNCS(SL_REAL_RESOLVE)
#undef SL_REAL_RESOLVE
}
