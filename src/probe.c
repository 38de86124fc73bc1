/*
 * probe.c - the OS seam: everything the shim asks the kernel about a socket.
 *
 * The core (registry, scanner, report) learns about sockets only through these
 * functions, so it can be tested against real sockets without the preload, and the
 * probing strategy (TCP_INFO per socket today, sock_diag for large tables) can change
 * in one place. All probes are read-only: none reads or writes a byte of socket data.
 * Each returns 0 or -errno and preserves errno. They make raw system calls: a sanitizer
 * runtime in the host (TSan) intercepts fstat and getsockopt and would report the
 * background thread's look at an fd another thread is closing as a data race in the
 * host; the shim's probes are deliberately unsynchronized (write-backs are matched
 * by generation) and must stay out of its sight.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "internal.h"

int sl_probe_inode(int fd, uint64_t *dev, uint64_t *ino)
{
    int saved = errno;
    struct stat st;
    int r = (int)syscall(SYS_fstat, fd, &st);
    int e = errno;
    errno = saved;
    if (r != 0)
        return -e;
    if (!S_ISSOCK(st.st_mode))
        return -ENOTSOCK;
    *dev = (uint64_t)st.st_dev;
    *ino = (uint64_t)st.st_ino;
    return 0;
}

int sl_probe_meta(int fd, int *family, int *type, int *proto)
{
    int saved = errno, r = 0;
    socklen_t len = sizeof(int);
    if (syscall(SYS_getsockopt, fd, SOL_SOCKET, SO_DOMAIN, family, &len) != 0)
        r = -errno;
    len = sizeof(int);
    if (!r && syscall(SYS_getsockopt, fd, SOL_SOCKET, SO_TYPE, type, &len) != 0)
        r = -errno;
    len = sizeof(int);
    if (!r && syscall(SYS_getsockopt, fd, SOL_SOCKET, SO_PROTOCOL, proto, &len) != 0)
        *proto = 0; /* very old kernels: not fatal */
    errno = saved;
    return r;
}

int sl_probe_tcp(int fd, struct sl_tcp *out)
{
    int saved = errno;
    struct tcp_info ti;
    socklen_t len = sizeof(ti);
    memset(&ti, 0, sizeof(ti));
    int r = (int)syscall(SYS_getsockopt, fd, IPPROTO_TCP, TCP_INFO, &ti, &len);
    int e = errno;
    errno = saved;
    if (r != 0)
        return -e;
    out->state = ti.tcpi_state;
    out->last_data_sent_ms = ti.tcpi_last_data_sent;
    out->last_data_recv_ms = ti.tcpi_last_data_recv;
    out->last_ack_recv_ms = ti.tcpi_last_ack_recv;
    return 0;
}

int sl_probe_tcp_state(int fd, int *state)
{
    struct sl_tcp t;
    int r = sl_probe_tcp(fd, &t);
    if (r == 0)
        *state = t.state;
    return r;
}

int sl_probe_addr(int fd, bool peer, struct sockaddr_storage *ss, socklen_t *len)
{
    int saved = errno;
    *len = sizeof(*ss);
    memset(ss, 0, sizeof(*ss));
    int r = (int)syscall(peer ? SYS_getpeername : SYS_getsockname, fd, (struct sockaddr *)ss, len);
    int e = errno;
    errno = saved;
    return r == 0 ? 0 : -e;
}

struct linux_dirent64 {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

int sl_probe_each_fd(int (*fn)(int fd, void *arg), void *arg)
{
    int saved = errno;
    int dfd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        /* no /proc: probe numbers up to the soft limit (capped) */
        struct rlimit rl;
        long max = 1024;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
            max = rl.rlim_cur < 65536 ? (long)rl.rlim_cur : 65536;
        for (int fd = 0; fd < max; fd++)
            if (syscall(SYS_fcntl, fd, F_GETFD) >= 0 && fn(fd, arg))
                break;
        errno = saved;
        return 0;
    }
    char buf[4096] __attribute__((aligned(8)));
    int r = 0;
    for (;;) {
        long n = syscall(SYS_getdents64, dfd, buf, sizeof(buf));
        if (n < 0) {
            r = -errno;
            break;
        }
        if (n == 0)
            break;
        for (long off = 0; off < n;) {
            struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + off);
            off += d->d_reclen;
            const char *s = d->d_name;
            if (*s < '0' || *s > '9')
                continue;
            int fd = 0;
            for (; *s >= '0' && *s <= '9'; s++)
                fd = fd * 10 + (*s - '0');
            if (fd == dfd)
                continue;
            if (fn(fd, arg))
                goto done;
        }
    }
done:
    syscall(SYS_close, dfd);
    errno = saved;
    return r;
}

void sl_addr_from_sockaddr(struct sl_addr *a, const struct sockaddr *sa, socklen_t len)
{
    memset(a, 0, sizeof(*a));
    if (!sa || len < sizeof(sa_family_t))
        return;
    if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        a->family = AF_INET;
        a->port = in->sin_port;
        memcpy(a->addr, &in->sin_addr, 4);
    } else if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        a->family = AF_INET6;
        a->port = in6->sin6_port;
        a->scope = in6->sin6_scope_id;
        memcpy(a->addr, &in6->sin6_addr, 16);
    }
}

void sl_addr_to_sockaddr(const struct sl_addr *a, struct sockaddr_storage *ss, socklen_t *len)
{
    memset(ss, 0, sizeof(*ss));
    *len = 0;
    if (a->family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)ss;
        in->sin_family = AF_INET;
        in->sin_port = a->port;
        memcpy(&in->sin_addr, a->addr, 4);
        *len = sizeof(*in);
    } else if (a->family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = a->port;
        in6->sin6_scope_id = a->scope;
        memcpy(&in6->sin6_addr, a->addr, 16);
        *len = sizeof(*in6);
    }
}

void sl_format_sockaddr(const struct sockaddr *sa, socklen_t len, char *out, size_t outlen)
{
    char host[INET6_ADDRSTRLEN];
    out[0] = '\0';
    if (!sa || len < sizeof(sa_family_t) || outlen == 0)
        return;
    switch (sa->sa_family) {
    case AF_INET: {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        if (len < sizeof(*in) || !inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host)))
            return;
        snprintf(out, outlen, "%s:%u", host, ntohs(in->sin_port));
        return;
    }
    case AF_INET6: {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        if (len < sizeof(*in6) || !inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host)))
            return;
        if (in6->sin6_scope_id)
            snprintf(out, outlen, "[%s%%%u]:%u", host, in6->sin6_scope_id, ntohs(in6->sin6_port));
        else
            snprintf(out, outlen, "[%s]:%u", host, ntohs(in6->sin6_port));
        return;
    }
    case AF_UNIX: {
        const struct sockaddr_un *un = (const struct sockaddr_un *)sa;
        size_t n = len > offsetof(struct sockaddr_un, sun_path) ? len - offsetof(struct sockaddr_un, sun_path) : 0;
        if (n > sizeof(un->sun_path))
            n = sizeof(un->sun_path);
        if (n == 0)
            return; /* unnamed */
        size_t o = 0;
        if (un->sun_path[0] == '\0') { /* abstract: shown as ss does, with '@' */
            for (size_t i = 0; i < n && o + 1 < outlen; i++)
                out[o++] = un->sun_path[i] ? un->sun_path[i] : '@';
        } else {
            for (size_t i = 0; i < n && un->sun_path[i] && o + 1 < outlen; i++)
                out[o++] = un->sun_path[i];
        }
        out[o] = '\0';
        return;
    }
    default:
        return;
    }
}

const char *sl_tcp_state_name(int state)
{
    static const char *names[] = {
        NULL,       "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT",
        "CLOSE",    "CLOSE_WAIT",  "LAST_ACK", "LISTEN",   "CLOSING",   "NEW_SYN_RECV",
    };
    return state > 0 && (size_t)state < SL_ARRAY_LEN(names) ? names[state] : NULL;
}

const char *sl_family_name(int family)
{
    switch (family) {
    case AF_INET: return "inet";
    case AF_INET6: return "inet6";
    case AF_UNIX: return "unix";
    case AF_NETLINK: return "netlink";
    default: return "other";
    }
}

const char *sl_type_name(int type)
{
    switch (type) {
    case SOCK_STREAM: return "stream";
    case SOCK_DGRAM: return "dgram";
    case SOCK_SEQPACKET: return "seqpacket";
    case SOCK_RAW: return "raw";
    default: return "other";
    }
}

const char *sl_proto_name(int family, int type, int proto)
{
    if (family != AF_INET && family != AF_INET6)
        return NULL;
    switch (proto) {
    case IPPROTO_TCP: return "tcp";
    case IPPROTO_UDP: return "udp";
    case IPPROTO_ICMP: return "icmp";
    case IPPROTO_ICMPV6: return "icmp6";
    case IPPROTO_SCTP: return "sctp";
    case IPPROTO_UDPLITE: return "udplite";
    case 262: return "mptcp";
    case 0:
        if (type == SOCK_STREAM)
            return "tcp";
        if (type == SOCK_DGRAM)
            return "udp";
        return NULL;
    default: return NULL;
    }
}
