/*
 * floor_probe.c - the least a socket()/close() interposer can do and still keep what
 * sockleak's reports stand on: a measuring stick for issue 16's bookkeeping target, not
 * sockleak. `make bench` preloads it into bench/micro beside the shim (rows 1 and 8).
 *
 * What it keeps, per socket, as the shim does with stack_depth=0: the creation time
 * (CLOCK_MONOTONIC_COARSE), a generation from one counter, the thread, family, type and
 * protocol, the open and close counts of the socket's stack id, a byte of state per fd
 * number (so that every other close pays one load), and the closing window of a close.
 * What it tests, as the shim must, folded as tightly as they fold: the process-wide
 * reasons for a slow path (core not up, a vfork/clone(CLONE_VM) child about,
 * max_tracked, stacks wanted, the worker not started, max_sockets, Python) in one word;
 * a thread's first socket; a number still recorded (closed behind the interposer's
 * back); the fd triggers; at close, a socket a report flagged or a scan adopted (a bit
 * of its state byte) and the record's generation. What it leaves out, all of which the
 * shim has: the stack, every slow path (each just lets the call through unrecorded),
 * the re-entry guard's increments (it calls nothing that could re-enter), the
 * protection of the shim's own fds, the directory that lets records go to any fd
 * number (here a flat array below 65536), and any lock: a record is published at create
 * by storing its generation last and claimed at close by one compare-and-swap of it,
 * the cheapest way a scan could still read a record whole. It starts an idle thread as
 * the shim has one, so glibc's multi-thread close is in its figures as in the shim's.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAXFD 65536
#define EXPORT __attribute__((visibility("default")))
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#define W_WATCH 1u
#define W_CLOSING 2u
#define W_SLOW 4u /* flagged by a report, or adopted by a scan: its close takes the slow path */

struct rec {
    _Atomic uint64_t gen; /* 0: free */
    int64_t created_ns;
    uint32_t stack;
    int tid;
    uint64_t meta; /* protocol, origin, type, family, state, leak, flags */
    char rest[32];
} __attribute__((aligned(64)));

static struct rec recs[MAXFD];
static _Atomic uint8_t fdstate[MAXFD];
static _Atomic uint64_t last_gen;
static struct {
    _Atomic long opened, closed;
} counts[65536];
static __thread int tid __attribute__((tls_model("initial-exec")));
static _Atomic int slow_mask = 1; /* every process-wide reason for the slow path */
static long trigger_fds_at = MAXFD;
static int (*real_socket)(int, int, int);
static int (*real_close)(int);

static void *idle(void *arg)
{
    (void)arg;
    for (;;)
        pause();
    return NULL;
}

__attribute__((constructor)) static void init(void)
{
    real_socket = (int (*)(int, int, int))dlsym(RTLD_NEXT, "socket");
    real_close = (int (*)(int))dlsym(RTLD_NEXT, "close");
    pthread_t t;
    if (pthread_create(&t, NULL, idle, NULL) == 0)
        slow_mask = 0;
}

/* every slow path: the socket goes unrecorded (a thread's first socket learns its tid) */
static __attribute__((noinline)) int slow_create(int fd)
{
    if (fd >= 0 && !tid)
        tid = (int)syscall(SYS_gettid);
    return fd;
}

EXPORT int socket(int domain, int type, int protocol)
{
    uint64_t meta = (uint64_t)(uint8_t)domain << 32 | (uint64_t)(type & 0xf) << 24 | (uint16_t)protocol;
    int fd = real_socket(domain, type, protocol);
    if (UNLIKELY((unsigned)fd >= MAXFD) || UNLIKELY(atomic_load_explicit(&slow_mask, memory_order_relaxed))
        || UNLIKELY(!tid))
        return slow_create(fd);
    struct rec *r = &recs[fd];
    if (UNLIKELY(atomic_load_explicit(&r->gen, memory_order_relaxed) != 0))
        return slow_create(fd); /* a stale record */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    r->created_ns = ts.tv_sec * 1000000000LL + ts.tv_nsec;
    r->stack = 0;
    r->tid = tid;
    r->meta = meta;
    atomic_store_explicit(&r->gen, atomic_fetch_add_explicit(&last_gen, 1, memory_order_relaxed) + 1,
                          memory_order_release);
    atomic_store_explicit(&fdstate[fd], W_WATCH, memory_order_relaxed);
    atomic_fetch_add_explicit(&counts[0].opened, 1, memory_order_relaxed);
    if (UNLIKELY(fd + 1L >= trigger_fds_at))
        return slow_create(fd);
    return fd;
}

EXPORT int close(int fd)
{
    unsigned b = (unsigned)fd < MAXFD ? atomic_load_explicit(&fdstate[fd], memory_order_relaxed) : 0;
    if (!(b & W_WATCH))
        return real_close(fd);
    struct rec *r = &recs[fd];
    uint64_t g = atomic_load_explicit(&r->gen, memory_order_relaxed);
    if (UNLIKELY(b & W_SLOW) || UNLIKELY(atomic_load_explicit(&slow_mask, memory_order_relaxed)) || UNLIKELY(!tid)
        || UNLIKELY(!g))
        return real_close(fd);
    uint32_t stack = r->stack;
    if (atomic_compare_exchange_strong(&r->gen, &g, 0)) {
        atomic_store_explicit(&fdstate[fd], W_CLOSING, memory_order_relaxed);
        atomic_fetch_add_explicit(&counts[stack & 0xffff].closed, 1, memory_order_relaxed);
    }
    int rc = real_close(fd);
    atomic_fetch_and_explicit(&fdstate[fd], (uint8_t)~W_CLOSING, memory_order_relaxed);
    return rc;
}
