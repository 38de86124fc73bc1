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
 *     close() of any other fd costs one relaxed load.
 * Each record carries a generation number, unique per record, so the scanner and the
 * reporter can probe outside the lock and write back only to the record they probed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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
    struct sl_rec *next; /* free lists and detach lists */
    struct sl_rec_info info;
};

/* ---- stripes ---- */

#define STRIPES 32
struct stripe {
    pthread_mutex_t lock;
    struct sl_rec *head;   /* uthash table */
    struct sl_rec *free;   /* spare records */
    unsigned nfree;
    uint64_t gen;
    _Atomic long live;     /* HASH_COUNT(head), readable without the lock */
    long opened, closed, stale;
} __attribute__((aligned(64)));

static struct stripe stripes[STRIPES] = { [0 ... STRIPES - 1] = { .lock = PTHREAD_MUTEX_INITIALIZER } };

struct sl_counters sl_count;

static inline struct stripe *stripe_of(int fd)
{
    return &stripes[(unsigned)fd % STRIPES];
}

/* ---- watch bitmap ---- */

static _Atomic uint64_t *watch;   /* one bit per fd number below nwatch */
static unsigned nwatch;
static _Atomic int watch_hi = -1; /* highest fd ever marked */

bool sl_fd_watched(int fd)
{
    if (fd < 0)
        return false;
    if (SL_UNLIKELY(!watch) || (unsigned)fd >= nwatch)
        return true; /* unknown: take the slow path */
    return (atomic_load_explicit(&watch[(unsigned)fd >> 6], memory_order_relaxed) >> ((unsigned)fd & 63)) & 1;
}

void sl_fd_watch_set(int fd, bool on)
{
    if (fd < 0 || !watch || (unsigned)fd >= nwatch)
        return;
    uint64_t bit = (uint64_t)1 << ((unsigned)fd & 63);
    if (on) {
        atomic_fetch_or_explicit(&watch[(unsigned)fd >> 6], bit, memory_order_relaxed);
        int hi = atomic_load_explicit(&watch_hi, memory_order_relaxed);
        while (fd > hi && !atomic_compare_exchange_weak(&watch_hi, &hi, fd))
            ;
    } else {
        atomic_fetch_and_explicit(&watch[(unsigned)fd >> 6], ~bit, memory_order_relaxed);
    }
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
    if (watch)
        return 0;
    unsigned n = read_nr_open();
    void *p = mmap(NULL, n / 8, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return -ENOMEM; /* every close takes the slow path; still correct */
    nwatch = n;
    watch = p;
    return 0;
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
    atomic_store_explicit(&s->live, (long)HASH_COUNT(s->head), memory_order_relaxed);
}

/* Stripe lock held. */
static struct sl_rec *rec_alloc(struct stripe *s)
{
    struct sl_rec *r = s->free;
    if (r) {
        s->free = r->next;
        s->nfree--;
    } else {
        pthread_mutex_lock(&mem_lock);
        r = carve(sizeof(struct sl_rec));
        pthread_mutex_unlock(&mem_lock);
        if (!r)
            return NULL;
    }
    memset(r, 0, sizeof(*r));
    return r;
}

/* Stripe lock held. */
static void rec_free(struct stripe *s, struct sl_rec *r)
{
    r->next = s->free;
    s->free = r;
    s->nfree++;
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
    if (sl_opt.max_tracked > 0 && live_total() >= sl_opt.max_tracked) {
        /* the table may still hold a stale record for this number: drop it */
        pthread_mutex_lock(&s->lock);
        struct sl_rec *old = NULL;
        HASH_FIND(hh, s->head, &fd, sizeof(int), old);
        if (old) {
            HASH_DEL(s->head, old);
            note_count(s);
            rec_free(s, old);
            s->stale++;
            sl_fd_watch_set(fd, false);
        }
        pthread_mutex_unlock(&s->lock);
        note_untracked(true);
        return;
    }
    pthread_mutex_lock(&s->lock);
    struct sl_rec *old = NULL;
    HASH_FIND(hh, s->head, &fd, sizeof(int), old);
    if (old) {
        HASH_DEL(s->head, old);
        rec_free(s, old);
        s->stale++;
    }
    struct sl_rec *r = rec_alloc(s);
    if (!r) {
        note_count(s);
        if (old)
            sl_fd_watch_set(fd, false);
        pthread_mutex_unlock(&s->lock);
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
        pthread_mutex_unlock(&s->lock);
        note_untracked(true);
        return;
    }
    s->opened++;
    note_count(s);
    sl_fd_watch_set(fd, true);
    pthread_mutex_unlock(&s->lock);
    sl_scanner_start(); /* first socket: now the process needs its scanner */
}

/* Copy fd's record (if tracked) into *out. */
static bool lookup(int fd, struct sl_rec_info *out)
{
    struct stripe *s = stripe_of(fd);
    pthread_mutex_lock(&s->lock);
    struct sl_rec *r = NULL;
    HASH_FIND(hh, s->head, &fd, sizeof(int), r);
    if (r)
        *out = r->info;
    pthread_mutex_unlock(&s->lock);
    return r != NULL;
}

static void base_info(struct sl_rec_info *i, int fd, int origin)
{
    memset(i, 0, sizeof(*i));
    i->fd = fd;
    i->origin = (uint8_t)origin;
    i->created_ns = i->open_seen_ns = sl_now_ns();
    i->tid = sl_gettid();
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
        if (pthread_mutex_trylock(&s->lock) == 0) {
            struct sl_rec *r = NULL;
            HASH_FIND(hh, s->head, &fd, sizeof(int), r);
            origin = r ? r->info.origin : 0;
            pthread_mutex_unlock(&s->lock);
            break;
        }
        sched_yield();
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
    i.family = (uint16_t)family;
    i.type = (uint8_t)(type & 0xf);
    i.proto = (uint16_t)proto;
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
        /* but not the inode: if another thread closes newfd and a new socket takes the
         * number before this insert, a copied inode would make the report drop the new
         * socket as stale; unset, it is read from the fd itself */
        i.dev = i.ino = 0;
        i.origin = SL_ORIGIN_DUP;
        i.orig_stack = o.stack;
        i.created_ns = sl_now_ns();
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
    i.family = (uint16_t)family;
    i.type = (uint8_t)(type & 0xf);
    i.proto = (uint16_t)proto;
    insert(&i);
    sl_guard_leave();
}

void sl_fd_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    if (!addr || len < sizeof(sa_family_t) || (addr->sa_family != AF_INET && addr->sa_family != AF_INET6))
        return;
    sl_guard_enter();
    struct stripe *s = stripe_of(fd);
    pthread_mutex_lock(&s->lock);
    struct sl_rec *r = NULL;
    HASH_FIND(hh, s->head, &fd, sizeof(int), r);
    if (r)
        sl_addr_from_sockaddr(&r->info.peer, addr, len);
    pthread_mutex_unlock(&s->lock);
    sl_guard_leave();
}

/* ---- closing ---- */

static struct sl_rec *detach_locked(struct stripe *s, int fd)
{
    struct sl_rec *r = NULL;
    HASH_FIND(hh, s->head, &fd, sizeof(int), r);
    if (r) {
        HASH_DEL(s->head, r);
        note_count(s);
        r->next = NULL;
    }
    return r;
}

struct sl_rec *sl_fd_detach(int fd)
{
    if (fd < 0)
        return NULL;
    struct stripe *s = stripe_of(fd);
    sl_guard_enter();
    pthread_mutex_lock(&s->lock);
    struct sl_rec *r = detach_locked(s, fd);
    if (r)
        sl_fd_watch_set(fd, false);
    pthread_mutex_unlock(&s->lock);
    sl_guard_leave();
    return r;
}

struct sl_rec *sl_fd_detach_range(unsigned lo, unsigned hi)
{
    struct sl_rec *list = NULL;
    sl_guard_enter();
    int top = atomic_load(&watch_hi);
    if (watch && top >= 0) {
        unsigned end = hi < (unsigned)top ? hi : (unsigned)top;
        for (unsigned fd = lo; fd <= end && fd < nwatch;) {
            uint64_t w = atomic_load_explicit(&watch[fd >> 6], memory_order_relaxed) >> (fd & 63);
            if (!w) {
                fd = (fd | 63) + 1;
                continue;
            }
            fd += (unsigned)__builtin_ctzll(w);
            if (fd > end)
                break;
            struct stripe *s = stripe_of((int)fd);
            pthread_mutex_lock(&s->lock);
            struct sl_rec *r = detach_locked(s, (int)fd);
            if (r) {
                sl_fd_watch_set((int)fd, false);
                r->next = list;
                list = r;
            }
            pthread_mutex_unlock(&s->lock);
            fd++;
        }
    }
    if (!watch || hi >= nwatch) {
        /* numbers beyond the bitmap: walk the tables */
        for (int i = 0; i < STRIPES; i++) {
            struct stripe *s = &stripes[i];
            pthread_mutex_lock(&s->lock);
            struct sl_rec *r, *tmp;
            HASH_ITER(hh, s->head, r, tmp)
            {
                unsigned fd = (unsigned)r->info.fd;
                if (fd >= lo && fd <= hi && (!watch || fd >= nwatch)) {
                    HASH_DEL(s->head, r);
                    r->next = list;
                    list = r;
                }
            }
            note_count(s);
            pthread_mutex_unlock(&s->lock);
        }
    }
    sl_guard_leave();
    return list;
}

void sl_fd_release(struct sl_rec *list)
{
    sl_guard_enter();
    while (list) {
        struct sl_rec *next = list->next;
        struct stripe *s = stripe_of(list->info.fd);
        pthread_mutex_lock(&s->lock);
        s->closed++;
        rec_free(s, list);
        pthread_mutex_unlock(&s->lock);
        list = next;
    }
    sl_guard_leave();
}

void sl_fd_reattach(struct sl_rec *list)
{
    sl_guard_enter();
    while (list) {
        struct sl_rec *next = list->next;
        int fd = list->info.fd;
        struct stripe *s = stripe_of(fd);
        pthread_mutex_lock(&s->lock);
        struct sl_rec *cur = NULL;
        HASH_FIND(hh, s->head, &fd, sizeof(int), cur);
        if (cur) {
            rec_free(s, list); /* the number was taken over meanwhile: the newer record wins */
        } else {
            hash_oom = 0;
            HASH_ADD(hh, s->head, info.fd, sizeof(int), list);
            if (hash_oom) {
                rec_free(s, list);
                note_untracked(true);
            } else {
                note_count(s);
                sl_fd_watch_set(fd, true);
            }
        }
        pthread_mutex_unlock(&s->lock);
        list = next;
    }
    sl_guard_leave();
}

/* ---- snapshots and write-back ---- */

long sl_fd_snapshot(struct sl_rec_info **out)
{
    size_t cap = (size_t)live_total() + 64, n = 0;
    struct sl_rec_info *v = malloc(cap * sizeof(*v));
    if (!v)
        return -ENOMEM;
    sl_guard_enter();
    for (int i = 0; i < STRIPES; i++) {
        struct stripe *s = &stripes[i];
        pthread_mutex_lock(&s->lock);
        size_t need = n + HASH_COUNT(s->head);
        if (need > cap) {
            size_t ncap = need + need / 2;
            struct sl_rec_info *nv = realloc(v, ncap * sizeof(*v));
            if (!nv) {
                pthread_mutex_unlock(&s->lock);
                sl_guard_leave();
                free(v);
                return -ENOMEM;
            }
            v = nv;
            cap = ncap;
        }
        struct sl_rec *r, *tmp;
        HASH_ITER(hh, s->head, r, tmp)
        v[n++] = r->info;
        pthread_mutex_unlock(&s->lock);
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
        pthread_mutex_lock(&s_->lock);                                                       \
        HASH_FIND(hh, s_->head, &(fd), sizeof(int), r);                                      \
        bool found_ = r && r->info.gen == (gen);                                             \
        if (found_) {                                                                        \
            body;                                                                            \
        }                                                                                    \
        pthread_mutex_unlock(&s_->lock);                                                     \
        sl_guard_leave();                                                                    \
        found_;                                                                              \
    })

bool sl_fd_set_inode(int fd, uint64_t gen, uint64_t dev, uint64_t ino)
{
    return WITH_RECORD(fd, gen, { r->info.dev = dev; r->info.ino = ino; });
}

bool sl_fd_set_meta(int fd, uint64_t gen, int family, int type, int proto)
{
    return WITH_RECORD(fd, gen, {
        r->info.family = (uint16_t)family;
        r->info.type = (uint8_t)(type & 0xf);
        r->info.proto = (uint16_t)proto;
    });
}

bool sl_fd_observe(int fd, uint64_t gen, int tcp_state, int64_t since_ns, int64_t now_ns, int64_t *close_wait_ns)
{
    return WITH_RECORD(fd, gen, {
        r->info.tcp_state = (uint8_t)tcp_state;
        if (tcp_state == TCP_CLOSE_WAIT) {
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
    pthread_mutex_lock(&s->lock);
    struct sl_rec *r = NULL;
    HASH_FIND(hh, s->head, &fd, sizeof(int), r);
    if (r && r->info.gen == gen) {
        HASH_DEL(s->head, r);
        note_count(s);
        rec_free(s, r);
        s->stale++;
        if (!sl_privfd_is(fd))
            sl_fd_watch_set(fd, false);
    }
    pthread_mutex_unlock(&s->lock);
    sl_guard_leave();
}

void sl_fd_stats(struct sl_fd_stats *st)
{
    memset(st, 0, sizeof(*st));
    sl_guard_enter();
    for (int i = 0; i < STRIPES; i++) {
        struct stripe *s = &stripes[i];
        pthread_mutex_lock(&s->lock);
        st->live += (long)HASH_COUNT(s->head);
        st->opened += s->opened;
        st->closed += s->closed;
        st->stale += s->stale;
        pthread_mutex_unlock(&s->lock);
    }
    sl_guard_leave();
}

/* ---- fork ---- */

void sl_fdtable_lock_all(void)
{
    for (int i = 0; i < STRIPES; i++)
        pthread_mutex_lock(&stripes[i].lock);
    pthread_mutex_lock(&mem_lock);
}

void sl_fdtable_unlock_all(void)
{
    pthread_mutex_unlock(&mem_lock);
    for (int i = STRIPES - 1; i >= 0; i--)
        pthread_mutex_unlock(&stripes[i].lock);
}
