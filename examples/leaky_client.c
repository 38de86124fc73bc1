/*
 * leaky_client.c - a client that leaks its socket on the error path.
 *
 * THE BUG: fetch_user() connects to an upstream service, asks for one user and reads
 * the answer. On success it closes the socket. But when the upstream answers "ERR"
 * (unknown user) or hangs up without an answer (recv() returns 0), it returns -1
 * straight away and never calls close(). The upstream has already closed its end, so
 * each leaked socket sits in CLOSE_WAIT until the process exits: it costs a file
 * descriptor and a kernel socket, and a long-running process that fails often enough
 * ends in EMFILE ("Too many open files").
 *
 * sockleak reports the leaked sockets, in CLOSE_WAIT, with the stack of the socket()
 * call that made them: frame #0 is fetch_user. See fixed_client.c for the fix.
 *
 * The program is self-contained: it starts a tiny upstream server in a thread on an
 * ephemeral port of 127.0.0.1 (that server closes its connections properly). Users
 * with an odd id exist; for an even id the upstream answers "ERR no such user" and
 * hangs up, and for an id divisible by 5 it hangs up without a word.
 *
 *   usage: leaky_client [REQUESTS [SECONDS]]    (default: 5 requests, then sleep 2 s)
 *   sockleak --close-wait-after 1s -- build/examples/leaky_client
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- the upstream: one request per connection, one line each way ---- */

struct upstream {
    int listen_fd;
    int requests; /* connections to serve before it stops */
};

static int read_line(int fd, char *buf, size_t len)
{
    size_t n = 0;
    while (n + 1 < len) {
        ssize_t r = recv(fd, buf + n, 1, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        if (buf[n] == '\n')
            break;
        n++;
    }
    buf[n] = '\0';
    return (int)n;
}

static void *upstream_main(void *arg)
{
    struct upstream *up = arg;
    for (int served = 0; served < up->requests; served++) {
        int c = accept(up->listen_fd, NULL, NULL);
        if (c < 0) {
            perror("upstream: accept");
            break;
        }
        char line[128], reply[160];
        int id = 0;
        read_line(c, line, sizeof(line));
        if (sscanf(line, "USER %d", &id) == 1 && id % 5 == 0) {
            /* simulate a crash or a timeout on the upstream side: no answer at all */
        } else if (id > 0 && id % 2 == 1) {
            snprintf(reply, sizeof(reply), "OK user%d\n", id);
            send(c, reply, strlen(reply), MSG_NOSIGNAL);
        } else {
            send(c, "ERR no such user\n", 17, MSG_NOSIGNAL);
        }
        close(c); /* the upstream always hangs up: its side is correct */
    }
    return NULL;
}

/* ---- the client code with the bug ---- */

/* Ask the upstream on 127.0.0.1:port for user `id`; copy the name into name[len].
 * Returns 0 on success, -1 on any failure. */
__attribute__((noinline)) int fetch_user(unsigned short port, int id, char *name, size_t len)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    char req[64], reply[128];
    int n = snprintf(req, sizeof(req), "USER %d\n", id);
    if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
        close(fd);
        return -1;
    }
    if (read_line(fd, reply, sizeof(reply)) == 0)
        return -1; /* BUG: the upstream hung up (recv() returned 0) and fd is never closed */
    if (strncmp(reply, "OK ", 3) != 0)
        return -1; /* BUG: "ERR ..." and the upstream hung up; fd is never closed */
    snprintf(name, len, "%s", reply + 3);
    close(fd);
    return 0;
}

int main(int argc, char **argv)
{
    int requests = argc > 1 ? atoi(argv[1]) : 5;
    int seconds = argc > 2 ? atoi(argv[2]) : 2;
    if (requests < 1 || seconds < 0) {
        fprintf(stderr, "usage: %s [REQUESTS [SECONDS]]\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);

    struct upstream up = { .requests = requests };
    up.listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = 0 };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t salen = sizeof(sa);
    if (up.listen_fd < 0 || bind(up.listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0
        || listen(up.listen_fd, 16) < 0 || getsockname(up.listen_fd, (struct sockaddr *)&sa, &salen) < 0) {
        perror("upstream");
        return 1;
    }
    unsigned short port = ntohs(sa.sin_port);
    pthread_t t;
    if (pthread_create(&t, NULL, upstream_main, &up) != 0) {
        fprintf(stderr, "cannot start the upstream thread\n");
        return 1;
    }
    printf("leaky_client: upstream listening on 127.0.0.1:%u\n", port);

    int ok = 0, failed = 0;
    for (int id = 1; id <= requests; id++) {
        char name[64];
        if (fetch_user(port, id, name, sizeof(name)) == 0) {
            printf("fetch_user(%d): %s\n", id, name);
            ok++;
        } else {
            printf("fetch_user(%d): failed\n", id);
            failed++;
        }
    }
    pthread_join(t, NULL);
    close(up.listen_fd);

    printf("leaky_client: %d requests, %d ok, %d failed (each failure leaked its socket)\n", requests, ok,
           failed);
    printf("leaky_client: sleeping %d s so the leaked sockets sit in CLOSE_WAIT\n", seconds);
    sleep((unsigned)seconds);
    printf("leaky_client: done\n");
    return 0;
}
