/*
 * scale.c - many live TCP sockets: the shim's memory per socket, its CLOSE_WAIT scan,
 * and the time to write a report.
 *
 *   scale hold PAIRS           make PAIRS connected loopback pairs, print "ready", then
 *                              hold them until standard input is closed
 *   scale measure PAIRS        make PAIRS pairs and measure; prints one line of
 *                              key=value figures
 *
 * A pair is a client socket connected to this process's own listener and the socket
 * accept() returned for it: both ends live here, so PAIRS pairs are 2*PAIRS+1 live TCP
 * sockets with the listener. The kernel allows one process fewer fds than 100,000
 * sockets need, so run.py starts helpers ("hold") for the rest.
 *
 * "measure" prints
 *   sockets    live TCP sockets in this process
 *   rss0_kb    resident memory with only the listener open
 *   rss1_kb    the same after making the pairs
 *   rss2_kb    the same after the background scans below (the steady state)
 *   rss3_kb    the same after the reports below (their buffers, kept by malloc)
 *   create_ns  time to make the pairs
 *   kernel_tcp TCP sockets in use in the whole kernel then (/proc/net/sockstat), helpers
 *              included
 *   kernel_tw  TCP connections in TIME_WAIT in the whole kernel then
 * and, when the shim is loaded (sockleak_report, a weak symbol, is not NULL):
 *   scan_ns    median wall time of SCANS calls to sockleak_scan(): one CLOSE_WAIT scan,
 *              what the shim's thread does every scan_interval, run in this thread
 *   rss2 comes after SETTLE_MS of background scans (run with scan_interval well below)
 *   report_ns  median time of REPORTS calls to sockleak_report() (format and log_path
 *              come from SOCKLEAK_OPTIONS)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sockleak.h"

#define SETTLE_MS 2200    /* of background scans before rss2: several scan intervals */
#define SCANS 5
#define REPORTS 3

#define CHECK(cond)                                                                           \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            fprintf(stderr, "scale: %s:%d: %s failed: %s\n", __FILE__, __LINE__, #cond,       \
                    strerror(errno));                                                         \
            exit(1);                                                                          \
        }                                                                                     \
    } while (0)

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static long rss_kb(void)
{
    long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "re");
    CHECK(f);
    CHECK(fscanf(f, "%ld %ld", &size, &resident) == 2);
    fclose(f);
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* "TCP: inuse N orphan O tw T ..." from /proc/net/sockstat: every process's TCP
 * sockets, and the connections in TIME_WAIT (which a sock_diag dump walks too). */
static long kernel_tcp_inuse(long *tw)
{
    char line[256];
    long n = -1, o;
    *tw = -1;
    FILE *f = fopen("/proc/net/sockstat", "re");
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "TCP: inuse %ld orphan %ld tw %ld", &n, &o, tw) >= 1)
            break;
    fclose(f);
    return n;
}

static int make_listener(struct sockaddr_in *addr)
{
    int l = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(l >= 0);
    memset(addr, 0, sizeof(*addr));
    addr->sin_family = AF_INET;
    addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(*addr);
    CHECK(bind(l, (struct sockaddr *)addr, len) == 0);
    CHECK(listen(l, 1024) == 0);
    CHECK(getsockname(l, (struct sockaddr *)addr, &len) == 0);
    return l;
}

static void make_pairs(int listener, const struct sockaddr_in *addr, long pairs)
{
    for (long i = 0; i < pairs; i++) {
        int c = socket(AF_INET, SOCK_STREAM, 0);
        CHECK(c >= 0);
        CHECK(connect(c, (const struct sockaddr *)addr, sizeof(*addr)) == 0);
        CHECK(accept(listener, NULL, NULL) >= 0);
        /* reset at exit, not closed: no TIME_WAIT left for the next measurement's scans */
        struct linger lg = { 1, 0 };
        CHECK(setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) == 0);
    }
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

static void measure(long pairs)
{
    struct sockaddr_in addr;
    int l = make_listener(&addr);
    sleep_ms(50); /* the shim's thread has started with the first socket */
    long rss0 = rss_kb();
    long long t0 = now_ns();
    make_pairs(l, &addr, pairs);
    long long create = now_ns() - t0;
    long rss1 = rss_kb();
    long tw, tcp = kernel_tcp_inuse(&tw);
    printf("sockets=%ld rss0_kb=%ld rss1_kb=%ld create_ns=%lld kernel_tcp=%ld kernel_tw=%ld", 2 * pairs + 1, rss0, rss1,
           create, tcp, tw);
    if (sockleak_report) {
        sleep_ms(SETTLE_MS);
        long rss2 = rss_kb();
        long long st[SCANS];
        for (int i = 0; i < SCANS; i++) {
            long long s = now_ns();
            CHECK(sockleak_scan() == 0);
            st[i] = now_ns() - s;
        }
        qsort(st, SCANS, sizeof(st[0]), cmp_ll);
        printf(" scan_ns=%lld rss2_kb=%ld", st[SCANS / 2], rss2);
        long long t[REPORTS];
        for (int i = 0; i < REPORTS; i++) {
            long long s = now_ns();
            CHECK(sockleak_report() == 0);
            t[i] = now_ns() - s;
        }
        qsort(t, REPORTS, sizeof(t[0]), cmp_ll);
        printf(" report_ns=%lld rss3_kb=%ld", t[REPORTS / 2], rss_kb());
    } else {
        printf(" rss2_kb=%ld", rss_kb()); /* without the shim, nothing changes with time */
    }
    printf("\n");
}

static void hold(long pairs)
{
    struct sockaddr_in addr;
    int l = make_listener(&addr);
    make_pairs(l, &addr, pairs);
    printf("ready %ld\n", 2 * pairs + 1);
    fflush(stdout);
    char c;
    while (read(0, &c, 1) > 0)
        ;
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[1], "hold") && strcmp(argv[1], "measure"))) {
        fprintf(stderr, "usage: scale hold|measure PAIRS\n");
        return 2;
    }
    /* every fd the hard limit allows (fresh systems start with a soft limit of 1024) */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    long pairs = atol(argv[2]);
    if (!strcmp(argv[1], "hold"))
        hold(pairs);
    else
        measure(pairs);
    return 0;
}
