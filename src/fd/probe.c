/*
 * probe.c - the OS seam: everything the shim asks the kernel about a socket.
 *
 * The core (registry, scanner, report) learns about sockets only through these
 * functions, so it can be tested against real sockets without the preload, and the
 * probing strategy (TCP_INFO per socket today, sock_diag for large tables) can change
 * in one place. All probes are read-only: none reads or writes a byte of socket data.
 * Each returns 0 or -errno and preserves errno. Each takes the host's fd number and
 * reaches it through sl_owntable_get (a copy, in the shim's own thread). They make raw
 * system calls: a sanitizer runtime in the host (TSan) intercepts fstat and getsockopt
 * and would report the background thread's look at an fd another thread is closing as
 * a data race in the host; the probes are deliberately unsynchronized (write-backs are
 * matched by generation) and must stay out of its sight.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <poll.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "fd.h"

/* fd's number in this thread (a copy in the shim's own table), or -errno. */
#define REACH(fd, l)                                                                     \
    int l = sl_owntable_get(fd);                                                         \
    if (l < 0)                                                                           \
        return l

int sl_probe_inode(int fd, uint64_t *dev, uint64_t *ino)
{
    REACH(fd, l);
    struct stat st;
    int r = (int)SL_SYS(SYS_fstat, l, &st);
    sl_owntable_put(l);
    if (r != 0)
        return r;
    if (!S_ISSOCK(st.st_mode))
        return -ENOTSOCK;
    *dev = (uint64_t)st.st_dev;
    *ino = (uint64_t)st.st_ino;
    return 0;
}

static long sockopt_int(int l, int level, int name, int *out)
{
    socklen_t len = sizeof(int);
    return SL_SYS(SYS_getsockopt, l, level, name, out, &len);
}

int sl_probe_meta(int fd, int *family, int *type, int *proto)
{
    REACH(fd, l);
    int r = (int)sockopt_int(l, SOL_SOCKET, SO_DOMAIN, family);
    if (!r)
        r = (int)sockopt_int(l, SOL_SOCKET, SO_TYPE, type);
    if (!r && sockopt_int(l, SOL_SOCKET, SO_PROTOCOL, proto) != 0)
        *proto = 0; /* very old kernels: not fatal */
    sl_owntable_put(l);
    return r;
}

int sl_probe_tcp(int fd, struct sl_tcp *out)
{
    REACH(fd, l);
    struct tcp_info ti;
    socklen_t len = sizeof(ti);
    memset(&ti, 0, sizeof(ti));
    int r = (int)SL_SYS(SYS_getsockopt, l, IPPROTO_TCP, TCP_INFO, &ti, &len);
    sl_owntable_put(l);
    if (r != 0)
        return r;
    out->state = ti.tcpi_state;
    out->last_data_sent_ms = ti.tcpi_last_data_sent;
    out->last_data_recv_ms = ti.tcpi_last_data_recv;
    out->last_ack_recv_ms = ti.tcpi_last_ack_recv;
    return 0;
}

int64_t sl_tcp_idle_ns(const struct sl_tcp *t, int64_t age_ns)
{
    switch (t->state) {
    case TCP_ESTABLISHED:
    case TCP_CLOSE_WAIT:
    case TCP_FIN_WAIT1:
    case TCP_FIN_WAIT2:
    case TCP_LAST_ACK:
    case TCP_CLOSING:
        break;
    default:
        return -1; /* never connected, listening, or gone: no data to be idle from */
    }
    /* a direction that never carried data counts from boot: no longer than the socket's life */
    int64_t idle = (int64_t)(t->last_data_recv_ms < t->last_data_sent_ms ? t->last_data_recv_ms : t->last_data_sent_ms)
                 * SL_MS;
    return age_ns >= 0 && idle > age_ns ? age_ns : idle;
}

int sl_probe_addr(int fd, bool peer, struct sockaddr_storage *ss, socklen_t *len)
{
    *len = sizeof(*ss);
    memset(ss, 0, sizeof(*ss));
    REACH(fd, l);
    int r = (int)SL_SYS(peer ? SYS_getpeername : SYS_getsockname, l, ss, len);
    sl_owntable_put(l);
    return r;
}

int sl_probe_unread(int fd, long *bytes)
{
    REACH(fd, l);
    int n = 0;
    int r = (int)SL_SYS(SYS_ioctl, l, SIOCINQ, &n);
    sl_owntable_put(l);
    if (r == 0)
        *bytes = n;
    return r;
}

bool sl_probe_peer_closed(int fd)
{
    int l = sl_owntable_get(fd);
    if (l < 0)
        return false;
    struct pollfd p = { .fd = l, .events = POLLRDHUP };
    /* RDHUP only: an unconnected stream socket reports POLLHUP, not RDHUP */
    struct timespec zero = { 0, 0 };
    bool closed = SL_SYS(SYS_ppoll, &p, 1, &zero, NULL, 0) == 1 && (p.revents & POLLRDHUP) && !(p.revents & POLLNVAL);
    sl_owntable_put(l);
    return closed;
}

bool sl_probe_listening(int fd)
{
    int l = sl_owntable_get(fd);
    if (l < 0)
        return false;
    int acc = 0;
    bool r = sockopt_int(l, SOL_SOCKET, SO_ACCEPTCONN, &acc) == 0 && acc;
    sl_owntable_put(l);
    return r;
}

struct linux_dirent64 {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

/* The numbers of the host's open fds, from /proc/self/fd (/proc/self is the process:
 * the main thread's table, which is the host's).
 *  - The shim's thread, with a table of its own (owntable.c), keeps the directory open
 *    there and reads it again from the start each time: the host never sees it.
 *  - Any other thread lists in the I/O child (iochild.c), with a copy of the fd table,
 *    whose /proc/self/fd lists the same numbers, and in which the directory's own fd
 *    lives and dies. The host's table never holds it, even for a moment: it would take
 *    the lowest free number from the host's next socket(), and show up in a listing of
 *    the host's fds (a test suite that checks which fds a child inherited fails on it). */
static int own_fd_dir = -1;
static pid_t own_fd_dir_pid;

struct fd_list {
    int *v;
    size_t cap, n; /* n may pass cap: then only cap were stored */
    int skip;      /* the directory's own fd */
    pid_t pid;     /* the process whose table is listed */
};

static long read_fd_dir(int dfd, struct fd_list *l)
{
    char buf[4096] __attribute__((aligned(8)));
    for (;;) {
        long n = SL_SYS(SYS_getdents64, dfd, buf, sizeof(buf));
        if (n < 0)
            return n;
        if (n == 0)
            return 0;
        for (long off = 0; off < n;) {
            struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + off);
            off += d->d_reclen;
            const char *s = d->d_name;
            if (*s < '0' || *s > '9')
                continue;
            int fd = 0;
            for (; *s >= '0' && *s <= '9'; s++)
                fd = fd * 10 + (*s - '0');
            if (fd == l->skip)
                continue;
            if (l->n < l->cap)
                l->v[l->n] = fd;
            l->n++;
        }
    }
}

static long list_in_child(void *p)
{
    struct fd_list *l = p;
    /* the process's directory, not the child's own (/proc/self here): its entries stay
     * in the dentry cache from one listing to the next, where a new pid's directory
     * makes the kernel build and free a dentry and an inode per fd every time (a
     * fifth of a scan's time at 16,000 fds); in place, the same directory */
    char path[40];
    snprintf(path, sizeof(path), "/proc/%d/fd", (int)l->pid);
    int d = (int)SL_SYS(SYS_openat, AT_FDCWD, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d < 0)
        return d;
    l->skip = d;
    long r = read_fd_dir(d, l);
    SL_SYS(SYS_close, d);
    return r;
}

static long list_fds(struct fd_list *l)
{
    l->n = 0;
    l->skip = -1;
    l->pid = getpid();
    if (!sl_tls_own_table)
        return sl_iochild_run(list_in_child, l);
    pid_t me = getpid();
    if (own_fd_dir < 0 || own_fd_dir_pid != me) {
        own_fd_dir = (int)SL_SYS(SYS_openat, AT_FDCWD, "/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        own_fd_dir_pid = me;
    }
    if (own_fd_dir < 0)
        return -ENOENT;
    long off = SL_SYS(SYS_lseek, own_fd_dir, 0, SEEK_SET);
    if (off != 0)
        return off < 0 ? off : -EIO;
    return read_fd_dir(own_fd_dir, l);
}

long sl_probe_count_fds(void)
{
    char path[40];
    snprintf(path, sizeof(path), "/proc/%d/fd", (int)getpid());
    struct stat st;
    long n = SL_SYS(SYS_newfstatat, AT_FDCWD, path, &st, 0) == 0 && st.st_size > 0 ? (long)st.st_size : -1;
    if (n < 0)
        return -1;
    int ours[16];
    n -= sl_ownfd_list(ours, 16); /* the shim's own are not the host's */
    return n < 0 ? 0 : n;
}

int sl_probe_each_fd(int (*fn)(int fd, void *arg), void *arg)
{
    SL_KEEP_ERRNO(); /* getrlimit, and what fn does */
    struct fd_list l = { .cap = 16384 }; /* 64 KiB: mmap'd (sl_big_alloc), never malloc */
    long r = -ENOMEM;
    for (int tries = 0; tries < 4; tries++) {
        sl_big_free(l.v);
        l.v = sl_big_alloc(l.cap * sizeof(int));
        if (!l.v) {
            r = -ENOMEM;
            break;
        }
        r = list_fds(&l);
        if (r != 0 || l.n <= l.cap)
            break;
        l.cap = l.n + l.n / 4 + 64; /* more fds than room: again, with room */
    }
    if (r != 0 || l.n > l.cap) {
        sl_big_free(l.v);
        /* no /proc: probe numbers up to the soft limit (capped) */
        struct rlimit rl;
        long max = 1024;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
            max = rl.rlim_cur < 65536 ? (long)rl.rlim_cur : 65536;
        for (int fd = 0; fd < max; fd++) {
            int h = sl_owntable_get(fd);
            bool open = h >= 0 && SL_SYS(SYS_fcntl, h, F_GETFD) >= 0;
            sl_owntable_put(h);
            if (open && !sl_ownfd_is(fd) && fn(fd, arg))
                break;
        }
        return 0;
    }
    for (size_t k = 0; k < l.n; k++)
        if (!sl_ownfd_is(l.v[k]) && fn(l.v[k], arg)) /* the shim's own fds are not the host's */
            break;
    sl_big_free(l.v);
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

/* TracerPid from /proc/PID/status: read directly in the shim's thread with a table of
 * its own, elsewhere in the I/O child (whose /proc/self would be itself). */
long sl_probe_tracer(void)
{
    SL_KEEP_ERRNO();
    char path[40], buf[2048];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)getpid());
    long n;
    if (sl_tls_own_table) {
        int f = (int)SL_SYS(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
        if (f < 0)
            return f;
        n = SL_SYS(SYS_read, f, buf, sizeof(buf) - 1);
        SL_SYS(SYS_close, f);
    } else {
        n = sl_iochild_read(path, buf, sizeof(buf) - 1);
    }
    if (n < 0)
        return n;
    buf[n] = '\0';
    const char *t = strstr(buf, "\nTracerPid:");
    return t ? strtol(t + 11, NULL, 10) : -ENOENT;
}

/* The absolute path of the file mapped at addr, from /proc/self/maps (for modules the
 * loader knows by a relative name, e.g. LD_PRELOAD=build/lib.so). */
char *sl_probe_mapped_path(uintptr_t addr)
{
    size_t cap = 64 * 1024;
    char *buf = NULL;
    long n;
    for (;;) { /* grow until the whole file fits */
        char *nb = realloc(buf, cap);
        if (!nb) {
            free(buf);
            return NULL;
        }
        buf = nb;
        n = sl_iochild_read("/proc/self/maps", buf, cap);
        if (n < 0 || (size_t)n + 1 < cap || cap >= (64u << 20))
            break;
        cap *= 4;
    }
    char *found = NULL;
    for (char *line = n > 0 ? buf : NULL; line && *line && !found;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        unsigned long lo, hi;
        int off = 0;
        if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %n", &lo, &hi, &off) == 2 && off > 0 && addr >= lo && addr < hi
            && line[off] == '/')
            found = strdup(line + off);
        line = nl ? nl + 1 : NULL;
    }
    free(buf);
    return found;
}
