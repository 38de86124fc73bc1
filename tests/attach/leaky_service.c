/*
 * leaky_service.c - a service started without the shim, for tests/attach/run.py.
 *
 * It listens on 127.0.0.1 (its front door, never used) and runs a "backend" thread
 * that accepts connections, answers "ERR busy\n" and hangs up. fetch_user() connects
 * to the backend, sends a request and, on the error, forgets to close: the socket sits
 * in CLOSE_WAIT with the answer never read. fetch_ok() does the same and closes.
 * Commands, one per line on stdin (the test drives it; between commands it waits in
 * poll(), and nanosleep()s after each one, so an attach finds a safe point at once):
 *   leak N     N calls to fetch_user   -> "leaked N total=T fds=A,B,..."
 *   ok N       N calls to fetch_ok     -> "ok N"
 *   quit       exit 0 (the leaked sockets die with the process)
 * Prints "ready pid=P port=F backend=B" first. Built with -DMDWE (and -z now: its GOT
 * read-only after start-up), it first turns on MemoryDenyWriteExecute for itself
 * (prctl PR_SET_MDWE, what systemd's MemoryDenyWriteExecute=yes does) and prints
 * "mdwe=1" if the kernel took it.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

static int backend_port;

static int listen_on(int *port)
{
    int l = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(a);
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(l, 4096) != 0
        || getsockname(l, (struct sockaddr *)&a, &len) != 0) {
        perror("listen");
        exit(3);
    }
    *port = ntohs(a.sin_port);
    return l;
}

static void *backend(void *arg)
{
    int l = *(int *)arg;
    for (;;) {
        int c = accept(l, NULL, NULL);
        if (c < 0)
            continue;
        char buf[256];
        (void)!read(c, buf, sizeof(buf));
        (void)!write(c, "ERR busy\n", 9);
        close(c);
    }
    return NULL;
}

static int connect_backend(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)backend_port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) != 0) {
        perror("connect");
        exit(4);
    }
    (void)!write(s, "GET user 42\n", 12);
    return s;
}

/* The bug: on an error answer it returns without closing, and without reading it. */
static NOINLINE int fetch_user(void)
{
    int s = connect_backend();
    struct pollfd p = { .fd = s, .events = POLLIN };
    poll(&p, 1, 2000); /* the answer is there: an error, as it happens */
    return s;          /* forgot close(s) */
}

static NOINLINE void fetch_ok(void)
{
    int s = connect_backend();
    char buf[64];
    (void)!read(s, buf, sizeof(buf));
    close(s);
}

int main(void)
{
#ifdef MDWE
    printf("mdwe=%d\n", prctl(65 /* PR_SET_MDWE */, 1 /* PR_MDWE_REFUSE_EXEC_GAIN */, 0, 0, 0) == 0);
#endif
    int front_port, bport;
    int front = listen_on(&front_port);
    int b = listen_on(&bport);
    backend_port = bport;
    pthread_t t;
    pthread_create(&t, NULL, backend, &b);
    printf("ready pid=%d port=%d backend=%d\n", (int)getpid(), front_port, bport);
    fflush(stdout);
    long total = 0;
    char line[128];
    for (;;) {
        struct pollfd p = { .fd = 0, .events = POLLIN };
        if (poll(&p, 1, 100) <= 0)
            continue;
        if (!fgets(line, sizeof(line), stdin))
            break;
        int n = 0;
        if (sscanf(line, "leak %d", &n) == 1) {
            printf("leaked %d total=%ld fds=", n, total += n);
            for (int i = 0; i < n; i++)
                printf("%s%d", i ? "," : "", fetch_user()); /* not contiguous: the backend takes numbers too */
            printf("\n");
        } else if (sscanf(line, "ok %d", &n) == 1) {
            for (int i = 0; i < n; i++)
                fetch_ok();
            printf("ok %d\n", n);
        } else if (!strncmp(line, "quit", 4)) {
            break;
        }
        fflush(stdout);
        struct timespec ts = { 0, 20 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    (void)front;
    printf("bye total=%ld\n", total);
    return 0;
}
