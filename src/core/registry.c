/*
 * registry.c - the registry of live socket fds.
 *
 * Records indexed by fd number: the kernel hands out the lowest free number, so the
 * numbers in use are dense, and the record of fd is found by arithmetic, not by a hash.
 * A record is two parts in two arrays: the hot part, one 64-byte cache line, is all a
 * create writes and a close reads (generation, creation time, stacks, thread, origin,
 * family, type, protocol, flags, peer); the cold part (48 bytes: inode, the CLOSE_WAIT
 * clock, when a report flagged it, when end-of-file was read) is written by scans,
 * reports and the first end-of-file. A create writes what it knows and no more: the
 * cold part, and the peer when it has none, keep what an earlier socket left there, and
 * a flag says whether they are this record's (F_COLD: else it reads as just made,
 * cold_of; F_PEER: else no peer). Records live in chunks of 1024 numbers (112 KiB),
 * mapped the first time a socket gets a number in the chunk, found through a two-level
 * directory that covers every non-negative int (the top level here, each middle one of
 * 1024 chunks mapped when first needed): 112 bytes a socket where the sockets are.
 *
 * Why not a hash table any more: the registry was a lock-striped uthash table. A create
 * and a close each paid a hash insert or delete (with its bucket bookkeeping and, for a
 * table that emptied, a sentinel record so that uthash kept its buckets), a record
 * allocation and a free list, and a 168-byte record: about 400 instructions a
 * socket+close, and 173 bytes a socket. Indexed by number, there is nothing to find,
 * allocate or free; nothing in the registry needs a hash now. The stripes stay: a
 * record is written and read under the lock of its stripe (fd % 32), a test-and-set
 * lock held for a few dozen instructions, so threads working on different numbers
 * rarely meet.
 *
 * Invariants:
 *   - a record exists for fd (its generation is not 0) only while the host holds fd
 *     open as the socket recorded (as far as the shim saw): wrappers detach before the
 *     real close and create after the real call returned a new fd;
 *   - a create that finds its number still recorded means the old socket was closed
 *     behind our back (fclose on an fdopen'd socket, glibc internals, raw syscalls):
 *     the old record is replaced and counted as stale;
 *   - no stripe lock is held across a system call, nor across malloc: a chunk is
 *     mapped (mmap) before the lock is taken, so the registry is safe
 *     to use from a signal handler that interrupted anything but the shim itself (the
 *     per-thread guard turns those re-entries into pass-through);
 *   - the fd state map (fd/fdstate.c) has the watch bit set for every recorded number
 *     it covers, and the EOF bit for every recorded stream socket whose end-of-file is
 *     not recorded yet; records and their bits change together under the stripe lock;
 *   - a close costs one lock round trip: the record leaves the table (its generation
 *     becomes 0) under the lock before the real close, its counts taken then; after
 *     it, only the closing bit of the number is cleared.
 * Each record carries a generation number, unique per record, so the scanner and the
 * reporter can probe outside the lock and write back only to the record they probed
 * (a number reused meanwhile has a record of another generation). Generations come
 * from one counter, so they also order records by creation: a checkpoint
 * (sockleak_checkpoint) is the last one handed out. Slots are never freed or reused
 * for another number, so no reader can meet a record that moved (no ABA, no sentinel,
 * no free list). Records taken out by close_range()/closefrom() (detach_range) travel
 * as copies in an array mapped for the call, until the real call says whether they
 * are released or put back.
 * The registry makes no system call but mmap and munmap, and captures no stack: verbs.c
 * does that.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/mman.h>

#include "core.h"
#include "stripelock.h"

/* ---- records ---- */

struct rec {             /* what a create writes and a close reads: one cache line */
    uint64_t gen;        /* 0: no socket recorded on this number */
    int64_t created_ns;
    uint32_t stack, orig_stack, eof_stack;
    pid_t tid;
    uint16_t proto;
    uint8_t origin, type, family, tcp_state, reported_leak, flags;
    struct sl_addr peer;
};
struct cold {            /* what scans, reports and the first end-of-file write back */
    uint64_t dev, ino;
    int64_t close_wait_ns, open_seen_ns, reported_ns, eof_ns;
};
#define F_IGNORED 1
#define F_FORKED 2
#define F_COLD 4 /* the cold part was written since the create: a create leaves it as it was */
#define F_PEER 8 /* peer holds the peer's address; without it, the record has none */
_Static_assert(sizeof(struct rec) == 64, "a record's hot part is one cache line");
_Static_assert(sizeof(struct cold) == 48, "a record's cold part");

#define CHUNK_BITS 10
#define CHUNK (1u << CHUNK_BITS)
#define MID_BITS 10                     /* chunks per middle directory */
#define TOP (1u << (31 - CHUNK_BITS - MID_BITS)) /* middles: every non-negative int */
struct chunk {
    struct rec hot[CHUNK];
    struct cold cold[CHUNK];
};

static _Atomic(_Atomic(struct chunk *) *) dir[TOP]; /* each: 1 << MID_BITS chunks, mapped when needed */
static _Atomic unsigned chunks_top;     /* 1 + the highest chunk index mapped */

/* ---- stripes ---- */

#define STRIPES 32
struct stripe {
    struct sl_lock lock;
    /* written under the lock, readable without it; the stripe's records are
     * opened - closed - stale */
    _Atomic long opened, closed, stale;
} __attribute__((aligned(64)));

static struct stripe stripes[STRIPES];
static _Atomic uint64_t last_gen; /* the last generation handed out */

struct sl_counters sl_count;
struct sl_ring sl_late_ring, sl_dclose_ring;

static inline struct stripe *stripe_of(int fd)
{
    return &stripes[(unsigned)fd % STRIPES];
}

const char *sl_origin_name(int origin)
{
    switch (origin) {
    case SL_ORIGIN_SOCKET: return "socket";
    case SL_ORIGIN_SOCKETPAIR: return "socketpair";
    case SL_ORIGIN_ACCEPT: return "accept";
    case SL_ORIGIN_DUP: return "dup";
    case SL_ORIGIN_INHERITED: return "inherited";
    case SL_ORIGIN_SCM_RIGHTS: return "scm_rights";
    case SL_ORIGIN_UNSEEN: return "unseen";
    case SL_ORIGIN_PRE_ATTACH: return "pre-attach";
    default: return "unknown";
    }
}

/* An anonymous mapping, NULL if refused; and its end. Through libc, so that a
 * sanitizer runtime sees memory come and go (ThreadSanitizer would otherwise take two
 * threads' lists at the same address, one unmapped before the other was mapped, for a
 * race); errno kept. Async-signal-safe. */
static void *map(size_t len)
{
    SL_KEEP_ERRNO();
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static void unmap(void *p, size_t len)
{
    SL_KEEP_ERRNO();
    munmap(p, len);
}

/* fd's chunk if it is mapped (fd >= 0), else NULL. No lock. */
static inline struct chunk *chunk_peek(int fd)
{
    _Atomic(struct chunk *) *m = atomic_load_explicit(&dir[(unsigned)fd >> (CHUNK_BITS + MID_BITS)],
                                                      memory_order_acquire);
    return SL_LIKELY(m != NULL)
             ? atomic_load_explicit(&m[((unsigned)fd >> CHUNK_BITS) & ((1u << MID_BITS) - 1)], memory_order_acquire)
             : NULL;
}

/* fd's chunk, mapped now if it was not (fd >= 0). NULL if out of memory. No lock: the
 * middle directories and the chunks are published with a compare-and-swap; a loser
 * unmaps its own. */
static __attribute__((noinline)) struct chunk *chunk_make(int fd)
{
    _Atomic(_Atomic(struct chunk *) *) *mp = &dir[(unsigned)fd >> (CHUNK_BITS + MID_BITS)];
    _Atomic(struct chunk *) *m = atomic_load_explicit(mp, memory_order_acquire);
    if (!m) {
        size_t len = sizeof(*m) << MID_BITS;
        _Atomic(struct chunk *) *nm = map(len), *none = NULL;
        if (!nm)
            return NULL;
        if (atomic_compare_exchange_strong(mp, &none, nm))
            m = nm;
        else
            unmap(nm, len), m = none;
    }
    unsigned ci = (unsigned)fd >> CHUNK_BITS;
    _Atomic(struct chunk *) *d = &m[ci & ((1u << MID_BITS) - 1)];
    struct chunk *c = atomic_load_explicit(d, memory_order_acquire), *none = NULL;
    if (c)
        return c;
    /* the walks' bound first, so that no chunk is ever out of their sight (a fork child
     * of a thread stopped between the two steps included) */
    unsigned top = atomic_load(&chunks_top);
    while (top < ci + 1 && !atomic_compare_exchange_weak(&chunks_top, &top, ci + 1))
        ;
    struct chunk *nc = map(sizeof(struct chunk));
    if (!nc)
        return NULL;
    if (atomic_compare_exchange_strong(d, &none, nc)) {
        c = nc;
    } else {
        unmap(nc, sizeof(struct chunk));
        c = none;
    }
    return c;
}

static inline struct chunk *chunk_get(int fd)
{
    struct chunk *c = chunk_peek(fd);
    return SL_LIKELY(c != NULL) ? c : chunk_make(fd);
}

#define HOT(c, fd) (&(c)->hot[(unsigned)(fd) & (CHUNK - 1)])
#define COLD(c, fd) (&(c)->cold[(unsigned)(fd) & (CHUNK - 1)])

/* Stripe lock held: add d to one of its counters. */
static inline void bump(_Atomic long *c, long d)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + d, memory_order_relaxed);
}

static inline long live_of(struct stripe *s)
{
    return atomic_load_explicit(&s->opened, memory_order_relaxed) - atomic_load_explicit(&s->closed, memory_order_relaxed)
         - atomic_load_explicit(&s->stale, memory_order_relaxed);
}

static long live_total(void)
{
    long n = 0;
    for (int i = 0; i < STRIPES; i++)
        n += live_of(&stripes[i]);
    return n;
}

/* The state bits of a recorded fd: watched; and EOF while a read returning 0 on it would
 * be news (a stream socket, or one whose type is not known yet). */
static inline unsigned live_bits(int type, int64_t eof_ns)
{
    return SL_FD_WATCH | ((type == SOCK_STREAM || type == 0) && !eof_ns ? SL_FD_EOF : 0);
}

/* The cold part of record r as it stands: until something writes it (F_COLD), it is
 * what a create would have written, the socket seen open when it was made. So a create
 * writes the hot line alone. */
static inline struct cold cold_of(const struct rec *r, const struct cold *k)
{
    return (r->flags & F_COLD) ? *k : (struct cold){ .open_seen_ns = r->created_ns };
}

/* Stripe lock held: r's cold part k, written whole first if it was not since the create. */
static inline struct cold *cold_mut(struct rec *r, struct cold *k)
{
    if (!(r->flags & F_COLD)) {
        *k = (struct cold){ .open_seen_ns = r->created_ns };
        r->flags |= F_COLD;
    }
    return k;
}

/* A record as the rest of the shim sees it. */
static void expand(int fd, const struct rec *r, const struct cold *kp, struct sl_rec_info *i)
{
    const struct cold kc = cold_of(r, kp), *k = &kc;
    *i = (struct sl_rec_info){
        .fd = fd, .stack = r->stack, .orig_stack = r->orig_stack, .eof_stack = r->eof_stack, .tid = r->tid,
        .origin = r->origin, .type = r->type, .family = r->family, .proto = r->proto, .tcp_state = r->tcp_state,
        .reported_leak = r->reported_leak, .ignored = !!(r->flags & F_IGNORED), .forked = !!(r->flags & F_FORKED),
        .gen = r->gen, .dev = k->dev, .ino = k->ino, .created_ns = r->created_ns, .close_wait_ns = k->close_wait_ns,
        .open_seen_ns = k->open_seen_ns, .reported_ns = k->reported_ns, .eof_ns = k->eof_ns,
        .peer = (r->flags & F_PEER) ? r->peer : (struct sl_addr){ 0 },
    };
}

/* Stripe lock held: the record (of generation gen) takes i's content. */
static void fill(struct rec *r, struct cold *k, const struct sl_rec_info *i, uint64_t gen)
{
    *r = (struct rec){
        .gen = gen, .created_ns = i->created_ns, .stack = i->stack, .orig_stack = i->orig_stack,
        .eof_stack = i->eof_stack, .tid = i->tid, .proto = i->proto, .origin = i->origin, .type = i->type,
        .family = (uint8_t)i->family, .tcp_state = i->tcp_state, .reported_leak = i->reported_leak,
        .flags = (uint8_t)((i->ignored ? F_IGNORED : 0) | (i->forked ? F_FORKED : 0) | F_COLD | F_PEER), .peer = i->peer,
    };
    *k = (struct cold){ .dev = i->dev, .ino = i->ino, .close_wait_ns = i->close_wait_ns,
                        .open_seen_ns = i->open_seen_ns, .reported_ns = i->reported_ns, .eof_ns = i->eof_ns };
}

/* Stripe lock held: the record of fd left the table because its fd was closed behind
 * our back (or max_tracked drops it): account for it. */
static void retire_locked(struct stripe *s, struct rec *r)
{
    sl_stack_note(r->stack, false);
    bump(&s->stale, 1);
    r->gen = 0;
}

/* The socket of a record is closed by a close we saw (its stripe counted it). Lock-free
 * work: atomics and a ring slot, fine under the lock too. */
static inline __attribute__((always_inline)) void note_closed(int fd, uint32_t stack, int origin, int leak, int64_t created_ns, int64_t reported_ns)
{
    sl_stack_note(stack, false);
    if (SL_UNLIKELY(origin == SL_ORIGIN_UNSEEN))
        atomic_fetch_add_explicit(&sl_count.unseen_closed, 1, memory_order_relaxed);
    if (SL_UNLIKELY(leak)) {
        int64_t now = sl_now_ns();
        struct sl_late ev = { .fd = fd, .stack = stack, .leak = (uint8_t)leak, .lifetime_ns = now - created_ns,
                              .after_report_ns = now - reported_ns };
        sl_ring_push(&sl_late_ring, &ev, sizeof(ev));
        atomic_fetch_add_explicit(&sl_count.closed_late, 1, memory_order_relaxed);
    }
}

/* No lock: the socket of a record, made by Python code, is being closed. If CPython's
 * finalizer closes it (the program dropped it unclosed: its garbage collector, its
 * shutdown), it was never closed by the program, as CPython's ResourceWarning says:
 * a leak closed late, kind "unclosed". A process without Python pays one load. */
static __attribute__((noinline)) void finalized(int fd, uint32_t stack, int leak, int64_t created_ns)
{
    SL_KEEP_ERRNO(); /* libunwind */
    const struct sl_stack *st = sl_stack_get(stack);
    if (!st || st->lang != SL_LANG_PYTHON || leak)
        return;
    int kind = sl_py_close_kind();
    if (kind == SL_PY_CLOSE_ASK) {
        uintptr_t ip[8];
        int n = sl_stack_unwind(ip, 8);
        kind = SL_PY_CLOSE_PROGRAM;
        for (int k = 0; k < n; k++)
            if (sl_py_finalizer_ip(ip[k]))
                kind = SL_PY_CLOSE_FINALIZER;
    }
    if (kind != SL_PY_CLOSE_FINALIZER)
        return;
    struct sl_late ev = { .fd = fd, .stack = stack, .leak = SL_LATE_UNCLOSED, .lifetime_ns = sl_now_ns() - created_ns };
    sl_ring_push(&sl_late_ring, &ev, sizeof(ev));
    atomic_fetch_add_explicit(&sl_count.closed_late, 1, memory_order_relaxed);
}

static inline void note_finalized(int fd, uint32_t stack, int leak, int64_t created_ns)
{
    if (SL_UNLIKELY(sl_lang_python()))
        finalized(fd, stack, leak, created_ns);
}

static void note_untracked(bool nomem)
{
    atomic_fetch_add_explicit(&sl_count.untracked, 1, memory_order_relaxed);
    if (nomem)
        atomic_fetch_add_explicit(&sl_count.nomem, 1, memory_order_relaxed);
}

/* ---- inserting ---- */

/* Stripe lock held, fd's chunk c mapped: make room for a new record of origin on fd.
 * An old record there was closed behind our back (stale), unless a scan adopted the new
 * socket itself (unseen) a moment before this record of its creation. False if
 * max_tracked refuses a new record (the old one is dropped then). */
static __attribute__((noinline)) bool make_room_slow(struct stripe *s, struct chunk *c, int fd, int origin,
                                                     int64_t created_ns)
{
    struct rec *r = HOT(c, fd);
    if (sl_opt.max_tracked > 0 && live_total() >= sl_opt.max_tracked) {
        if (r->gen) { /* a stale record for this number: drop it */
            retire_locked(s, r);
            sl_fd_watch_set(fd, false);
        }
        return false;
    }
    if (!r->gen)
        return true;
    if (r->origin == SL_ORIGIN_UNSEEN && origin != SL_ORIGIN_UNSEEN && created_ns - r->created_ns < 5 * SL_SEC) {
        /* a scan adopted this socket between its creation and our record of it */
        atomic_fetch_sub_explicit(&sl_count.unseen_found, 1, memory_order_relaxed);
        sl_stack_note(r->stack, false);
        bump(&s->opened, -1);
        r->gen = 0;
    } else {
        retire_locked(s, r);
    }
    return true;
}

static inline bool make_room(struct stripe *s, struct chunk *c, int fd, int origin, int64_t created_ns)
{
    if (SL_LIKELY(!HOT(c, fd)->gen) && SL_LIKELY(sl_opt.max_tracked <= 0))
        return true; /* a free number, no limit */
    return make_room_slow(s, c, fd, origin, created_ns);
}

/* Stripe lock held: the record just filled in on fd counts. */
static inline void opened_locked(struct stripe *s, int fd, int type, int64_t eof_ns, uint32_t stack)
{
    bump(&s->opened, 1);
    sl_fdstate_put(fd, live_bits(type, eof_ns));
    sl_stack_note(stack, true);
}

static inline uint64_t next_gen(void)
{
    return atomic_fetch_add_explicit(&last_gen, 1, memory_order_relaxed) + 1;
}

bool sl_reg_insert(const struct sl_rec_info *info)
{
    int fd = info->fd;
    if (fd < 0)
        return false;
    struct chunk *c = chunk_get(fd);
    struct stripe *s = stripe_of(fd);
    lock(&s->lock);
    if (SL_UNLIKELY(info->origin == SL_ORIGIN_UNSEEN) && sl_fd_busy(fd)) {
        /* The scan's own test (visit_fd), made again under the lock: a wrapper may have
         * recorded the number (or begun to close it) since the scan looked, and what the
         * scan read may already be a socket closed since; the record is the newer truth. */
        unlock(&s->lock);
        return false;
    }
    if (!c || !make_room(s, c, fd, info->origin, info->created_ns)) {
        unlock(&s->lock);
        note_untracked(true);
        return false;
    }
    fill(HOT(c, fd), COLD(c, fd), info, next_gen());
    opened_locked(s, fd, info->type, info->eof_ns, info->stack);
    unlock(&s->lock);
    if (info->origin == SL_ORIGIN_UNSEEN)
        atomic_fetch_add_explicit(&sl_count.unseen_found, 1, memory_order_relaxed);
    return true;
}

/* sl_reg_new in every case: a number still recorded, max_tracked, no chunk yet, a
 * contended lock, a thread's first socket, a number above the state map's highest. */
static __attribute__((noinline)) bool reg_new(int fd, uint64_t meta, uint32_t stack, const struct sl_addr *peer,
                                              int64_t now)
{
    if (SL_UNLIKELY(fd < 0))
        return false;
    int origin = SL_META_ORIGIN(meta), type = SL_META_TYPE(meta);
    pid_t tid = sl_gettid();
    struct chunk *c = chunk_get(fd);
    struct stripe *s = stripe_of(fd);
    lock(&s->lock);
    if (SL_UNLIKELY(!c) || !make_room(s, c, fd, origin, now)) {
        unlock(&s->lock);
        note_untracked(true);
        return false;
    }
    struct rec *r = HOT(c, fd);
    *r = (struct rec){ .gen = next_gen(), .created_ns = now, .stack = stack, .tid = tid };
    memcpy(&r->proto, &meta, sizeof(meta));
    if (peer)
        r->peer = *peer, r->flags |= F_PEER;
    opened_locked(s, fd, type, 0, stack); /* the cold part: as made at created_ns (cold_of) */
    unlock(&s->lock);
    return true;
}

_Static_assert(offsetof(struct rec, proto) % 8 == 0 && offsetof(struct rec, flags) - offsetof(struct rec, proto) == 7,
               "SL_META is the record's word from proto to flags");

/* A leaf for the usual case (a free number in a mapped chunk, the lock free, no limit):
 * no call, so no register to save; every other case goes to reg_new. */
bool sl_reg_new(int fd, uint64_t meta, uint32_t stack, const struct sl_addr *peer, int64_t now)
{
    struct chunk *c = fd >= 0 ? chunk_peek(fd) : NULL;
    pid_t tid = sl_tls_tid;
    struct stripe *s = stripe_of(fd);
    /* fd <= sl_fdmap_hi: the state map covers fd (the highest watched number is one it
     * covers; acquire: the map was published before it) and its store needs no raise */
    if (SL_UNLIKELY(!c) || SL_UNLIKELY(!tid) || SL_UNLIKELY(sl_opt.max_tracked > 0)
        || SL_UNLIKELY(fd > atomic_load_explicit(&sl_fdmap_hi, memory_order_acquire)) || SL_UNLIKELY(!trylock(&s->lock)))
        return reg_new(fd, meta, stack, peer, now);
    unsigned j = (unsigned)fd & (CHUNK - 1);
    struct rec *r = &c->hot[j];
    if (SL_UNLIKELY(r->gen)) {
        unlock(&s->lock);
        return reg_new(fd, meta, stack, peer, now);
    }
    r->gen = next_gen();
    r->created_ns = now;
    r->stack = stack;
    r->orig_stack = 0;
    r->eof_stack = 0;
    r->tid = tid;
    memcpy(&r->proto, &meta, sizeof(meta));
    if (peer) /* else the peer is left as it was: without F_PEER, none */
        r->peer = *peer, r->flags |= F_PEER;
    bump(&s->opened, 1); /* the cold part: as made at created_ns (cold_of) */
    sl_fdstate_store(fd, live_bits(SL_META_TYPE(meta), 0));
    unlock(&s->lock);
    sl_stack_note(stack, true);
    return true;
}

int sl_reg_dup(int oldfd, int newfd, uint32_t stack)
{
    if (oldfd < 0 || newfd < 0)
        return -ENOENT;
    struct chunk *oc = chunk_peek(oldfd);
    if (!oc)
        return -ENOENT;
    struct stripe *s = stripe_of(oldfd);
    struct rec r;
    struct cold k;
    lock(&s->lock);
    r = *HOT(oc, oldfd);
    k = cold_of(&r, COLD(oc, oldfd));
    unlock(&s->lock);
    if (!r.gen)
        return -ENOENT;
    /* same open file description: same socket and state; but not the inode: if another
     * thread closes newfd and a new socket takes the number before this insert, a
     * copied inode would make the report drop the new socket as stale; unset, it is
     * read from the fd itself */
    int64_t now = sl_now_coarse_ns();
    r.orig_stack = r.stack;
    r.stack = stack;
    r.origin = SL_ORIGIN_DUP;
    r.flags = (uint8_t)((r.flags & ~F_FORKED) | F_COLD);
    r.created_ns = now;
    r.tid = sl_gettid();
    k.dev = k.ino = 0;
    if (!k.close_wait_ns)
        k.open_seen_ns = now;
    struct chunk *c = chunk_get(newfd);
    s = stripe_of(newfd);
    lock(&s->lock);
    if (SL_UNLIKELY(!c) || !make_room(s, c, newfd, SL_ORIGIN_DUP, now)) {
        unlock(&s->lock);
        note_untracked(true);
        return -ENOMEM;
    }
    r.gen = next_gen();
    *HOT(c, newfd) = r;
    *COLD(c, newfd) = k;
    opened_locked(s, newfd, r.type, k.eof_ns, stack);
    unlock(&s->lock);
    return 0;
}

/* ---- looking up ---- */

bool sl_reg_lookup(int fd, struct sl_rec_info *out)
{
    struct chunk *c = fd >= 0 ? chunk_peek(fd) : NULL;
    if (!c)
        return false;
    struct stripe *s = stripe_of(fd);
    lock(&s->lock);
    bool found = HOT(c, fd)->gen != 0;
    if (found)
        expand(fd, HOT(c, fd), COLD(c, fd), out);
    unlock(&s->lock);
    return found;
}

bool sl_reg_meta(int fd, int *family, int *type, int *proto)
{
    struct chunk *c = fd >= 0 ? chunk_peek(fd) : NULL;
    if (!c)
        return false;
    struct stripe *s = stripe_of(fd);
    lock(&s->lock);
    const struct rec *r = HOT(c, fd);
    bool found = r->gen != 0;
    if (found)
        *family = r->family, *type = r->type, *proto = r->proto;
    unlock(&s->lock);
    return found;
}

bool sl_fd_tracked(int fd)
{
    struct sl_rec_info i;
    sl_guard_enter();
    bool r = fd >= 0 && sl_reg_lookup(fd, &i);
    sl_guard_leave();
    return r;
}

int sl_fd_origin(int fd)
{
    if (fd < 0)
        return 0;
    struct chunk *c = chunk_peek(fd);
    if (!c)
        return 0;
    /* Called on the way to writing a line, from anywhere, even a signal handler that
     * interrupted the shim on this thread with this very lock held: try the lock for a
     * while, never wait for it. -EAGAIN: could not tell. */
    struct stripe *s = stripe_of(fd);
    int origin = -EAGAIN;
    sl_guard_enter();
    for (int tries = 0; tries < 1000; tries++) {
        if (trylock(&s->lock)) {
            origin = HOT(c, fd)->gen ? HOT(c, fd)->origin : 0;
            unlock(&s->lock);
            break;
        }
        SL_SYS(SYS_sched_yield);
    }
    sl_guard_leave();
    return origin;
}

/* Run body on fd's record (r, k) if it holds one and cond holds; the value of cond. */
#define WITH_LOCKED(fd, cond, body)                                                          \
    ({                                                                                       \
        struct chunk *c_ = (fd) >= 0 ? chunk_peek(fd) : NULL;                                \
        bool found_ = false;                                                                 \
        if (c_) {                                                                            \
            struct stripe *s_ = stripe_of(fd);                                               \
            struct rec *r = HOT(c_, fd);                                                     \
            struct cold *k = COLD(c_, fd);                                                   \
            sl_guard_enter();                                                                \
            lock(&s_->lock);                                                                 \
            found_ = r->gen != 0 && (k = cold_mut(r, k), (cond));                            \
            if (found_) {                                                                    \
                body;                                                                        \
            }                                                                                \
            unlock(&s_->lock);                                                               \
            sl_guard_leave();                                                                \
        }                                                                                    \
        found_;                                                                              \
    })

bool sl_reg_set_ignored(int fd)
{
    return WITH_LOCKED(fd, true, r->flags |= F_IGNORED);
}

bool sl_reg_set_origin(int fd, uint64_t dev, uint64_t ino, unsigned from_mask, int origin)
{
    bool done = false;
    WITH_LOCKED(fd, !k->ino || (k->ino == ino && k->dev == dev), {
        if (from_mask >> r->origin & 1) {
            r->origin = (uint8_t)origin;
            k->dev = dev;
            k->ino = ino;
        }
        done = r->origin == origin;
    });
    return done;
}

void sl_reg_set_peer(int fd, const struct sockaddr *addr, socklen_t len)
{
    if (!addr || len < sizeof(sa_family_t) || (addr->sa_family != AF_INET && addr->sa_family != AF_INET6))
        return;
    WITH_LOCKED(fd, true, {
        sl_addr_from_sockaddr(&r->peer, addr, len);
        r->flags |= F_PEER;
    });
}

/* ---- closing ----
 * Detach takes the record out of the table, counts the close, and swaps the fd's watch
 * bit for its closing bit: until release, after the real close, a scan walking
 * /proc/self/fd would otherwise find an open socket nobody tracks and adopt it as
 * "unseen". Release needs no lock; reattach (the real call failed) undoes detach. */

/* The one-fd protocol of close() and dup2(): the record leaves the table under the
 * lock and the close is accounted for before the real call; release only ends the
 * CLOSING window. */
/* Stripe lock held, r recorded: what a close notes beyond the count (a copy, a late
 * close, an unseen socket's, Python's finalizer); unlocks. */
static __attribute__((noinline)) void detach_noted(struct stripe *s, struct chunk *c, int fd, struct sl_rec_info *out)
{
    struct rec *r = HOT(c, fd);
    if (out)
        expand(fd, r, COLD(c, fd), out);
    uint32_t stack = r->stack;
    int leak = r->reported_leak;
    int64_t created = r->created_ns;
    note_closed(fd, stack, r->origin, leak, created, leak ? cold_of(r, COLD(c, fd)).reported_ns : 0);
    r->gen = 0;
    bump(&s->closed, 1);
    sl_fdstate_put(fd, SL_FD_CLOSING | SL_FD_CLOSED);
    unlock(&s->lock);
    note_finalized(fd, stack, leak, created);
}

/* sl_fd_detach_one in every case. */
static __attribute__((noinline)) bool detach_one(int fd, struct sl_rec_info *out)
{
    struct chunk *c = fd >= 0 ? chunk_peek(fd) : NULL;
    if (!c)
        return false;
    struct stripe *s = stripe_of(fd);
    sl_guard_enter();
    lock(&s->lock);
    bool had = HOT(c, fd)->gen != 0;
    if (had)
        detach_noted(s, c, fd, out);
    else
        unlock(&s->lock);
    sl_guard_leave();
    return had;
}

/* A leaf for the usual close (the lock free, a record with nothing to note but its
 * count, no copy asked for, no Python): every other case goes to detach_one. */
bool sl_fd_detach_one(int fd, struct sl_rec_info *out)
{
    struct chunk *c = fd >= 0 ? chunk_peek(fd) : NULL;
    if (SL_UNLIKELY(!c) || SL_UNLIKELY(out != NULL) || SL_UNLIKELY(sl_lang_python()) || SL_UNLIKELY(!sl_fdstate_covers(fd)))
        return detach_one(fd, out);
    struct rec *r = HOT(c, fd);
    struct stripe *s = stripe_of(fd);
    sl_guard_enter(); /* before the lock: a signal handler's close() must not wait for it */
    if (SL_UNLIKELY(!trylock(&s->lock))) {
        sl_guard_leave();
        return detach_one(fd, out);
    }
    if (SL_UNLIKELY(!r->gen) || SL_UNLIKELY(r->reported_leak) || SL_UNLIKELY(r->origin == SL_ORIGIN_UNSEEN)) {
        unlock(&s->lock);
        sl_guard_leave();
        return detach_one(fd, out);
    }
    uint32_t stack = r->stack;
    r->gen = 0;
    bump(&s->closed, 1);
    sl_fdstate_store(fd, SL_FD_CLOSING | SL_FD_CLOSED);
    unlock(&s->lock);
    sl_stack_note(stack, false);
    sl_guard_leave();
    return true;
}

void sl_fd_reattach_one(const struct sl_rec_info *info)
{
    int fd = info->fd;
    struct chunk *c = fd >= 0 ? chunk_peek(fd) : NULL;
    if (!c)
        return;
    struct stripe *s = stripe_of(fd);
    struct rec *r = HOT(c, fd);
    sl_guard_enter();
    lock(&s->lock);
    bump(&s->closed, -1); /* detach counted a close that did not happen */
    bool back = !r->gen;
    if (back) {
        fill(r, COLD(c, fd), info, info->gen);
        sl_fdstate_put(fd, live_bits(info->type, info->eof_ns));
    } else {
        bump(&s->stale, 1); /* the number was taken over meanwhile: the newer record wins */
        sl_fdstate_clear(fd, SL_FD_CLOSING);
    }
    unlock(&s->lock);
    if (back)
        sl_stack_note(info->stack, true); /* detach noted it closed */
    sl_guard_leave();
}

/* Records detached together (close_range, closefrom): copies, in an array mapped for
 * the call. */
struct sl_rec {
    size_t n, cap, bytes;
    struct sl_rec_info v[];
};

/* Room for one more copy in *l (mapped or grown now; no lock held). False if none. */
static bool list_room(struct sl_rec **l)
{
    struct sl_rec *o = *l;
    if (o && o->n < o->cap)
        return true;
    size_t cap = o ? o->cap * 2 : (size_t)live_total() + 16;
    size_t bytes = (sizeof(struct sl_rec) + cap * sizeof(struct sl_rec_info) + 4095) & ~(size_t)4095;
    struct sl_rec *nl = map(bytes);
    if (!nl)
        return false;
    nl->n = 0;
    if (o) {
        memcpy(nl->v, o->v, o->n * sizeof(o->v[0]));
        nl->n = o->n;
        unmap(o, o->bytes);
    }
    nl->cap = (bytes - sizeof(struct sl_rec)) / sizeof(struct sl_rec_info);
    nl->bytes = bytes;
    *l = nl;
    return true;
}

/* Detach fd's record into *l (no lock held by the caller). */
static void detach_into(struct sl_rec **l, int fd)
{
    struct chunk *c = chunk_peek(fd);
    if (!c)
        return;
    struct rec *r = HOT(c, fd);
    struct stripe *s = stripe_of(fd);
    bool room = list_room(l);
    lock(&s->lock);
    if (r->gen) {
        if (room) {
            expand(fd, r, COLD(c, fd), &(*l)->v[(*l)->n++]);
        } else { /* no memory for the copy: released at once, never put back */
            note_closed(fd, r->stack, r->origin, r->reported_leak, r->created_ns, cold_of(r, COLD(c, fd)).reported_ns);
        }
        r->gen = 0;
        bump(&s->closed, 1);
        sl_fdstate_put(fd, room ? SL_FD_CLOSING | SL_FD_CLOSED : SL_FD_CLOSED);
    }
    unlock(&s->lock);
}

struct sl_rec *sl_fd_detach(int fd)
{
    struct sl_rec *l = NULL;
    if (fd < 0)
        return NULL;
    sl_guard_enter();
    detach_into(&l, fd);
    sl_guard_leave();
    if (l && !l->n) {
        unmap(l, l->bytes);
        l = NULL;
    }
    return l;
}

struct sl_rec *sl_fd_detach_range(unsigned lo, unsigned hi)
{
    struct sl_rec *l = NULL;
    if (hi > INT_MAX)
        hi = INT_MAX;
    sl_guard_enter();
    for (int fd = sl_fdstate_next_watched(lo, hi); fd >= 0;
         fd = (unsigned)fd < hi ? sl_fdstate_next_watched((unsigned)fd + 1, hi) : -1)
        detach_into(&l, fd);
    /* numbers beyond the state map: walk the records */
    unsigned mapped = atomic_load(&sl_fdmap_n); /* 0: no map */
    unsigned from = lo > mapped ? lo : mapped;
    unsigned top = atomic_load(&chunks_top);
    for (unsigned fd = from; fd <= hi && (fd >> CHUNK_BITS) < top; fd++) {
        struct chunk *c = chunk_peek((int)fd);
        if (!c) {
            fd |= CHUNK - 1;
            continue;
        }
        if (HOT(c, fd)->gen)
            detach_into(&l, (int)fd);
        if (fd == INT_MAX)
            break;
    }
    sl_guard_leave();
    return l;
}

void sl_fd_release(struct sl_rec *l)
{
    if (!l)
        return;
    sl_guard_enter();
    for (size_t k = 0; k < l->n; k++) {
        const struct sl_rec_info *i = &l->v[k];
        /* If another thread has already put a new socket on the number and is closing
         * it too, this clears its closing bit early: a scan in that window may adopt
         * it, and the next scan drops the adopted record as stale. Rare and harmless. */
        sl_fdstate_clear(i->fd, SL_FD_CLOSING);
        note_closed(i->fd, i->stack, i->origin, i->reported_leak, i->created_ns, i->reported_ns);
        note_finalized(i->fd, i->stack, i->reported_leak, i->created_ns);
    }
    sl_guard_leave();
    unmap(l, l->bytes);
}

void sl_fd_reattach(struct sl_rec *l)
{
    if (!l)
        return;
    sl_guard_enter();
    for (size_t k = 0; k < l->n; k++) {
        const struct sl_rec_info *i = &l->v[k];
        int fd = i->fd;
        struct chunk *c = chunk_peek(fd);
        struct stripe *s = stripe_of(fd);
        lock(&s->lock);
        bump(&s->closed, -1); /* detach counted a close that did not happen */
        struct rec *r = HOT(c, fd);
        if (r->gen) { /* the number was taken over meanwhile: the newer record wins */
            sl_stack_note(i->stack, false);
            bump(&s->stale, 1);
            sl_fdstate_clear(fd, SL_FD_CLOSING);
        } else {
            fill(r, COLD(c, fd), i, i->gen);
            sl_fdstate_put(fd, live_bits(i->type, i->eof_ns));
        }
        unlock(&s->lock);
    }
    sl_guard_leave();
    unmap(l, l->bytes);
}

/* ---- snapshots and write-back ---- */

long sl_fd_live(void)
{
    return live_total();
}

uint64_t sl_fd_checkpoint(void)
{
    return atomic_load(&last_gen);
}

long sl_fd_snapshot(struct sl_rec_info **out)
{
    return sl_fd_snapshot_since(0, out);
}

long sl_fd_snapshot_since(uint64_t cp, struct sl_rec_info **out)
{
    size_t cap = (size_t)live_total() + 64 + CHUNK / STRIPES, n = 0;
    struct sl_rec_info *v = sl_big_alloc(cap * sizeof(*v));
    if (!v)
        return -ENOMEM;
    unsigned top = atomic_load(&chunks_top);
    sl_guard_enter();
    for (unsigned ci = 0; ci < top; ci++) {
        struct chunk *c = chunk_peek((int)(ci << CHUNK_BITS));
        if (!c)
            continue;
        for (unsigned st = 0; st < STRIPES; st++) {
            if (cap - n < CHUNK / STRIPES) { /* room for a stripe's share of a chunk, before its lock */
                size_t ncap = cap * 2;
                struct sl_rec_info *nv = sl_big_realloc(v, ncap * sizeof(*v));
                if (!nv) {
                    sl_guard_leave();
                    sl_big_free(v);
                    return -ENOMEM;
                }
                v = nv;
                cap = ncap;
            }
            struct stripe *s = &stripes[st];
            lock(&s->lock);
            for (unsigned j = st; j < CHUNK; j += STRIPES)
                if (c->hot[j].gen > cp)
                    expand((int)(ci << CHUNK_BITS | j), &c->hot[j], &c->cold[j], &v[n++]);
            unlock(&s->lock);
        }
    }
    sl_guard_leave();
    *out = v;
    return (long)n;
}

/* Run body on fd's record (r, k) if it still has generation gen. */
#define WITH_RECORD(fd, gen, body) WITH_LOCKED(fd, r->gen == (gen), body)

bool sl_fd_mark_leaked(int fd, uint64_t gen, int leak, int64_t now_ns)
{
    return WITH_RECORD(fd, gen, {
        if (!r->reported_leak)
            k->reported_ns = now_ns;
        r->reported_leak = (uint8_t)leak;
    });
}

bool sl_fd_restack(int fd, uint64_t gen, uint32_t stack)
{
    return WITH_RECORD(fd, gen, {
        sl_stack_move(r->stack, stack);
        r->stack = stack;
    });
}

bool sl_fd_set_inode(int fd, uint64_t gen, uint64_t dev, uint64_t ino)
{
    return WITH_RECORD(fd, gen, { k->dev = dev; k->ino = ino; });
}

bool sl_fd_set_meta(int fd, uint64_t gen, int family, int type, int proto)
{
    return WITH_RECORD(fd, gen, {
        r->family = (uint8_t)family;
        r->type = (uint8_t)(type & 0xf);
        r->proto = (uint16_t)proto;
        sl_fdstate_put(fd, live_bits(r->type, k->eof_ns)); /* not a stream: its reads stay plain */
    });
}

bool sl_fd_set_eof(int fd, uint64_t gen, uint32_t stack, int64_t now_ns)
{
    return WITH_RECORD(fd, gen, {
        if (!k->eof_ns) {
            k->eof_ns = now_ns;
            r->eof_stack = stack;
        }
        sl_fdstate_put(fd, SL_FD_WATCH);
    });
}

bool sl_fd_observe(int fd, uint64_t gen, int tcp_state, int64_t since_ns, int64_t now_ns, int64_t *close_wait_ns)
{
    return WITH_RECORD(fd, gen, {
        if (tcp_state != SL_STATE_OPEN)
            r->tcp_state = (uint8_t)tcp_state;
        else if (r->tcp_state == TCP_CLOSE_WAIT || r->tcp_state == SL_STATE_PEER_CLOSED)
            r->tcp_state = 0;
        if (tcp_state == TCP_CLOSE_WAIT || tcp_state == SL_STATE_PEER_CLOSED) {
            if (!k->close_wait_ns) {
                int64_t start = k->open_seen_ns > since_ns ? k->open_seen_ns : since_ns;
                k->close_wait_ns = start < now_ns ? start : now_ns;
            }
        } else {
            k->close_wait_ns = 0;
            k->open_seen_ns = now_ns;
        }
        if (close_wait_ns)
            *close_wait_ns = k->close_wait_ns;
    });
}

void sl_fd_drop_stale(int fd, uint64_t gen)
{
    WITH_RECORD(fd, gen, {
        retire_locked(s_, r);
        if (!sl_ownfd_is(fd))
            sl_fd_watch_set(fd, false);
    });
}

void sl_fd_stats(struct sl_fd_stats *st)
{
    memset(st, 0, sizeof(*st));
    sl_guard_enter();
    for (int i = 0; i < STRIPES; i++) {
        struct stripe *s = &stripes[i];
        lock(&s->lock);
        st->live += live_of(s);
        st->opened += atomic_load_explicit(&s->opened, memory_order_relaxed);
        st->closed += atomic_load_explicit(&s->closed, memory_order_relaxed);
        st->stale += atomic_load_explicit(&s->stale, memory_order_relaxed);
        unlock(&s->lock);
    }
    sl_guard_leave();
}

/* ---- fork ---- */

void sl_registry_lock_all(void)
{
    for (int i = 0; i < STRIPES; i++)
        lock(&stripes[i].lock);
}

void sl_registry_mark_forked(void)
{
    unsigned top = atomic_load(&chunks_top);
    for (unsigned ci = 0; ci < top; ci++) {
        struct chunk *c = chunk_peek((int)(ci << CHUNK_BITS));
        for (unsigned st = 0; c && st < STRIPES; st++) {
            lock(&stripes[st].lock);
            for (unsigned j = st; j < CHUNK; j += STRIPES)
                if (c->hot[j].gen)
                    c->hot[j].flags |= F_FORKED;
            unlock(&stripes[st].lock);
        }
    }
}

void sl_registry_unlock_all(void)
{
    for (int i = STRIPES - 1; i >= 0; i--)
        unlock(&stripes[i].lock);
}
