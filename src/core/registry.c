/*
 * registry.c - the registry of live socket fds.
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
 *     uthash's buckets come from slab.c, so the table is safe to use from a signal
 *     handler that interrupted anything but the shim itself (the per-thread guard turns
 *     those re-entries into pass-through);
 *   - the fd state map (fd/fdstate.c) has the watch bit set for every tracked fd, and
 *     the EOF bit for every tracked stream socket whose end-of-file is not recorded
 *     yet; records and their bits change together under the stripe lock;
 *   - every stripe's table holds a sentinel record (a negative fd no caller uses), so
 *     uthash never frees and re-allocates a table that empties and fills again, which
 *     a process holding one socket at a time would otherwise do at every close;
 *   - a close costs one lock round trip: the record leaves the table under the lock
 *     before the real close, and after it is returned to its stripe's spares through a
 *     lock-free push (an atomic list that the next allocation under the lock takes
 *     whole, so no pop can meet an ABA).
 * Each record carries a generation number, unique per record, so the scanner and the
 * reporter can probe outside the lock and write back only to the record they probed.
 * Generations come from one counter, so they also order records by creation: a
 * checkpoint (sockleak_checkpoint) is the last one handed out.
 * The registry makes no system call and captures no stack: verbs.c does that first.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <netinet/tcp.h>
#include <string.h>

#include "core.h"
#include "stripelock.h"

/* uthash: our allocator, int hashing with good low bits, no exit() on OOM */
static __thread int hash_oom SL_TLS;
#define uthash_malloc(sz) sl_slab_alloc(sz)
#define uthash_free(ptr, sz) sl_slab_free(ptr, sz)
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

/* ---- stripes ---- */

#define STRIPES 32
struct stripe {
    struct sl_lock lock;
    struct sl_rec *head;   /* uthash table, with the sentinel once the first record came */
    struct sl_rec *free;   /* spare records */
    _Atomic(struct sl_rec *) returned; /* records freed without the lock, taken whole */
    _Atomic long live;     /* records in head, readable without the lock */
    long opened, closed, stale;
} __attribute__((aligned(64)));

static struct stripe stripes[STRIPES];
static struct sl_rec sentinel[STRIPES];
static _Atomic uint64_t last_gen; /* the last generation handed out */

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
struct sl_ring sl_late_ring, sl_dclose_ring;

static inline struct stripe *stripe_of(int fd)
{
    return &stripes[(unsigned)fd % STRIPES];
}

/* The state bits of a recorded fd: watched; and EOF while a read returning 0 on it would
 * be news (a stream socket, or one whose type is not known yet). */
static inline unsigned live_bits(const struct sl_rec_info *i)
{
    return SL_FD_WATCH | ((i->type == SOCK_STREAM || i->type == 0) && !i->eof_ns ? SL_FD_EOF : 0);
}

/* Under fd's stripe lock: could the table hold a record for fd? Records and watch bits
 * change together under that lock, so a clear bit is a sure no. */
static inline bool may_hold_record(int fd)
{
    return !sl_fdstate_covers(fd) || (sl_fdstate_get(fd) & SL_FD_WATCH);
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
        r = sl_slab_carve(sizeof(struct sl_rec));
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
        sl_ring_push(&sl_late_ring, &ev, sizeof(ev));
        atomic_fetch_add_explicit(&sl_count.closed_late, 1, memory_order_relaxed);
    }
}

/* No lock: the socket of record i, made by Python code, is being closed. If CPython's
 * finalizer closes it (the program dropped it unclosed: its garbage collector, its
 * shutdown), it was never closed by the program, as CPython's ResourceWarning says:
 * a leak closed late, kind "unclosed". */
static void note_finalized(const struct sl_rec_info *i)
{
    const struct sl_stack *st = sl_stack_get(i->stack);
    if (SL_LIKELY(!st || st->lang != SL_LANG_PYTHON || i->reported_leak))
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
    struct sl_late ev = { .fd = i->fd, .stack = i->stack, .leak = SL_LATE_UNCLOSED,
                          .lifetime_ns = sl_now_ns() - i->created_ns };
    sl_ring_push(&sl_late_ring, &ev, sizeof(ev));
    atomic_fetch_add_explicit(&sl_count.closed_late, 1, memory_order_relaxed);
}

/* No lock: r left the table for a close we saw; account for it and free it. */
static void retire_closed(struct sl_rec *r)
{
    note_closed(&r->info);
    note_finalized(&r->info);
    rec_return(stripe_of(r->info.fd), r);
}

static void note_untracked(bool nomem)
{
    atomic_fetch_add_explicit(&sl_count.untracked, 1, memory_order_relaxed);
    if (nomem)
        atomic_fetch_add_explicit(&sl_count.nomem, 1, memory_order_relaxed);
}

bool sl_reg_insert(const struct sl_rec_info *info)
{
    int fd = info->fd;
    struct stripe *s = stripe_of(fd);
    lock(&s->lock);
    if (SL_UNLIKELY(info->origin == SL_ORIGIN_UNSEEN) && sl_fd_busy(fd)) {
        /* The scan's own test (visit_fd), made again under the lock: a wrapper may have
         * recorded the number (or begun to close it) since the scan looked, and what the
         * scan read may already be a socket closed since; the record is the newer truth. */
        unlock(&s->lock);
        return false;
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
        return false;
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
        return false;
    }
    r->info = *info;
    r->info.gen = atomic_fetch_add_explicit(&last_gen, 1, memory_order_relaxed) + 1;
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
        return false;
    }
    s->opened++;
    note_count(s);
    sl_fdstate_update(fd, SL_FD_CLOSING | SL_FD_CLOSED | SL_FD_EOF, live_bits(info));
    sl_stack_note(info->stack, true);
    unlock(&s->lock);
    if (info->origin == SL_ORIGIN_UNSEEN)
        atomic_fetch_add_explicit(&sl_count.unseen_found, 1, memory_order_relaxed);
    return true;
}

bool sl_reg_lookup(int fd, struct sl_rec_info *out)
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
        SL_SYS(SYS_sched_yield);
    }
    sl_guard_leave();
    return origin;
}

bool sl_reg_set_ignored(int fd)
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

bool sl_reg_set_origin(int fd, uint64_t dev, uint64_t ino, unsigned from_mask, int origin)
{
    struct stripe *s = stripe_of(fd);
    lock(&s->lock);
    struct sl_rec *r = NULL;
    HASH_FIND(hh, s->head, &fd, sizeof(int), r);
    bool same = r && (!r->info.ino || (r->info.ino == ino && r->info.dev == dev));
    if (same && (from_mask >> r->info.origin & 1)) {
        r->info.origin = (uint8_t)origin;
        r->info.dev = dev, r->info.ino = ino;
    }
    bool done = same && r->info.origin == origin;
    unlock(&s->lock);
    return done;
}

void sl_reg_set_peer(int fd, const struct sockaddr *addr, socklen_t len)
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
        sl_fdstate_update(fd, SL_FD_WATCH | SL_FD_EOF, SL_FD_CLOSING | SL_FD_CLOSED);
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
    struct sl_rec_info info;
    if (r) {
        note_closed(&r->info); /* atomics and a ring slot: fine under the lock */
        info = r->info;
        if (out)
            *out = r->info;
        rec_free(s, r);
    }
    unlock(&s->lock);
    if (r)
        note_finalized(&info);
    sl_guard_leave();
    return r != NULL;
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
        sl_fdstate_update(fd, SL_FD_CLOSING, 0);
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
        sl_fdstate_update(fd, SL_FD_CLOSING | SL_FD_CLOSED, live_bits(info));
    } else if (!cur) {
        s->stale++;
        sl_fdstate_update(fd, SL_FD_CLOSING | SL_FD_CLOSED, 0);
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
    for (int fd = sl_fdstate_next_watched(lo, hi); fd >= 0;
         fd = (unsigned)fd < hi ? sl_fdstate_next_watched((unsigned)fd + 1, hi) : -1) {
        struct stripe *s = stripe_of(fd);
        lock(&s->lock);
        struct sl_rec *r = detach_locked(s, fd);
        if (r) {
            LINK(r) = list;
            list = r;
        }
        unlock(&s->lock);
    }
    if (!sl_fdmap || hi >= sl_fdmap_n) {
        /* numbers beyond the bitmap: walk the tables */
        for (int i = 0; i < STRIPES; i++) {
            struct stripe *s = &stripes[i];
            lock(&s->lock);
            struct sl_rec *r, *tmp;
            HASH_ITER(hh, s->head, r, tmp)
            {
                unsigned fd = (unsigned)r->info.fd;
                if (!is_sentinel(r) && fd >= lo && fd <= hi && (!sl_fdmap || fd >= sl_fdmap_n)) {
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
        sl_fdstate_update(list->info.fd, SL_FD_CLOSING, 0);
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
            sl_fdstate_update(fd, SL_FD_CLOSING, 0);
        } else {
            hash_oom = 0;
            HASH_ADD(hh, s->head, info.fd, sizeof(int), list);
            if (hash_oom) {
                retire_locked(s, list);
                note_untracked(true);
                sl_fdstate_update(fd, SL_FD_CLOSING | SL_FD_CLOSED, 0);
            } else {
                note_count(s);
                sl_fdstate_update(fd, SL_FD_CLOSING | SL_FD_CLOSED, live_bits(&list->info));
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
        if (!is_sentinel(r) && r->info.gen > cp)
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

bool sl_fd_mark_leaked(int fd, uint64_t gen, int leak, int64_t now_ns)
{
    return WITH_RECORD(fd, gen, {
        if (!r->info.reported_leak)
            r->info.reported_ns = now_ns;
        r->info.reported_leak = (uint8_t)leak;
    });
}

bool sl_fd_restack(int fd, uint64_t gen, uint32_t stack)
{
    return WITH_RECORD(fd, gen, {
        sl_stack_move(r->info.stack, stack);
        r->info.stack = stack;
    });
}

bool sl_fd_set_inode(int fd, uint64_t gen, uint64_t dev, uint64_t ino)
{
    return WITH_RECORD(fd, gen, { r->info.dev = dev; r->info.ino = ino; });
}

bool sl_fd_set_meta(int fd, uint64_t gen, int family, int type, int proto)
{
    return WITH_RECORD(fd, gen, {
        sl_rec_set_meta(&r->info, family, type, proto);
        if (!(live_bits(&r->info) & SL_FD_EOF))
            sl_fdstate_update(fd, SL_FD_EOF, 0); /* not a stream: its reads stay plain */
    });
}

bool sl_fd_set_eof(int fd, uint64_t gen, uint32_t stack, int64_t now_ns)
{
    return WITH_RECORD(fd, gen, {
        if (!r->info.eof_ns) {
            r->info.eof_ns = now_ns;
            r->info.eof_stack = stack;
        }
        sl_fdstate_update(fd, SL_FD_EOF, 0);
    });
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
        if (!sl_ownfd_is(fd))
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

void sl_registry_lock_all(void)
{
    for (int i = 0; i < STRIPES; i++)
        lock(&stripes[i].lock);
    sl_slab_lock();
}

void sl_registry_mark_forked(void)
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

void sl_registry_unlock_all(void)
{
    sl_slab_unlock();
    for (int i = STRIPES - 1; i >= 0; i--)
        unlock(&stripes[i].lock);
}
