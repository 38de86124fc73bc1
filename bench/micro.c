/*
 * micro.c - micro-benchmarks of the calls the shim interposes.
 *
 *   micro MODE ITERATIONS
 *
 * MODE is one of
 *   socket    socket(AF_INET, SOCK_STREAM) + close(), one thread
 *   socket2   the same in two threads at once, ITERATIONS each
 *   accept    socket + connect to a loopback listener + accept + close both
 *   dup       dup() of a TCP socket + close() of the copy
 *   open      open() of a regular file + close(): the untracked fast path
 *   read      read() of 64 bytes from a pipe kept full (a 64 KiB write every 1024 reads)
 *   recv      recv() of 64 bytes from a loopback TCP connection kept full the same way
 *             (16 KiB sent every 256): a tracked stream socket that returns data
 *
 * Each run does ITERATIONS/10 untimed iterations first (MICRO_WARMUP=K: 2K), in two
 * halves (the shim's lazy start-up, the first stack captures, the kernel's caches), each
 * followed by a pause of 50 ms (MICRO_PAUSE_MS; the steady state of a service: the
 * shim's background thread has had a moment to make its unwinding rules; under
 * valgrind, which runs one thread at a time, it would otherwise wait for the end), then
 * times ITERATIONS iterations with CLOCK_MONOTONIC and CLOCK_PROCESS_CPUTIME_ID, and prints one line:
 *   MODE ITERATIONS WALL_NS WALL_NS_PER_ITERATION CPU_NS CPU_NS_PER_ITERATION
 * CPU time (user + system, all threads) leaves out the time the process waited for a
 * CPU, which on a shared machine is most of the noise; it still counts spinning on a
 * contended lock.
 * With MICRO_IDLE_THREAD=1 in the environment a second thread, which only sleeps, is
 * started first: a native baseline for a process that has the shim's thread (glibc
 * brackets each cancellable call, close, read and recv among them, with two atomic
 * updates once a process has more than one thread). Like the shim's thread (option
 * own_fd_table), it leaves the process's fd table for a copy of its own first, so that
 * the kernel's table stays unshared: a thread that shared it would add the kernel's
 * reference counting of the file behind every fd argument, which the shim does not.
 * The program is the same with and without the shim; run.py decides what is preloaded.
 * Any failed call ends the program with exit status 1 and a message on stderr.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h> /* a no-op outside valgrind */
#else
#define CALLGRIND_TOGGLE_COLLECT
#endif

#define CHECK(cond)                                                                           \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            fprintf(stderr, "micro: %s:%d: %s failed: %s\n", __FILE__, __LINE__, #cond,       \
                    strerror(errno));                                                         \
            exit(1);                                                                          \
        }                                                                                     \
    } while (0)

static long long clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long now_ns(void)
{
    return clock_ns(CLOCK_MONOTONIC);
}

static long long cpu_ns(void) /* every thread of the process, user + system */
{
    return clock_ns(CLOCK_PROCESS_CPUTIME_ID);
}

/* ---- the workloads: each runs n iterations ---- */

static void socket_close(long n)
{
    for (long i = 0; i < n; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        CHECK(fd >= 0);
        CHECK(close(fd) == 0);
    }
}

static int listener = -1;
static struct sockaddr_in listen_addr;

static void make_listener(void)
{
    listener = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(listener >= 0);
    memset(&listen_addr, 0, sizeof(listen_addr));
    listen_addr.sin_family = AF_INET;
    listen_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(listen_addr);
    CHECK(bind(listener, (struct sockaddr *)&listen_addr, len) == 0);
    CHECK(listen(listener, 128) == 0);
    CHECK(getsockname(listener, (struct sockaddr *)&listen_addr, &len) == 0);
}

/* The client closes first, so TIME_WAIT stays on the client's side of loopback,
 * where the kernel reuses it (net.ipv4.tcp_tw_reuse=2, the default). */
static void accept_connect_close(long n)
{
    for (long i = 0; i < n; i++) {
        int c = socket(AF_INET, SOCK_STREAM, 0);
        CHECK(c >= 0);
        CHECK(connect(c, (struct sockaddr *)&listen_addr, sizeof(listen_addr)) == 0);
        int a = accept(listener, NULL, NULL);
        CHECK(a >= 0);
        CHECK(close(c) == 0);
        CHECK(close(a) == 0);
    }
}

static int dup_source = -1;

static void dup_close(long n)
{
    for (long i = 0; i < n; i++) {
        int fd = dup(dup_source);
        CHECK(fd >= 0);
        CHECK(close(fd) == 0);
    }
}

static char file_path[256];

static void open_close(long n)
{
    for (long i = 0; i < n; i++) {
        int fd = open(file_path, O_RDONLY);
        CHECK(fd >= 0);
        CHECK(close(fd) == 0);
    }
}

/* read/recv: n reads of 64 bytes from rfd, which wfd refills a chunk at a time when
 * it is empty (the write is amortized over the reads it feeds) */
static int rfd = -1, wfd = -1;
static size_t chunk;
static long left; /* reads before the next refill */

static void refill(void)
{
    static char buf[65536];
    for (size_t done = 0; done < chunk;) {
        ssize_t w = write(wfd, buf + done, chunk - done);
        CHECK(w > 0);
        done += (size_t)w;
    }
    left = (long)(chunk / 64);
}

static void pipe_read(long n)
{
    char buf[64];
    for (long i = 0; i < n; i++, left--) {
        if (!left)
            refill();
        CHECK(read(rfd, buf, sizeof(buf)) == 64);
    }
}

static void socket_recv(long n)
{
    char buf[64];
    for (long i = 0; i < n; i++, left--) {
        if (!left)
            refill();
        CHECK(recv(rfd, buf, sizeof(buf), MSG_WAITALL) == 64);
    }
}

static sem_t idle_ready;

static void *sleep_forever(void *arg)
{
    (void)arg;
    CHECK(unshare(CLONE_FILES) == 0);
    sem_post(&idle_ready);
    for (;;)
        pause();
    return NULL;
}

/* ---- two threads ---- */

static pthread_barrier_t start_line;
static long per_thread;

static void *socket_thread(void *arg)
{
    (void)arg;
    socket_close(per_thread / 10);
    pthread_barrier_wait(&start_line);
    socket_close(per_thread);
    return NULL;
}

static long long cpu_start;

static long long two_threads(long n)
{
    pthread_t t[2];
    per_thread = n;
    CHECK(pthread_barrier_init(&start_line, NULL, 3) == 0);
    for (int i = 0; i < 2; i++)
        CHECK(pthread_create(&t[i], NULL, socket_thread, NULL) == 0);
    pthread_barrier_wait(&start_line);
    long long t0 = now_ns();
    cpu_start = cpu_ns();
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    return now_ns() - t0;
}

/* The start (end = 0) or end of a phase: the timed one starts the clocks, and
 * bench/profile.py has callgrind count its iterations only; the others pause after. */
static __attribute__((noinline, noclone)) void phase_edge(int timed, int end, const struct timespec *pause,
                                                          long long *t0)
{
    if (timed && !end) {
        *t0 = now_ns();
        cpu_start = cpu_ns();
    }
    if (timed)
        CALLGRIND_TOGGLE_COLLECT;
    else if (end)
        nanosleep(pause, NULL);
}

/* One phase: n iterations of work, through one call site whatever the phase (no branch
 * here, and a call, never a jump: the same frames in every phase). */
static __attribute__((noinline, noclone)) void one_phase(void (*work)(long), long n, int timed,
                                                         const struct timespec *pause, long long *t0)
{
    phase_edge(timed, 0, pause, t0);
    work(n);
    phase_edge(timed, 1, pause, t0);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: micro socket|socket2|accept|dup|open|read|recv ITERATIONS\n");
        return 2;
    }
    const char *mode = argv[1];
    long n = atol(argv[2]);
    if (getenv("MICRO_IDLE_THREAD")) {
        pthread_t t;
        CHECK(sem_init(&idle_ready, 0, 0) == 0);
        CHECK(pthread_create(&t, NULL, sleep_forever, NULL) == 0);
        while (sem_wait(&idle_ready) != 0)
            CHECK(errno == EINTR);
    }
    void (*work)(long) = NULL;
    if (!strcmp(mode, "socket")) {
        work = socket_close;
    } else if (!strcmp(mode, "accept")) {
        make_listener();
        work = accept_connect_close;
    } else if (!strcmp(mode, "dup")) {
        dup_source = socket(AF_INET, SOCK_STREAM, 0);
        CHECK(dup_source >= 0);
        work = dup_close;
    } else if (!strcmp(mode, "open")) {
        const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
        snprintf(file_path, sizeof(file_path), "%s/sockleak-micro.XXXXXX", dir);
        int fd = mkstemp(file_path);
        CHECK(fd >= 0);
        CHECK(write(fd, "x", 1) == 1);
        CHECK(close(fd) == 0);
        work = open_close;
    } else if (!strcmp(mode, "read")) {
        int p[2];
        CHECK(pipe(p) == 0);
        rfd = p[0], wfd = p[1], chunk = 65536; /* a pipe holds 64 KiB */
        work = pipe_read;
    } else if (!strcmp(mode, "recv")) {
        make_listener();
        wfd = socket(AF_INET, SOCK_STREAM, 0);
        CHECK(wfd >= 0 && connect(wfd, (struct sockaddr *)&listen_addr, sizeof(listen_addr)) == 0);
        rfd = accept(listener, NULL, NULL);
        CHECK(rfd >= 0);
        chunk = 16384; /* well within loopback's socket buffers */
        work = socket_recv;
    } else if (strcmp(mode, "socket2") != 0) {
        fprintf(stderr, "micro: unknown mode %s\n", mode);
        return 2;
    }

    long long ns;
    if (work) {
        const char *ms = getenv("MICRO_PAUSE_MS"); /* bench/profile.py: longer under valgrind */
        long pause_ms = ms ? atol(ms) : 50;
        const char *wu = getenv("MICRO_WARMUP"); /* bench/profile.py: the same in runs of any length */
        long warmup = wu ? atol(wu) : n / 20;
        struct timespec pause = { pause_ms / 1000, pause_ms % 1000 * 1000000 };
        long long t0 = 0;
        /* warm-up, pause, timed: all three through one call site (one_phase), so that
         * the timed run meets only the stacks the warm-up made (the same return
         * addresses, whose unwinding rules the shim's thread made during the pauses) */
        long iters[3] = { warmup, warmup, n };
        for (int phase = 0; phase < 3; phase++) {
            __asm__ volatile("" : "+r"(phase)); /* opaque: one loop body, not one per phase */
            one_phase(work, iters[phase], phase == 2, &pause, &t0);
        }
        ns = now_ns() - t0;
    } else {
        ns = two_threads(n);
    }
    long long cpu = cpu_ns() - cpu_start;
    if (file_path[0])
        unlink(file_path);
    printf("%s %ld %lld %.1f %lld %.1f\n", mode, n, ns, (double)ns / (double)n, cpu, (double)cpu / (double)n);
    return 0;
}
