/*
 * control.c - the control socket: a report on request, without a signal.
 *
 * The worker thread listens on the abstract unix socket "sockleak.PID" (stream,
 * SOCK_CLOEXEC) in its own fd table (fd/owntable.c), so the program never sees an fd
 * of it; with a shared table it is one of the shim's own fds (fd/ownfd.c), moved high
 * and protected. `sockleak dump PID` connects, sends one line, "dump", and reads one
 * line back, tab-separated:
 *
 *   sockleak 1 <status> <where> <intended> <why> <nbytes>
 *
 * status "ok": the report was written where log_path says (where); "moved": that
 * place refused it (intended, why) and it went to where instead; the report itself
 * follows as nbytes bytes, so that the client, which may have the rights the program
 * lacks (a server that dropped privileges), can put it where it belonged; "refused":
 * the client may not ask (why).
 *
 * A process the shim was attached to (`sockleak attach`) also takes "attach": the
 * answer is status "attached" with what the attach did in why (the worker serves the
 * socket once the attach's work is done: `sockleak attach` asks to learn that it is),
 * or "refused" when the shim was not attached; and "detach": the
 * attach is undone (shim/attach.c, through the hook it set) and the answer is status
 * "detached" with what was done in why, or "refused" when the shim was preloaded (it
 * cannot leave then); after "detached" the worker ends. Only a client of the process's own user, or root, may
 * ask (SO_PEERCRED), and the client checks the same of the server (that "sockleak.PID"
 * is this process). A client is given half a second to send its line and two seconds
 * to take the answer, and each wake-up serves a few clients at most, so a slow,
 * malformed or flooding client never holds the worker for long. Abstract names are
 * per network namespace and vanish with the socket: nothing is left behind.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "runtime.h"

#define REQUEST_MS 500
#define ANSWER_MS 2000
#define PER_WAKE 4

static int (*detach_hook)(char *msg, size_t len);
static int (*attach_hook)(char *msg, size_t len);

void sl_control_set_attach(int (*attached)(char *msg, size_t len), int (*detach)(char *msg, size_t len))
{
    attach_hook = attached;
    detach_hook = detach;
}

static socklen_t address(struct sockaddr_un *a, pid_t pid)
{
    memset(a, 0, sizeof(*a));
    a->sun_family = AF_UNIX;
    int n = snprintf(a->sun_path + 1, sizeof(a->sun_path) - 1, "sockleak.%d", (int)pid);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

/* A new fd of the shim's: kept where the program cannot see it (own table), or moved
 * high and protected (shared table). */
static int keep(int fd)
{
    return fd < 0 || sl_tls_own_table ? fd : sl_ownfd_adopt(fd, false);
}

static void drop(int fd)
{
    if (fd >= 0)
        sl_tls_own_table ? (void)SL_SYS(SYS_close, fd) : (void)sl_ownfd_close(fd);
}

int sl_control_open(void)
{
    struct sockaddr_un a;
    socklen_t len = address(&a, getpid());
    int fd = keep((int)SL_SYS(SYS_socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (fd < 0)
        return fd;
    long r = SL_SYS(SYS_bind, fd, &a, len);
    if (r == 0)
        r = SL_SYS(SYS_listen, fd, 8);
    if (r != 0) {
        drop(fd);
        if (sl_opt.verbose)
            sl_log("no control socket (%s); `sockleak dump` needs --signal", strerror((int)-r));
        return (int)r;
    }
    return fd;
}

void sl_control_close(int fd)
{
    drop(fd);
}

/* Wait up to ms for fd to be ready for events; false on timeout or error. */
static bool ready(int fd, short events, int64_t deadline_ns)
{
    for (;;) {
        int64_t left = deadline_ns - sl_now_ns();
        if (left <= 0)
            return false;
        struct pollfd p = { .fd = fd, .events = events };
        struct timespec ts = { left / SL_SEC, left % SL_SEC };
        long r = SL_SYS(SYS_ppoll, &p, 1, &ts, NULL, 8);
        if (r == 1)
            return !(p.revents & (POLLERR | POLLNVAL));
        if (r != -EINTR)
            return false;
    }
}

/* The request line, or -errno: at most cap-1 bytes, within the deadline. */
static int read_line(int fd, char *buf, size_t cap, int64_t deadline_ns)
{
    size_t n = 0;
    while (n + 1 < cap) {
        if (!ready(fd, POLLIN, deadline_ns))
            return -ETIMEDOUT;
        long r = SL_SYS(SYS_read, fd, buf + n, cap - 1 - n);
        if (r == -EINTR || r == -EAGAIN)
            continue;
        if (r <= 0)
            return r < 0 ? (int)r : -ECONNRESET;
        n += (size_t)r;
        char *nl = memchr(buf, '\n', n);
        if (nl) {
            *nl = '\0';
            return 0;
        }
    }
    return -EMSGSIZE;
}

static void send_all(int fd, const char *p, size_t n, int64_t deadline_ns)
{
    while (n > 0 && ready(fd, POLLOUT, deadline_ns)) {
        long w = SL_SYS(SYS_sendto, fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT, NULL, 0);
        if (w == -EINTR || w == -EAGAIN)
            continue;
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

static void answer(int fd, const char *status, const char *where, const char *intended, const char *why,
                   const struct sl_buf *data, int64_t deadline_ns)
{
    char head[3 * 1100 + 128];
    size_t nbytes = data && data->data ? data->len : 0;
    int n = snprintf(head, sizeof(head), "sockleak 1\t%s\t%s\t%s\t%s\t%zu\n", status, where, intended, why, nbytes);
    send_all(fd, head, n > 0 && (size_t)n < sizeof(head) ? (size_t)n : 0, deadline_ns);
    if (nbytes)
        send_all(fd, data->data, nbytes, deadline_ns);
}

/* May this peer ask? The process's own user, or root. */
static bool allowed(int fd)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);
    if (SL_SYS(SYS_getsockopt, fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
        return false;
    return cred.uid == 0 || cred.uid == geteuid() || cred.uid == getuid();
}

/* Ask hook (attach's or detach's) and answer with its words: done, or "refused" and
 * why; none when there is nothing to ask (the shim was preloaded). Its result. */
static int ask_hook(int fd, int (*hook)(char *, size_t), const char *done, const char *none, int64_t deadline)
{
    char msg[1100] = "";
    int r = hook ? hook(msg, sizeof(msg)) : -ENOENT;
    if (r == -ENOENT && !msg[0])
        snprintf(msg, sizeof(msg), "%s", none);
    answer(fd, r == 0 ? done : "refused", "", "", msg, NULL, deadline);
    return r;
}

static bool serve(int fd)
{
    int64_t deadline = sl_now_ns() + REQUEST_MS * SL_MS;
    char line[64];
    int r = read_line(fd, line, sizeof(line), deadline); /* first: the client's write never meets a closed socket */
    if (!allowed(fd)) {
        answer(fd, "refused", "", "", "permission denied: not the process's user, nor root", NULL, deadline);
        return false;
    }
    if (r == 0 && strcmp(line, "detach") == 0)
        return ask_hook(fd, detach_hook, "detached",
                        "not attached: the shim was preloaded and stays until the process exits", deadline)
               == 0;
    if (r == 0 && strcmp(line, "attach") == 0) {
        ask_hook(fd, attach_hook, "attached", "not attached: the shim was preloaded", deadline);
        return false;
    }
    if (r != 0 || strcmp(line, "dump") != 0) {
        answer(fd, "refused", "", "", "unknown request (send \"dump\", \"attach\" or \"detach\")", NULL, deadline);
        return false;
    }
    struct sl_delivery d;
    struct sl_buf data;
    sl_buf_init(&data);
    sl_report_deliver(SL_REASON_DUMP, &d, &data);
    deadline = sl_now_ns() + ANSWER_MS * SL_MS;
    if (!d.intended[0])
        answer(fd, "ok", d.where, "", "", NULL, deadline);
    else
        answer(fd, "moved", d.where[0] ? d.where : "nowhere", d.intended, strerror(-d.err), &data, deadline);
    sl_buf_free(&data);
    return false;
}

bool sl_control_serve(int listen_fd)
{
    for (int k = 0; k < PER_WAKE; k++) {
        int c = keep((int)SL_SYS(SYS_accept4, listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK));
        if (c < 0)
            return false; /* none waiting (EAGAIN), or out of fds: the next wake-up tries again */
        bool detached = serve(c);
        drop(c);
        if (detached)
            return true;
    }
    return false;
}
