/*
 * pause_probe.c - a program that notices being stopped, for tests/attach/run.py and
 * bench/run.py (how long `sockleak attach` and `detach` stop a process).
 *
 * Two threads wake up every millisecond and measure, with CLOCK_MONOTONIC, the time
 * since their last wake-up: the main thread in poll() on stdin (1 ms timeout), a second
 * one in nanosleep() (1 ms). Either may be the thread a debugger stops at a safe point
 * and runs the attach in, the other is stopped with the rest of the process. A gap is
 * that time beyond the 1 ms asked for. It has two causes: the thread could not run
 * (stopped by ptrace, or blocked) and the thread was runnable but waited for a CPU (a
 * busy machine; the debugger itself competes for the CPUs). The kernel counts the
 * second for each thread (/proc/thread-self/schedstat: time on a CPU, time waiting
 * for one), so each gap is also given without it: the "stopped" time, what the
 * process lost to being stopped whatever the machine's load.
 *
 * Commands, one per line on stdin:
 *   reset      forget the gaps seen so far             -> "reset"
 *   max        the longest gaps since the last reset   -> "max_gap_us=G max_stopped_us=S gaps=N"
 *   quit       exit 0
 * Prints "ready pid=P" first. Argument: how many connections to hold (default 20), so
 * that attach has sockets to list (a listener, N clients and their accepted ends).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static _Atomic long max_gap_ns, max_stopped_ns, ngaps;
static _Atomic int generation; /* bumped by reset: a gap that began before it does not count */

struct meter {
    int sched;    /* /proc/thread-self/schedstat, or -1 */
    long last_ns; /* the last wake-up */
    long waited_ns;
    int gen;
};

static long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000L + t.tv_nsec;
}

/* Time this thread has spent runnable but waiting for a CPU, or -1. */
static long waited(const struct meter *m)
{
    char buf[96];
    ssize_t n = m->sched >= 0 ? pread(m->sched, buf, sizeof(buf) - 1, 0) : -1;
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    long run, wait;
    return sscanf(buf, "%ld %ld", &run, &wait) == 2 ? wait : -1;
}

static void meter_start(struct meter *m)
{
    m->sched = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
    m->gen = atomic_load(&generation);
    m->waited_ns = waited(m);
    m->last_ns = now_ns();
}

static void store_max(_Atomic long *v, long x)
{
    long cur = atomic_load(v);
    while (x > cur && !atomic_compare_exchange_weak(v, &cur, x))
        ;
}

/* A wake-up after asking for a 1 ms wait. */
static void meter_tick(struct meter *m)
{
    long t = now_ns(), w = waited(m);
    long gap = t - m->last_ns - 1000000;
    long stopped = gap - (w >= 0 && m->waited_ns >= 0 ? w - m->waited_ns : 0);
    m->last_ns = t, m->waited_ns = w;
    int g = atomic_load(&generation);
    if (g != m->gen) {
        m->gen = g;
        return;
    }
    store_max(&max_gap_ns, gap);
    store_max(&max_stopped_ns, stopped);
    if (gap >= 1000000)
        atomic_fetch_add(&ngaps, 1);
}

static void *sleeper(void *arg)
{
    (void)arg;
    struct meter m;
    meter_start(&m);
    for (;;) {
        struct timespec ms = { 0, 1000 * 1000 };
        nanosleep(&ms, NULL);
        meter_tick(&m);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 20;
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(a);
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(l, 4096) != 0
        || getsockname(l, (struct sockaddr *)&a, &len) != 0) {
        perror("listen");
        return 3;
    }
    for (int i = 0; i < n; i++) {
        int c = socket(AF_INET, SOCK_STREAM, 0);
        if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof(a)) != 0 || accept(l, NULL, NULL) < 0) {
            perror("connect");
            return 4;
        }
    }
    pthread_t t;
    pthread_create(&t, NULL, sleeper, NULL);
    printf("ready pid=%d\n", (int)getpid());
    fflush(stdout);
    struct meter m;
    meter_start(&m);
    char line[128];
    for (;;) {
        struct pollfd p = { .fd = 0, .events = POLLIN };
        int r = poll(&p, 1, 1);
        meter_tick(&m);
        if (r <= 0)
            continue;
        if (!fgets(line, sizeof(line), stdin) || !strncmp(line, "quit", 4))
            break;
        if (!strncmp(line, "reset", 5)) {
            atomic_store(&max_gap_ns, 0);
            atomic_store(&max_stopped_ns, 0);
            atomic_store(&ngaps, 0);
            atomic_fetch_add(&generation, 1);
            printf("reset\n");
        } else if (!strncmp(line, "max", 3)) {
            printf("max_gap_us=%ld max_stopped_us=%ld gaps=%ld\n", atomic_load(&max_gap_ns) / 1000,
                   atomic_load(&max_stopped_ns) / 1000, atomic_load(&ngaps));
        }
        fflush(stdout);
    }
    return 0;
}
