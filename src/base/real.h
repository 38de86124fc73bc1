/*
 * real.h - the libc functions the wrappers forward to.
 *
 * SL_REAL_FUNCS lists each once: return type, name, parameters, and whether the shim
 * can live without it (optional functions are newer than some glibc releases). real.c
 * resolves them with dlsym(RTLD_NEXT) eagerly at start-up and lazily from any wrapper
 * that runs first; until then, and whenever libc has no such symbol, real_<name> points
 * at a raw-syscall fallback with libc's semantics (returns -1 and sets errno).
 */
#ifndef SOCKLEAK_REAL_H
#define SOCKLEAK_REAL_H

#include <signal.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/uio.h>

#define SL_REAL_FUNCS(X)                                                                        \
    X(int, socket, (int domain, int type, int protocol), (domain, type, protocol), 1)           \
    X(int, socketpair, (int domain, int type, int protocol, int sv[2]),                        \
      (domain, type, protocol, sv), 1)                                                          \
    X(int, accept, (int fd, struct sockaddr *addr, socklen_t *len), (fd, addr, len), 1)         \
    X(int, accept4, (int fd, struct sockaddr *addr, socklen_t *len, int flags),                 \
      (fd, addr, len, flags), 1)                                                                \
    X(int, connect, (int fd, const struct sockaddr *addr, socklen_t len), (fd, addr, len), 1)   \
    X(int, close, (int fd), (fd), 1)                                                            \
    X(int, dup, (int fd), (fd), 1)                                                              \
    X(int, dup2, (int oldfd, int newfd), (oldfd, newfd), 1)                                     \
    X(int, dup3, (int oldfd, int newfd, int flags), (oldfd, newfd, flags), 1)                   \
    X(int, close_range, (unsigned first, unsigned last, int flags), (first, last, flags), 0)    \
    X(void, closefrom, (int lowfd), (lowfd), 0)                                                 \
    X(int, pipe2, (int fds[2], int flags), (fds, flags), 1)                                     \
    X(int, sigaction, (int sig, const struct sigaction *act, struct sigaction *old),            \
      (sig, act, old), 1)                                                                       \
    X(sighandler_t, signal, (int sig, sighandler_t handler), (sig, handler), 1)                 \
    X(sighandler_t, sysv_signal, (int sig, sighandler_t handler), (sig, handler), 0)         \
    X(ssize_t, recvmsg, (int fd, struct msghdr *msg, int flags), (fd, msg, flags), 1)          \
    X(ssize_t, read, (int fd, void *buf, size_t n), (fd, buf, n), 1)                           \
    X(ssize_t, readv, (int fd, const struct iovec *iov, int n), (fd, iov, n), 1)               \
    X(ssize_t, recv, (int fd, void *buf, size_t n, int flags), (fd, buf, n, flags), 1)          \
    X(ssize_t, recvfrom, (int fd, void *buf, size_t n, int flags, struct sockaddr *addr,        \
                          socklen_t *len), (fd, buf, n, flags, addr, len), 1)                   \
    X(ssize_t, __read_chk, (int fd, void *buf, size_t n, size_t cap), (fd, buf, n, cap), 0)    \
    X(ssize_t, __recv_chk, (int fd, void *buf, size_t n, size_t cap, int flags),               \
      (fd, buf, n, cap, flags), 0)                                                              \
    X(ssize_t, __recvfrom_chk, (int fd, void *buf, size_t n, size_t cap, int flags,            \
                                struct sockaddr *addr, socklen_t *len),                         \
      (fd, buf, n, cap, flags, addr, len), 0)                                                   \
    X(int, recvmmsg, (int fd, struct mmsghdr *vec, unsigned int vlen, int flags,               \
                      struct timespec *timeout), (fd, vec, vlen, flags, timeout), 0)             \
    X(int, kill, (pid_t pid, int sig), (pid, sig), 1)                                           \
    X(int, raise, (int sig), (sig), 1)                                                          \
    X(int, pthread_kill, (pthread_t thread, int sig), (thread, sig), 1)                         \
    X(int, tgkill, (pid_t tgid, pid_t tid, int sig), (tgid, tid, sig), 0)                       \
    X(int, sigqueue, (pid_t pid, int sig, const union sigval value), (pid, sig, value), 1)      \
    X(int, dlclose, (void *handle), (handle), 1)

/* Variadic ones, resolved the same way but forwarded by hand. */
#define SL_REAL_VARIADIC(X)                                                                     \
    X(int, fcntl, (int fd, int cmd, ...), 1)                                                    \
    X(int, fcntl64, (int fd, int cmd, ...), 0)                                                  \
    X(int, clone, (int (*fn)(void *), void *stack, int flags, void *arg, ...), 0)                \
    X(long, syscall, (long nr, ...), 0)

#define SL_REAL_DECLARE(ret, name, params, args, required) extern ret(*real_##name) params;
#define SL_REAL_DECLARE_V(ret, name, params, required) extern ret(*real_##name) params;
SL_REAL_FUNCS(SL_REAL_DECLARE)
SL_REAL_VARIADIC(SL_REAL_DECLARE_V)
#undef SL_REAL_DECLARE
#undef SL_REAL_DECLARE_V

/* Resolve every real_<name> now. Idempotent. Each one also resolves itself on first
 * use, so a wrapper never needs the rest of the shim to forward a call. */
void sl_real_resolve(void);

#endif
