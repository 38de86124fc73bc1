/*
 * fdtable.c - the registry of live socket fds.
 *
 * A lock-striped hash table: fd -> record, STRIPES uthash tables, the stripe chosen by
 * the fd's low bits, so threads working on different fds rarely meet. Invariants:
 *   - a record exists for fd only while the host holds fd open as the socket recorded
 *     (as far as the shim saw): wrappers detach before the real close and create after
 *     the real call returned a new fd;
 *   - a create that finds its fd number still in the table means the old socket was
 *     closed behind our back (fclose on an fdopen'd socket, glibc internals, raw
 *     syscalls): the old record is replaced and counted as stale;
 *   - no stripe lock is held across a system call, nor across malloc: records and
 *     uthash's buckets come from a small mmap-backed allocator, so the verbs are safe
 *     to run from a signal handler that interrupted anything but the shim itself (the
 *     per-thread guard turns those re-entries into pass-through);
 *   - the watch bitmap has a bit set for every tracked fd and every private fd, so
 *     close() of any other fd costs one relaxed load;
 *   - every stripe's table holds a sentinel record (a negative fd no caller uses), so
 *     uthash never frees and re-allocates a table that empties and fills again, which
 *     a process holding one socket at a time would otherwise do at every close;
 *   - a close costs one lock round trip: the record leaves the table under the lock
 *     before the real close, and after it is returned to its stripe's spares through a
 *     lock-free push (an atomic list that the next allocation under the lock takes
 *     whole, so no pop can meet an ABA).
 * Each record carries a generation number, unique per record, so the scanner and the
 * reporter can probe outside the lock and write back only to the record they probed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

/* ---- a tiny allocator: size classes carved from mmap'd slabs ---- */

#define SLAB_SIZE (64 * 1024)
#define MIN_CLASS 6  /* 64 bytes */
#define MAX_CLASS 12 /* 4096 bytes; larger requests are mmap'd directly */

struct free_node {
    struct free_node *next;
};
static pthread_mutex_t mem_lock = PTHREAD_MUTEX_INITIALIZER;
static struct free_node *free_class[MAX_CLASS + 1];
static char *slab_cur, *slab_end;

static int size_class(size_t sz)
{
    int c = MIN_CLASS;
    while (((size_t)1 << c) < sz)
        c++;
    return c;
}

/* Carve n bytes from the current slab; mem_lock held. */
static void *carve(size_t n)
{
    if (!slab_cur || (size_t)(slab_end - slab_cur) < n) {
        void *p = mmap(NULL, SLAB_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return NULL;
        slab_cur = p;
        slab_end = slab_cur + SLAB_SIZE;
    }
    void *r = slab_cur;
    slab_cur += n;
    return r;
}

static void *mem_alloc(size_t sz)
{
    if (sz > ((size_t)1 << MAX_CLASS)) {
        void *p = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        return p == MAP_FAILED ? NULL : p;
    }
    int c = size_class(sz);
    pthread_mutex_lock(&mem_lock);
    void *r = free_class[c];
    if (r)
        free_class[c] = free_class[c]->next;
    else
        r = carve((size_t)1 << c);
    pthread_mutex_unlock(&mem_lock);
    return r;
}

static void mem_free(void *p, size_t sz)
{
    if (!p)
        return;
    if (sz > ((size_t)1 << MAX_CLASS)) {
        munmap(p, sz);
        return;
    }
    int c = size_class(sz);
    pthread_mutex_lock(&mem_lock);
    struct free_node *n = p;
    n->next = free_class[c];
    free_class[c] = n;
    pthread_mutex_unlock(&mem_lock);
}

/* uthash: our allocator, int hashing with good low bits, no exit() on OOM */
static __thread int hash_oom __attribute__((tls_model("initial-exec")));
#define uthash_malloc(sz) mem_alloc(sz)
#define uthash_free(ptr, sz) mem_free(ptr, sz)
#define HASH_NONFATAL_OOM 1
#define uthash_nonfatal_oom(obj) (hash_oom = 1)
#define HASH_FUNCTION(keyptr, keylen, hashv)                                                 \
    do {                                                                                     \
        uint32_t h_ = (uint32_t)(*(const int *)(keyptr));                                    \
        h_ ^= h_ >> 16;                                                                      \
        h_ *= 0x85ebca6bu;                                                                   \
        h_ ^= h_ >> 13;                                                                      \
        h_ *= 0xc2b2ae35u;                                                                   \
        h_ ^= h_ >> 16;                                                                      \
        (hashv) = h_;                                                                        \
    } while (0)
#include <uthash.h>

struct sl_rec {
    UT_hash_handle hh;
    struct sl_rec_info info;
};
/* Out of the table, a record's hh.next links it into detach and spare lists. */
#define LINK(r) (*(struct sl_rec **)&(r)->hh.next)

/* ---- stripe locks ----
 * Held for a table operation of a few dozen nanoseconds, never across a system call or
 * malloc, so a test-and-set lock serves: one compare-and-swap to take it, a plain store
 * to give it back (pthread_mutex costs four times the instructions, and an atomic
 * exchange to unlock, on a path that runs twice per socket). A contended locker spins
 * briefly, then yields its CPU, then sleeps in short naps, so a holder that was
 * preempted runs again even when the waiter has a real-time priority. */

struct sl_lock {
    _Atomic int v;
};

static __attribute__((noinline)) void lock_slow(struct sl_lock *l)
{
    for (unsigned i = 0;; i++) {
        int c = 0;
        if (atomic_load_explicit(&l->v, memory_order_relaxed) == 0
            && atomic_compare_exchange_weak_explicit(&l->v, &c, 1, memory_order_acquire, memory_order_relaxed))
            return;
        if (i < 128) {
            __builtin_ia32_pause();
        } else if (i < 160) {
            syscall(SYS_sched_yield); /* cannot fail: errno untouched */
        } else {
            struct timespec nap = { 0, 50 * 1000 };
            int e = errno;
            syscall(SYS_nanosleep, &nap, NULL);
            errno = e;
        }
    }
}

static inline void lock(struct sl_lock *l)
{
    int c = 0;
    if (SL_UNLIKELY(!atomic_compare_exchange_strong_explicit(&l->v, &c, 1, memory_order_acquire, memory_order_relaxed)))
        lock_slow(l);
}

static inline bool trylock(struct sl_lock *l)
{
    int c = 0;
    return atomic_compare_exchange_strong_explicit(&l->v, &c, 1, memory_order_acquire, memory_order_relaxed);
}

static inline void unlock(struct sl_lock *l)
{
    atomic_store_explicit(&l->v, 0, memory_order_release);
}

/* ---- stripes ---- */

#define STRIPES 32
struct stripe {
    struct sl_lock lock;
    struct sl_rec *head;   /* uthash table, with the sentinel once the first record came */
    struct sl_rec *free;   /* spare records */
    _Atomic(struct sl_rec *) returned; /* records freed without the lock, taken whole */
    uint64_t gen;
    _Atomic long live;     /* records in head, readable without the lock */
    long opened, closed, stale;
} __attribute__((aligned(64)));

static struct stripe stripes[STRIPES];
static struct sl_rec sentinel[STRIPES];

static inline bool is_sentinel(const struct sl_rec *r)
{
    return r->info.fd < 0;
}

/* Stripe lock held: records in the table, the sentinel left out. */
static inline long count_locked(const struct stripe *s)
{
    return s->head ? (long)HASH_COUNT(s->head) - 1 : 0;
}

struct sl_counters sl_count;

static inline struct stripe *stripe_of(int fd)
{
    return &stripes[(unsigned)fd % STRIPES];
}

/* ---- fd state map ----
 * Four bits per fd number, sixteen numbers per word, so that every change a create or a
 * close makes is one atomic update of one word:
 *   WATCH    tracked, or private: close() & co must take their slow path;
 *   CLOSING  detached, the real close under way: a scan must not adopt it as unseen;
 *   CLOSED   the last tracked socket on this number was closed by a close we saw: a
 *            close that then fails with EBADF is a double close. */

#define ST_WATCH 1u
#define ST_CLOSING 2u
#define ST_CLOSED 4u
#define ST_WATCH_BITS 0x1111111111111111ull

static _Atomic uint64_t *fdmap;   /* nwatch / 16 words */
static unsigned nwatch;
static _Atomic int watch_hi = -1; /* highest fd ever watched */

static inline unsigned st_get(int fd)
{
    return (unsigned)(atomic_load_explicit(&fdmap[(unsigned)fd >> 4], memory_order_relaxed) >> (((unsigned)fd & 15) * 4)) & 15;
}

/* fd's bits become (bits & ~clear) | set, in one atomic step. */
static void st_update(int fd, unsigned clear, unsigned set)
{
    if (fd < 0 || !fdmap || (unsigned)fd >= nwatch)
        return;
    _Atomic uint64_t *w = &fdmap[(unsigned)fd >> 4];
    unsigned sh = ((unsigned)fd & 15) * 4;
    uint64_t old = atomic_load_explicit(w, memory_order_relaxed), nw;
    do {
        nw = (old & ~((uint64_t)clear << sh)) | ((uint64_t)set << sh);
        if (nw == old)
            break;
    } while (!atomic_compare_exchange_weak(w, &old, nw));
    if (set & ST_WATCH) {
        int hi = atomic_load_explicit(&watch_hi, memory_order_relaxed);
        while (fd > hi && !atomic_compare_exchange_weak(&watch_hi, &hi, fd))
            ;
    }
}

bool sl_fd_watched(int fd)
{
    if (fd < 0)
        return false;
    if (SL_UNLIKELY(!fdmap) || (unsigned)fd >= nwatch)
        return true; /* unknown: take the slow path */
    return st_get(fd) & ST_WATCH;
}

void sl_fd_watch_set(int fd, bool on)
{
    st_update(fd, on ? 0 : ST_WATCH, on ? ST_WATCH : 0);
}

bool sl_fd_busy(int fd)
{
    if (fd < 0)
        return false;
    if (!fdmap || (unsigned)fd >= nwatch)
        return true;
    return st_get(fd) & (ST_WATCH | ST_CLOSING);
}

/* Under fd's stripe lock: could the table hold a record for fd? Records and WATCH bits
 * change together under that lock, so a clear bit is a sure no. */
static inline bool may_hold_record(int fd)
{
    return !fdmap || fd < 0 || (unsigned)fd >= nwatch || (st_get(fd) & ST_WATCH);
}

static bool closed_test(int fd)
{
    return fd >= 0 && fdmap && (unsigned)fd < nwatch && (st_get(fd) & ST_CLOSED);
}

static unsigned read_nr_open(void)
{
    unsigned n = 1u << 20;
    FILE *f = fopen("/proc/sys/fs/nr_open", "re");
    if (f) {
        if (fscanf(f, "%u", &n) != 1)
            n = 1u << 20;
        fclose(f);
    }
    if (n > (1u << 26))
        n = 1u << 26; /* 8 MiB of address space, touched only where fds are */
    return (n + 63) & ~63u;
}

int sl_fdtable_init(void)
{
    if (fdmap)
        return 0;
    unsigned n = read_nr_open();
    void *p = mmap(NULL, n / 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return -ENOMEM; /* every close takes the slow path; still correct */
    nwatch = n;
    fdmap = p;
    return 0;
}

/* ---- event rings: closes of reported leaks, double closes ----
 * Written from wrappers (no malloc, no lock): a writer takes a ticket with an atomic
 * add, claims the ticket's slot by marking its seq busy (a writer that finds the slot
 * busy, lapped by another RING tickets on, drops its event), stores the event, and
 * publishes the ticket in seq. The reporter reads the tickets it has not consumed,
 * as a seqlock: seq, the event, seq again; a slot overwritten or still being written
 * is counted as lost. Events are stored as atomic words, so no access is a data race
 * (ThreadSanitizer checks). */

#define RING 512
#define BUSY (1ull << 63)
#define WORDS(type) ((sizeof(type) + 7) / 8)
struct late_slot {
    _Atomic uint64_t seq;
    _Atomic uint64_t w[WORDS(struct sl_late)];
};
struct dclose_slot {
    _Atomic uint64_t seq;
    _Atomic uint64_t w[WORDS(struct sl_dclose)];
};
static struct late_slot late_ring[RING];
static struct dclose_slot dclose_ring[RING];
static _Atomic uint64_t late_head, dclose_head;
static uint64_t late_taken, dclose_taken; /* reporter only, under its lock */

static void ring_push(_Atomic uint64_t *head, void *ring, size_t slot_size, const void *ev, size_t nwords)
{
    uint64_t t = atomic_fetch_add_explicit(head, 1, memory_order_relaxed);
    char *slot = (char *)ring + (t % RING) * slot_size;
    _Atomic uint64_t *seq = (_Atomic uint64_t *)slot, *w = seq + 1;
    uint64_t cur = atomic_load_explicit(seq, memory_order_relaxed);
    if ((cur & BUSY) || !atomic_compare_exchange_strong(seq, &cur, (t + 1) | BUSY))
        return; /* another writer is in this slot: the reporter counts the ticket lost */
    uint64_t buf[4] = { 0, 0, 0, 0 };
    memcpy(buf, ev, nwords * 8 <= sizeof(buf) ? nwords * 8 : sizeof(buf));
    for (size_t i = 0; i < nwords; i++)
        atomic_store_explicit(&w[i], buf[i], memory_order_relaxed);
    atomic_store_explicit(seq, t + 1, memory_order_release);
}

static size_t ring_take(_Atomic uint64_t *head, uint64_t *taken, void *ring, size_t slot_size, size_t nwords,
                        void *out, size_t ev_size, size_t max, long *lost)
{
    uint64_t end = atomic_load_explicit(head, memory_order_acquire);
    size_t n = 0;
    if (end - *taken > RING) {
        *lost += (long)(end - *taken - RING);
        *taken = end - RING;
    }
    for (; *taken < end; (*taken)++) {
        char *slot = (char *)ring + (*taken % RING) * slot_size;
        _Atomic uint64_t *seq = (_Atomic uint64_t *)slot, *w = seq + 1;
        uint64_t s1 = atomic_load_explicit(seq, memory_order_acquire);
        uint64_t buf[4] = { 0, 0, 0, 0 };
        for (size_t i = 0; i < nwords && i < 4; i++)
            buf[i] = atomic_load_explicit(&w[i], memory_order_relaxed);
        atomic_thread_fence(memory_order_acquire);
        uint64_t s2 = atomic_load_explicit(seq, memory_order_relaxed);
        if (s1 != *taken + 1 || s2 != s1 || n >= max) {
            (*lost)++; /* overwritten, still being written, or no room */
            continue;
        }
        memcpy((char *)out + n * ev_size, buf, ev_size);
        n++;
    }
    return n;
}

#define RING_PUSH(ring, head, value)                                                        \
    do {                                                                                    \
        typeof(value) v_ = (value);                                                         \
        _Static_assert(WORDS(typeof(v_)) <= 4, "ring events are at most 4 words");         \
        ring_push(&(head), (ring), sizeof((ring)[0]), &v_, WORDS(typeof(v_)));              \
    } while (0)

#define RING_TAKE(ring, head, taken, out, max, lost)                                        \
    ring_take(&(head), &(taken), (ring), sizeof((ring)[0]), WORDS(*(out)), (out), sizeof(*(out)), (max), (lost))

size_t sl_fd_take_closed_late(struct sl_late *out, size_t max, long *lost)
{
    return RING_TAKE(late_ring, late_head, late_taken, out, max, lost);
}

size_t sl_fd_take_double_closes(struct sl_dclose *out, size_t max, long *lost)
{
    return RING_TAKE(dclose_ring, dclose_head, dclose_taken, out, max, lost);
}

void sl_fd_bad_close(int fd)
{
    if (!closed_test(fd))
        return; /* never ours: a plain EBADF */
    sl_guard_enter();
    atomic_fetch_add_explicit(&sl_count.double_closes, 1, memory_order_relaxed);
    struct sl_dclose ev = { .fd = fd, .stack = sl_stack_capture() };
    RING_PUSH(dclose_ring, dclose_head, ev);
    sl_guard_leave();
}

/* ---- records ---- */

static long live_total(void)
{
    long n = 0;
    for (int i = 0; i < STRIPES; i++)
        n += atomic_load_explicit(&stripes[i].live, memory_order_relaxed);
    return n;
}

/* Stripe lock held: publish the table size for lock-free readers. */
static inline void note_count(struct stripe *s)
{
    atomic_store_explicit(&s->live, count_locked(s), memory_order_relaxed);
}

/* Stripe lock held: the table exists and holds its sentinel. False if out of memory. */
static bool table_ready(struct stripe *s)
{
    if (SL_LIKELY(s->head != NULL))
        return true;
    struct sl_rec *z = &sentinel[s - stripes];
    z->info.fd = INT_MIN + (int)(s - stripes);
    hash_oom = 0;
    HASH_ADD(hh, s->head, info.fd, sizeof(int), z);
    if (hash_oom) {
        hash_oom = 0;
        s->head = NULL;
        return false;
    }
    return true;
}

/* Stripe lock held. */
static struct sl_rec *rec_alloc(struct stripe *s)
{
    struct sl_rec *r = s->free;
    if (!r)
        r = s->free = atomic_exchange_explicit(&s->returned, NULL, memory_order_acquire);
    if (r) {
        s->free = LINK(r);
    } else {
        pthread_mutex_lock(&mem_lock);
        r = carve(sizeof(struct sl_rec));
        pthread_mutex_unlock(&mem_lock);
        if (!r)
            return NULL;
    }
    return r;
}

/* Stripe lock held. */
static void rec_free(struct stripe *s, struct sl_rec *r)
{
    LINK(r) = s->free;
    s->free = r;
}

/* Without the lock: give r back to its stripe's spares. */
static void rec_return(struct stripe *s, struct sl_rec *r)
{
    struct sl_rec *top = atomic_load_explicit(&s->returned, memory_order_relaxed);
    do
        LINK(r) = top;
    while (!atomic_compare_exchange_weak_explicit(&s->returned, &top, r, memory_order_release,
                                                  memory_order_relaxed));
}

/* Stripe lock held: r has left the table because its fd was closed behind our back.
 * Account for it and free it. */
static void retire_locked(struct stripe *s, struct sl_rec *r)
{
    sl_stack_note(r->info.stack, false);
    s->stale++;
    rec_free(s, r);
}

/* No lock: the socket of record i is closed by a close we saw (its stripe counted it). */
static void note_closed(const struct sl_rec_info *i)
{
    sl_stack_note(i->stack, false);
    if (SL_UNLIKELY(i->origin == SL_ORIGIN_UNSEEN))
        atomic_fetch_add_explicit(&sl_count.unseen_closed, 1, memory_order_relaxed);
    if (SL_UNLIKELY(i->reported_leak)) {
        int64_t now = sl_now_ns();
        struct sl_late ev = { .fd = i->fd, .stack = i->stack, .leak = i->reported_leak,
                              .lifetime_ns = now - i->created_ns, .after_report_ns = now - i->reported_ns };
        RING_PUSH(late_ring, late_head, ev);
        atomic_fetch_add_explicit(&sl_count.closed_late, 1, memory_order_relaxed);
    }
}

/* No lock: r left the table for a close we saw; account for it and free it. */
static void retire_closed(struct sl_rec *r)
{
    note_closed(&r->info);
    rec_return(stripe_of(r->info.fd), r);
}

static void note_untracked(bool nomem)
{
    atomic_fetch_add_explicit(&sl_count.untracked, 1, memory_order_relaxed);
    if (nomem)
        atomic_fetch_add_explicit(&sl_count.nomem, 1, memory_order_relaxed);
}

/* Insert a filled-in record for info->fd, replacing a stale one. */
static void insert(const struct sl_rec_info *info)
{
    int fd = info->fd;
    struct stripe *s = stripe_of(fd);
    lock(&s->lock);
    if (SL_UNLIKELY(info->origin == SL_ORIGIN_UNSEEN) && sl_fd_busy(fd)) {
        /* The scan's own test (visit_fd), made again under the lock: a wrapper may have
         * recorded the number (or begun to close it) since the scan looked, and what the
         * scan read may already be a socket closed since; the record is the newer truth. */
        unlock(&s->lock);
        return;
    }
    if (sl_opt.max_tracked > 0 && live_total() >= sl_opt.max_tracked) {
        /* the table may still hold a stale record for this number: drop it */
        struct sl_rec *old = NULL;
        HASH_FIND(hh, s->head, &fd, sizeof(int), old);
        if (old) {
            HASH_DEL(s->head, old);
            note_count(s);
            retire_locked(s, old);
            sl_fd_watch_set(fd, false);
        }
        unlock(&s->lock);
        note_untracked(true);
        return;
    }
    struct sl_rec *old = NULL;
    if (may_hold_record(fd)) /* the common case, a number nobody tracks, skips the lookup */
        HASH_FIND(hh, s->head, &fd, sizeof(int), old);
    if (old) {
        HASH_DEL(s->head, old);
        if (old->info.origin == SL_ORIGIN_UNSEEN && info->origin != SL_ORIGIN_UNSEEN
            && info->created_ns - old->info.created_ns < 5 * SL_SEC) {
            /* a scan adopted this socket between its creation and our record of it */
            atomic_fetch_sub_explicit(&sl_count.unseen_found, 1, memory_order_relaxed);
            sl_stack_note(old->info.stack, false);
            s->opened--;
            rec_free(s, old);
        } else {
            retire_locked(s, old);
        }
    }
    struct sl_rec *r = table_ready(s) ? rec_alloc(s) : NULL;
    if (!r) {
        note_count(s);
        if (old)
            sl_fd_watch_set(fd, false);
        unlock(&s->lock);
        note_untracked(true);
        return;
    }
    r->info = *info;
    r->info.gen = ++s->gen * STRIPES + (uint64_t)(s - stripes);
    hash_oom = 0;
    HASH_ADD(hh, s->head, info.fd, sizeof(int), r);
    if (hash_oom) {
        rec_free(s, r);
        hash_oom = 0;
        note_count(s);
        if (old)
            sl_fd_watch_set(fd, false);
        unlock(&s->lock);
        note_untracked(true);
        return;
    }
    s->opened++;
    note_count(s);
    st_update(fd, ST_CLOSING | ST_CLOSED, ST_WATCH);
    sl_stack_note(info->stack, true);
    unlock(&s->lock);
    if (info->origin == SL_ORIGIN_UNSEEN)
        atomic_fetch_add_explicit(&sl_count.unseen_found, 1, memory_order_relaxed);
    sl_scanner_start(); /* first socket: now the process needs its scanner */
    sl_trigger_created(fd);
}

/* Copy fd's record (if tracked) into *out. */
static bool lookup(int fd, struct sl_rec_info *out)
{
    if (fd < 0)
        return false;
    struct stripe *s = stripe_of(fd);
    lock(&s->lock);
    struct sl_rec *r = NULL;
    HASH_FIND(hh, s->head, &fd, sizeof(int), r);
    if (r)
        *out = r->info;
    unlock(&s->lock);
    return r != NULL;
}

static void base_info(struct sl_rec_info *i, int fd, int origin)
{
    memset(i, 0, sizeof(*i));
    i->fd = fd;
    i->origin = (uint8_t)origin;
    i->created_ns = i->open_seen_ns = sl_now_coarse_ns();
    i->tid = sl_gettid();
}

/* family, type (without SOCK_CLOEXEC/SOCK_NONBLOCK) and protocol into a record */
static inline void info_set_meta(struct sl_rec_info *i, int family, int type, int proto)
{
    i->family = (uint16_t)family;
    i->type = (uint8_t)(type & 0xf);
    i->proto = (uint16_t)proto;
}

bool sl_fd_tracked(int fd)
{
    struct sl_rec_info i;
    sl_guard_enter();
    bool r = fd >= 0 && lookup(fd, &i);
    sl_guard_leave();
    return r;
}

int sl_fd_origin(int fd)
{
    if (fd < 0)
        return 0;
    /* Called on the way to writing a line, from anywhere, even a signal handler that
     * interrupted the shim on this thread with this very lock held: try the lock for a
     * while, never wait for it. -EAGAIN: could not tell. */
    struct stripe *s = stripe_of(fd);
    int origin = -EAGAIN;
    sl_guard_enter();
    for (int tries = 0; tries < 1000; tries++) {
        if (trylock(&s->lock)) {
            struct sl_rec *r = NULL;
            HASH_FIND(hh, s->head, &fd, sizeof(int), r);
            origin = r ? r->info.origin : 0;
            unlock(&s->lock);
            break;
        }
        syscall(SYS_sched_yield);
    }
    sl_guard_leave();
    return origin;
}

void sl_fd_created(int fd, int origin, int family, int type, int proto, const struct sockaddr *peer,
                   socklen_t peerlen)
{
    if (fd < 0)
        return;
    sl_guard_enter();
    struct sl_rec_info i;
    base_info(&i, fd, origin);
    info_set_meta(&i, family, type, proto);
    i.stack = sl_stack_capture();
    sl_addr_from_sockaddr(&i.peer, peer, peerlen);
    insert(&i);
    sl_guard_leave();
}

void sl_fd_accepted(int listen_fd, int fd, const struct sockaddr *peer, socklen_t peerlen)
{
    if (fd < 0)
        return;
    sl_guard_enter();
    struct sl_rec_info l, i;
    base_info(&i, fd, SL_ORIGIN_ACCEPT);
    if (lookup(listen_fd, &l)) {
        i.family = l.family;
        i.type = l.type;
        i.proto = l.proto;
    }
    if (peer && peerlen >= sizeof(sa_family_t) && (peer->sa_family == AF_INET || peer->sa_family == AF_INET6
                                                   || peer->sa_family == AF_UNIX))
        i.family = peer->sa_family;
    sl_addr_from_sockaddr(&i.peer, peer, peerlen);
    i.stack = sl_stack_capture();
    insert(&i);
    sl_guard_leave();
}

void sl_fd_dup(int oldfd, int newfd)
{
    if (newfd < 0 || oldfd == newfd)
        return;
    sl_guard_enter();
    struct sl_rec_info o;
    if (lookup(oldfd, &o)) {
        struct sl_rec_info i = o; /* same open file description: same socket and state */
        i.fd = newfd;
        i.forked = 0;
        /* but not the inode: if another thread closes newfd and a new socket takes the
         * number before this insert, a copied inode would make the report drop the new
         * socket as stale; unset, it is read from the fd itself */
        i.dev = i.ino = 0;
        i.origin = SL_ORIGIN_DUP;
        i.orig_stack = o.stack;
        i.created_ns = sl_now_coarse_ns();
        if (!i.close_wait_ns)
            i.open_seen_ns = i.created_ns;
        i.tid = sl_gettid();
        i.stack = sl_stack_capture();
        insert(&i);
    } else {
        /* oldfd is not recorded (another thread closed it after the copy was made, or
         * has not recorded it yet), but newfd may still be a socket the host holds */
        uint64_t dev, ino;
        if (sl_probe_inode(newfd, &dev, &ino) == 0) {
            struct sl_rec_info i;
            base_info(&i, newfd, SL_ORIGIN_DUP);
            i.stack = sl_stack_capture();
            insert(&i);
        }
    }
    sl_guard_leave();
}

void sl_fd_inherited(int fd, int family, int type, int proto)
{
    sl_guard_enter();
    struct sl_rec_info i;
    base_info(&i, fd, SL_ORIGIN_INHERITED);
    info_set_meta(&i, family, type, proto);
    insert(&i);
    sl_guard_leave();
}

void sl_fd_received(int fd)
{
    uint64_t dev, ino;
    int family, type, proto;
    sl_guard_enter();
    if (sl_probe_inode(fd, &dev, &ino) == 0) { /* a socket (files pass through SCM_RIGHTS too) */
        struct sl_rec_info i;
        base_info(&i, fd, SL_ORIGIN_SCM_RIGHTS);
        if (sl_probe_meta(fd, &family, &type, &proto) == 0)
            info_set_meta(&i, family, type, proto);
        i.dev = dev, i.ino = ino;
        i.stack = sl_stack_capture();
        insert(&i);
        atomic_fetch_add_explicit(&sl_count.scm_rights, 1, memory_order_relaxed);
    }
    sl_guard_leave();
}

void sl_fd_unseen(int fd, int family, int type, int proto, uint64_t dev, uint64_t ino)
{
    sl_guard_enter();
    struct sl_rec_info i;
    base_info(&i, fd, SL_ORIGIN_UNSEEN);
    info_set_meta(&i, family, type, proto);
    i.dev = dev, i.ino = ino;
    insert(&i);
    sl_guard_leave();
}

/* Stripe lock taken here: set fd's ignored flag if it is recorded. */
static bool set_ignored(int fd)
{
    struct stripe *s = stripe_of(fd);
    lock(&s->lock);
    struct sl_rec *r = NULL;
    HASH_FIND(hh, s->head, &fd, sizeof(int), r);
    if (r)
        r->info.ignored = 1;
    unlock(&s->lock);
    return r != NULL;
}

int sl_fd_ignore(int fd)
{
    if (fd < 0 || sl_privfd_is(fd))
        return -EBADF; /* the shim's own fds: the host never opened them */
    int ret = 0;
    sl_guard_enter();
    if (!set_ignored(fd)) {
        uint64_t dev, ino;
        int family, type, proto;
        int r = sl_probe_inode(fd, &dev, &ino);
        if (r != 0) {
            ret = r == -ENOTSOCK ? -ENOTSOCK : -EBADF;
        } else {
            /* open, a socket, not recorded: adopt it as a scan would, then mark it */
            if (sl_probe_meta(fd, &family, &type, &proto) != 0)
                family = type = proto = 0;
            sl_fd_unseen(fd, family, type, proto, dev, ino);
            ret = set_ignored(fd) ? 0 : -ENOMEM;
        }
    }
    sl_guard_leave();
    return ret;
}

void sl_fd_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    if (!addr || len < sizeof(sa_family_t) || (addr->sa_family != AF_INET && addr->sa_family != AF_INET6))
        return;
    sl_guard_enter();
    struct stripe *s = stripe_of(fd);
    lock(&s->lock);
    struct sl_rec *r = NULL;
    HASH_FIND(hh, s->head, &fd, sizeof(int), r);
    if (r)
        sl_addr_from_sockaddr(&r->info.peer, addr, len);
    unlock(&s->lock);
    sl_guard_leave();
}

/* ---- closing ----
 * Detach takes the record out of the table, counts the close, and swaps the fd's watch
 * bit for its closing bit: until release, after the real close, a scan walking
 * /proc/self/fd would otherwise find an open socket nobody tracks and adopt it as
 * "unseen". Release needs no lock; reattach (the real call failed) undoes detach. */

static struct sl_rec *detach_locked(struct stripe *s, int fd)
{
    struct sl_rec *r = NULL;
    if (fd >= 0)
        HASH_FIND(hh, s->head, &fd, sizeof(int), r);
    if (r) {
        HASH_DEL(s->head, r);
        note_count(s);
        s->closed++;
        LINK(r) = NULL;
        st_update(fd, ST_WATCH, ST_CLOSING | ST_CLOSED);
    }
    return r;
}

struct sl_rec *sl_fd_detach(int fd)
{
    if (fd < 0)
        return NULL;
    struct stripe *s = stripe_of(fd);
    sl_guard_enter();
    lock(&s->lock);
    struct sl_rec *r = detach_locked(s, fd);
    unlock(&s->lock);
    sl_guard_leave();
    return r;
}

/* The one-fd protocol of close() and dup2(): the record is freed at once, under the
 * lock, and the close accounted for before the real call; release only ends the
 * CLOSING window. No record travels, so no lock-free list is touched. */
bool sl_fd_detach_one(int fd, struct sl_rec_info *out)
{
    if (fd < 0)
        return false;
    struct stripe *s = stripe_of(fd);
    sl_guard_enter();
    lock(&s->lock);
    struct sl_rec *r = detach_locked(s, fd);
    if (r) {
        note_closed(&r->info); /* atomics and a ring slot: fine under the lock */
        if (out)
            *out = r->info;
        rec_free(s, r);
    }
    unlock(&s->lock);
    sl_guard_leave();
    return r != NULL;
}

void sl_fd_release_one(int fd)
{
    st_update(fd, ST_CLOSING, 0);
}

void sl_fd_reattach_one(const struct sl_rec_info *info)
{
    int fd = info->fd;
    struct stripe *s = stripe_of(fd);
    sl_guard_enter();
    lock(&s->lock);
    s->closed--; /* detach counted a close that did not happen */
    struct sl_rec *cur = NULL;
    HASH_FIND(hh, s->head, &fd, sizeof(int), cur);
    struct sl_rec *r = NULL;
    if (cur) {
        s->stale++; /* the number was taken over meanwhile: the newer record wins */
        st_update(fd, ST_CLOSING, 0);
    } else if ((r = table_ready(s) ? rec_alloc(s) : NULL) != NULL) {
        r->info = *info;
        hash_oom = 0;
        HASH_ADD(hh, s->head, info.fd, sizeof(int), r);
        if (hash_oom) {
            rec_free(s, r);
            r = NULL;
        }
    }
    if (r) {
        note_count(s);
        st_update(fd, ST_CLOSING | ST_CLOSED, ST_WATCH);
    } else if (!cur) {
        s->stale++;
        st_update(fd, ST_CLOSING | ST_CLOSED, 0);
    }
    unlock(&s->lock);
    if (r)
        sl_stack_note(info->stack, true); /* detach noted it closed */
    else if (!cur)
        note_untracked(true);
    sl_guard_leave();
}

struct sl_rec *sl_fd_detach_range(unsigned lo, unsigned hi)
{
    struct sl_rec *list = NULL;
    sl_guard_enter();
    int top = atomic_load(&watch_hi);
    if (fdmap && top >= 0) {
        unsigned end = hi < (unsigned)top ? hi : (unsigned)top;
        for (unsigned fd = lo; fd <= end && fd < nwatch;) {
            uint64_t w = (atomic_load_explicit(&fdmap[fd >> 4], memory_order_relaxed) & ST_WATCH_BITS) >> ((fd & 15) * 4);
            if (!w) {
                fd = (fd | 15) + 1;
                continue;
            }
            fd += (unsigned)__builtin_ctzll(w) / 4;
            if (fd > end)
                break;
            struct stripe *s = stripe_of((int)fd);
            lock(&s->lock);
            struct sl_rec *r = detach_locked(s, (int)fd);
            if (r) {
                LINK(r) = list;
                list = r;
            }
            unlock(&s->lock);
            fd++;
        }
    }
    if (!fdmap || hi >= nwatch) {
        /* numbers beyond the bitmap: walk the tables */
        for (int i = 0; i < STRIPES; i++) {
            struct stripe *s = &stripes[i];
            lock(&s->lock);
            struct sl_rec *r, *tmp;
            HASH_ITER(hh, s->head, r, tmp)
            {
                unsigned fd = (unsigned)r->info.fd;
                if (!is_sentinel(r) && fd >= lo && fd <= hi && (!fdmap || fd >= nwatch)) {
                    HASH_DEL(s->head, r);
                    s->closed++;
                    LINK(r) = list;
                    list = r;
                }
            }
            note_count(s);
            unlock(&s->lock);
        }
    }
    sl_guard_leave();
    return list;
}

void sl_fd_release(struct sl_rec *list)
{
    sl_guard_enter();
    while (list) {
        struct sl_rec *next = LINK(list);
        /* If another thread has already put a new socket on the number and is closing
         * it too, this clears its closing bit early: a scan in that window may adopt
         * it, and the next scan drops the adopted record as stale. Rare and harmless. */
        st_update(list->info.fd, ST_CLOSING, 0);
        retire_closed(list);
        list = next;
    }
    sl_guard_leave();
}

void sl_fd_reattach(struct sl_rec *list)
{
    sl_guard_enter();
    while (list) {
        struct sl_rec *next = LINK(list);
        int fd = list->info.fd;
        struct stripe *s = stripe_of(fd);
        lock(&s->lock);
        s->closed--; /* detach counted a close that did not happen */
        struct sl_rec *cur = NULL;
        HASH_FIND(hh, s->head, &fd, sizeof(int), cur);
        if (cur) {
            retire_locked(s, list); /* the number was taken over meanwhile: the newer record wins */
            st_update(fd, ST_CLOSING, 0);
        } else {
            hash_oom = 0;
            HASH_ADD(hh, s->head, info.fd, sizeof(int), list);
            if (hash_oom) {
                retire_locked(s, list);
                note_untracked(true);
                st_update(fd, ST_CLOSING | ST_CLOSED, 0);
            } else {
                note_count(s);
                st_update(fd, ST_CLOSING | ST_CLOSED, ST_WATCH);
            }
        }
        unlock(&s->lock);
        list = next;
    }
    sl_guard_leave();
}

/* ---- snapshots and write-back ---- */

long sl_fd_live(void)
{
    return live_total();
}

long sl_fd_snapshot(struct sl_rec_info **out)
{
    size_t cap = (size_t)live_total() + 64, n = 0;
    struct sl_rec_info *v = sl_big_alloc(cap * sizeof(*v));
    if (!v)
        return -ENOMEM;
    sl_guard_enter();
    for (int i = 0; i < STRIPES; i++) {
        struct stripe *s = &stripes[i];
        lock(&s->lock);
        size_t need = n + (size_t)count_locked(s);
        if (need > cap) {
            size_t ncap = need + need / 2;
            struct sl_rec_info *nv = sl_big_realloc(v, ncap * sizeof(*v));
            if (!nv) {
                unlock(&s->lock);
                sl_guard_leave();
                sl_big_free(v);
                return -ENOMEM;
            }
            v = nv;
            cap = ncap;
        }
        struct sl_rec *r, *tmp;
        HASH_ITER(hh, s->head, r, tmp)
        if (!is_sentinel(r))
            v[n++] = r->info;
        unlock(&s->lock);
    }
    sl_guard_leave();
    *out = v;
    return (long)n;
}

/* Run fn on fd's record if it still has generation gen. */
#define WITH_RECORD(fd, gen, body)                                                           \
    ({                                                                                       \
        struct stripe *s_ = stripe_of(fd);                                                   \
        struct sl_rec *r = NULL;                                                             \
        sl_guard_enter();                                                                    \
        lock(&s_->lock);                                                       \
        HASH_FIND(hh, s_->head, &(fd), sizeof(int), r);                                      \
        bool found_ = r && r->info.gen == (gen);                                             \
        if (found_) {                                                                        \
            body;                                                                            \
        }                                                                                    \
        unlock(&s_->lock);                                                     \
        sl_guard_leave();                                                                    \
        found_;                                                                              \
    })

bool sl_fd_mark_reported(int fd, uint64_t gen, int leak, int64_t now_ns)
{
    return WITH_RECORD(fd, gen, {
        if (!r->info.reported_leak)
            r->info.reported_ns = now_ns;
        r->info.reported_leak = (uint8_t)leak;
    });
}

bool sl_fd_set_inode(int fd, uint64_t gen, uint64_t dev, uint64_t ino)
{
    return WITH_RECORD(fd, gen, { r->info.dev = dev; r->info.ino = ino; });
}

bool sl_fd_set_meta(int fd, uint64_t gen, int family, int type, int proto)
{
    return WITH_RECORD(fd, gen, { info_set_meta(&r->info, family, type, proto); });
}

void sl_fd_learn_meta(struct sl_rec_info *i)
{
    int family, type, proto;
    if ((!i->family || !i->type) && sl_probe_meta(i->fd, &family, &type, &proto) == 0) {
        info_set_meta(i, family, type, proto);
        sl_fd_set_meta(i->fd, i->gen, family, type, proto);
    }
}

bool sl_fd_observe(int fd, uint64_t gen, int tcp_state, int64_t since_ns, int64_t now_ns, int64_t *close_wait_ns)
{
    return WITH_RECORD(fd, gen, {
        if (tcp_state != SL_STATE_OPEN)
            r->info.tcp_state = (uint8_t)tcp_state;
        else if (r->info.tcp_state == TCP_CLOSE_WAIT || r->info.tcp_state == SL_STATE_PEER_CLOSED)
            r->info.tcp_state = 0;
        if (tcp_state == TCP_CLOSE_WAIT || tcp_state == SL_STATE_PEER_CLOSED) {
            if (!r->info.close_wait_ns) {
                int64_t start = r->info.open_seen_ns > since_ns ? r->info.open_seen_ns : since_ns;
                r->info.close_wait_ns = start < now_ns ? start : now_ns;
            }
        } else {
            r->info.close_wait_ns = 0;
            r->info.open_seen_ns = now_ns;
        }
        if (close_wait_ns)
            *close_wait_ns = r->info.close_wait_ns;
    });
}

bool sl_fd_set_state(int fd, uint64_t gen, int tcp_state, int64_t now_ns, int64_t *close_wait_ns)
{
    return sl_fd_observe(fd, gen, tcp_state, now_ns, now_ns, close_wait_ns);
}

void sl_fd_drop_stale(int fd, uint64_t gen)
{
    struct stripe *s = stripe_of(fd);
    sl_guard_enter();
    lock(&s->lock);
    struct sl_rec *r = NULL;
    HASH_FIND(hh, s->head, &fd, sizeof(int), r);
    if (r && r->info.gen == gen) {
        HASH_DEL(s->head, r);
        note_count(s);
        retire_locked(s, r);
        if (!sl_privfd_is(fd))
            sl_fd_watch_set(fd, false);
    }
    unlock(&s->lock);
    sl_guard_leave();
}

void sl_fd_stats(struct sl_fd_stats *st)
{
    memset(st, 0, sizeof(*st));
    sl_guard_enter();
    for (int i = 0; i < STRIPES; i++) {
        struct stripe *s = &stripes[i];
        lock(&s->lock);
        st->live += count_locked(s);
        st->opened += s->opened;
        st->closed += s->closed;
        st->stale += s->stale;
        unlock(&s->lock);
    }
    sl_guard_leave();
}

/* ---- fork ---- */

void sl_fdtable_lock_all(void)
{
    for (int i = 0; i < STRIPES; i++)
        lock(&stripes[i].lock);
    pthread_mutex_lock(&mem_lock);
}

void sl_fdtable_mark_forked(void)
{
    for (int i = 0; i < STRIPES; i++) {
        struct stripe *s = &stripes[i];
        lock(&s->lock);
        struct sl_rec *r, *tmp;
        HASH_ITER(hh, s->head, r, tmp)
        r->info.forked = 1; /* the sentinel too: harmless */
        unlock(&s->lock);
    }
}

void sl_fdtable_unlock_all(void)
{
    pthread_mutex_unlock(&mem_lock);
    for (int i = STRIPES - 1; i >= 0; i--)
        unlock(&stripes[i].lock);
}
