/*
 * leaky_server.c - a poll() event loop that forgets to close connections.
 *
 * THE BUG: the server accepts connections and answers each line a client sends with
 * an echo. When a client hangs up, recv() returns 0. The loop notices and stops
 * polling that connection (it frees the slot in its pollfd array) but never calls
 * close(): the accepted socket stays open, in CLOSE_WAIT, for the life of the server.
 * Errors (recv() < 0) are handled correctly; it is only the orderly hang-up, the most
 * common way a connection ends, that leaks. A real server keeps running and one day
 * fails with EMFILE ("Too many open files") in accept().
 *
 * sockleak reports the accepted sockets stuck in CLOSE_WAIT, with the stack of the
 * accept() call that made them: frame #0 is accept_connection, frame #1 event_loop.
 * See fixed_server.c for the fix.
 *
 * The program is self-contained: it listens on an ephemeral port of 127.0.0.1, starts
 * its clients in threads (each connects, sends one line, reads the echo and closes
 * properly), serves them for a few seconds and exits normally.
 *
 *   usage: leaky_server [CLIENTS [SECONDS]]    (default: 4 clients, serve for 3 s)
 *   sockleak --close-wait-after 1s -- build/examples/leaky_server
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
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 64

/* ---- the clients: well-behaved, each in its own thread ---- */

struct client {
    pthread_t thread;
    int id;
    unsigned short port;
};

static void *run_client(void *arg)
{
    struct client *c = arg;
    struct timespec delay = { 0, (c->id % 10) * 50 * 1000000L }; /* arrive one after another */
    nanosleep(&delay, NULL);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(c->port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval timeout = { 2, 0 }; /* never wait forever for the server */
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        perror("client: connect");
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    char line[64], reply[128];
    int n = snprintf(line, sizeof(line), "hello from client %d\n", c->id);
    send(fd, line, (size_t)n, MSG_NOSIGNAL);
    size_t got = 0;
    while (got + 1 < sizeof(reply)) {
        ssize_t r = recv(fd, reply + got, sizeof(reply) - 1 - got, 0);
        if (r <= 0)
            break;
        got += (size_t)r;
        if (memchr(reply, '\n', got))
            break;
    }
    reply[got] = '\0';
    printf("client %d: got \"%.*s\"\n", c->id, (int)strcspn(reply, "\n"), reply);
    close(fd); /* the client hangs up properly */
    return NULL;
}

/* ---- the server ---- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Accept one connection on listen_fd and put it in a free slot of conns[].
 * Returns the new fd, or -1 (no connection, or no free slot). */
__attribute__((noinline)) int accept_connection(int listen_fd, struct pollfd *conns, int nconns)
{
    struct sockaddr_in peer;
    socklen_t len = sizeof(peer);
    int fd = accept(listen_fd, (struct sockaddr *)&peer, &len);
    if (fd < 0)
        return -1;
    for (int i = 0; i < nconns; i++)
        if (conns[i].fd < 0) {
            conns[i] = (struct pollfd){ .fd = fd, .events = POLLIN };
            printf("server: accepted fd %d from %s:%u\n", fd, inet_ntoa(peer.sin_addr), ntohs(peer.sin_port));
            return fd;
        }
    close(fd); /* full */
    return -1;
}

/* Serve for `seconds`: pfds[0] is the listener, pfds[1..] the connections. */
__attribute__((noinline)) void event_loop(int listen_fd, double seconds, int *served)
{
    struct pollfd pfds[1 + MAX_CONNS];
    pfds[0] = (struct pollfd){ .fd = listen_fd, .events = POLLIN };
    for (int i = 1; i <= MAX_CONNS; i++)
        pfds[i] = (struct pollfd){ .fd = -1 }; /* poll() ignores negative fds: a free slot */
    double deadline = now_s() + seconds;
    while (now_s() < deadline) {
        int n = poll(pfds, 1 + MAX_CONNS, 100);
        if (n < 0 && errno != EINTR) {
            perror("server: poll");
            break;
        }
        if (n <= 0)
            continue;
        if (pfds[0].revents & POLLIN)
            accept_connection(listen_fd, pfds + 1, MAX_CONNS);
        for (int i = 1; i <= MAX_CONNS; i++) {
            int fd = pfds[i].fd;
            if (fd < 0 || !pfds[i].revents)
                continue;
            char buf[256], reply[300];
            ssize_t r = recv(fd, buf, sizeof(buf) - 1, 0);
            if (r > 0) {
                buf[r] = '\0';
                int m = snprintf(reply, sizeof(reply), "echo: %s", buf);
                send(fd, reply, (size_t)m, MSG_NOSIGNAL);
                (*served)++;
            } else if (r == 0) {
                printf("server: fd %d: client hung up, no longer polling it\n", fd);
                pfds[i].fd = -1; /* BUG: the slot is freed but close(fd) is missing */
            } else if (errno != EINTR && errno != EAGAIN) {
                printf("server: fd %d: %s, closing\n", fd, strerror(errno));
                close(fd); /* the error path is right */
                pfds[i].fd = -1;
            }
        }
    }
    for (int i = 1; i <= MAX_CONNS; i++) /* connections still open at shutdown */
        if (pfds[i].fd >= 0)
            close(pfds[i].fd);
}

int main(int argc, char **argv)
{
    int nclients = argc > 1 ? atoi(argv[1]) : 4;
    int seconds = argc > 2 ? atoi(argv[2]) : 3;
    if (nclients < 0 || nclients > MAX_CONNS || seconds < 1) {
        fprintf(stderr, "usage: %s [CLIENTS (0..%d) [SECONDS]]\n", argv[0], MAX_CONNS);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);

    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = 0 };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t salen = sizeof(sa);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 16) < 0
        || getsockname(lfd, (struct sockaddr *)&sa, &salen) < 0) {
        perror("server: listen");
        return 1;
    }
    printf("leaky_server: listening on 127.0.0.1:%u for %d s, %d clients\n", ntohs(sa.sin_port), seconds, nclients);

    struct client clients[MAX_CONNS];
    for (int i = 0; i < nclients; i++) {
        clients[i] = (struct client){ .id = i + 1, .port = ntohs(sa.sin_port) };
        if (pthread_create(&clients[i].thread, NULL, run_client, &clients[i]) != 0) {
            fprintf(stderr, "cannot start client %d\n", i + 1);
            return 1;
        }
    }
    int served = 0;
    event_loop(lfd, seconds, &served);
    for (int i = 0; i < nclients; i++)
        pthread_join(clients[i].thread, NULL);
    close(lfd);
    printf("leaky_server: served %d requests; shutting down\n", served);
    return 0;
}
