/*
 * stacks.c - allocation stacks: capture raw return addresses, store each distinct stack once.
 *
 * Capture runs in every socket-creating wrapper, so it only collects instruction
 * pointers (unw_backtrace: libunwind's cached fast path, no unw_step loop) and interns
 * them; symbolization waits for a report. In a Python or Java program the frames of
 * the running language code are captured too (langstack.c) and stored after the
 * native ones, in the same entry: a record still holds one stack id. Frames inside the shim, and inside a
 * sanitizer runtime that sits between the host and the shim (libasan's interceptors),
 * are dropped from the top, so frame 0 is the host's code that called socket().
 *
 * libunwind is loaded with dlopen(RTLD_LOCAL) instead of being linked: libunwind.so.8
 * exports _Unwind_RaiseException and friends, and a linked copy would sit in the
 * global scope where a C++ host (or a C host that later dlopens C++ code) could bind
 * its exception unwinding to it. Kept local, only we see it. On its first unwind
 * libunwind opens a pipe (to validate addresses) through the PLT, which lands in our
 * pipe2 wrapper; sl_tls_in_unwind tells the wrapper to hand the pipe to fd/ownfd.c,
 * which moves it out of the host's way and protects it from closefrom() & co. Without
 * libunwind, glibc's backtrace() is used.
 *
 * The stack table is open addressing over atomic pointers: lookups take no lock,
 * inserts take table_lock and publish with release stores. Stacks are immutable once
 * published, so readers (the reporter) need no lock either. Ids are dense from 1.
 * Beside each stack, two atomic counters say how many sockets it opened and how many
 * of those were closed since start (id 0: sockets without a stack): reports turn them
 * into growth per stack.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <link.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>

#include "core.h"

#define SLOTS (1u << 16)
#define MAX_STACKS (SLOTS / 4 * 3)
_Static_assert(MAX_STACKS == SL_MAX_STACKS, "core.h's bound");
#define SKIP_SLACK 8          /* our own frames above the host's, at most */
#define ARENA_CHUNK (256 * 1024)

struct sl_stack_counts sl_stack_counts_tab[SL_STACK_COUNTS]; /* by stack id; [0]: sockets without a stack */
static _Atomic(struct sl_stack *) *slots;
static struct sl_stack **by_id;            /* by_id[id], 1..nstacks */
static _Atomic uint32_t nstacks;
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static char *arena_cur, *arena_end;
static _Atomic long overflow;

static int (*unwind_fn)(void **buf, int size);
static const char *unwinder = "none";

/* address ranges to skip at the top of a stack: the shim, then sanitizer runtimes */
struct range {
    uintptr_t lo, hi;
};
static struct range self_range;
static struct range skip_ranges[4];
static int nskip;

static int self_marker;

/* sanitizer runtimes: their interceptors sit between the host and the shim */
static int find_ranges(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size, (void)arg;
    uintptr_t lo, hi;
    const char *name = info->dlpi_name ? info->dlpi_name : "";
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    if ((!strncmp(base, "libasan.so", 10) || !strncmp(base, "libtsan.so", 10) || !strncmp(base, "libubsan.so", 11)
         || !strncmp(base, "libhwasan.so", 12) || !strncmp(base, "libclang_rt.", 12))
        && nskip < (int)SL_ARRAY_LEN(skip_ranges) && sl_phdr_bounds(info, &lo, &hi)) {
        skip_ranges[nskip].lo = lo;
        skip_ranges[nskip].hi = hi;
        nskip++;
    }
    return 0;
}

static bool ip_is_ours(uintptr_t ip)
{
    return ip >= self_range.lo && ip < self_range.hi;
}

static bool skippable(uintptr_t ip)
{
    if (ip_is_ours(ip))
        return true;
    for (int i = 0; i < nskip; i++)
        if (ip >= skip_ranges[i].lo && ip < skip_ranges[i].hi)
            return true;
    return false;
}

int sl_stacks_init(void)
{
    if (slots)
        return 0;
    sl_module_bounds(&self_marker, &self_range.lo, &self_range.hi);
    dl_iterate_phdr(find_ranges, NULL);
    slots = sl_map_zeroed(SLOTS * sizeof(*slots));
    by_id = sl_map_zeroed((MAX_STACKS + 1) * sizeof(*by_id));
    if (!slots || !by_id)
        return -ENOMEM;
    sl_unwind_init();

    /* The unwinder. RTLD_LOCAL keeps its _Unwind_* out of the host's symbol scope.
     * Not under ThreadSanitizer: libunwind frees its per-thread cache from a TSD
     * destructor that runs after TSan has torn the thread down, and the
     * pthread_mutex_lock in there crashes the host at every thread exit. */
    void *h = dlsym(RTLD_DEFAULT, "__tsan_init") ? NULL : dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
    if (h)
        unwind_fn = (int (*)(void **, int))dlsym(h, "unw_backtrace");
    if (unwind_fn) {
        unwinder = "libunwind";
    } else {
        unwind_fn = backtrace;
        unwinder = "backtrace";
        /* Nor the fast unwinder: its rules come from libdw in the I/O child, whose own fd
         * table ThreadSanitizer cannot know of (it reports the child's fds as races). */
        sl_opt.unwinder = SL_UNWIND_LIBUNWIND;
    }
    /* glibc's backtrace() loads libgcc_s on its first call: do that now, not inside
     * some host's signal handler. libunwind needs no warm-up (its local unwinding,
     * first call included, is made for signal handlers): it opens its pipe (two fds,
     * moved high, privfd.c) on the first unwind, at the first socket, so a process that
     * never makes one never holds an fd of the shim's. */
    if (unwind_fn == backtrace) {
        void *buf[4];
        sl_guard_enter();
        sl_tls_in_unwind++;
        unwind_fn(buf, 4);
        sl_tls_in_unwind--;
        sl_guard_leave();
    }
    sl_lang_init();
    return 0;
}

/* The report's "unwinder": the mode in use (fast and verify fall back to libunwind,
 * or to glibc's backtrace() without it, which is then named) */
const char *sl_stack_unwinder(void)
{
    if (unwind_fn && unwind_fn != backtrace) {
        if (sl_opt.unwinder == SL_UNWIND_FAST)
            return "fast";
        if (sl_opt.unwinder == SL_UNWIND_VERIFY)
            return "verify";
    }
    return unwinder;
}

static uint64_t hash_words(uint64_t h, const uintptr_t *w, int n)
{
    for (int i = 0; i < n; i++) {
        h ^= w[i];
        h *= 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    return h;
}

/* A plain loop, not memcmp: a sanitizer runtime in the host (TSan) intercepts memcmp
 * and, not seeing the atomics that published s (this library is not instrumented),
 * would report the lock-free lookup as a data race in the host's name. */
static inline __attribute__((always_inline)) bool same_words(const uintptr_t *a, const uintptr_t *b, int n)
{
    for (int i = 0; i < n; i++)
        if (a[i] != b[i])
            return false;
    return true;
}

static inline __attribute__((always_inline)) bool same(const struct sl_stack *s, uint64_t h, const uintptr_t *ip,
                                                       int depth, int lang, const struct sl_lframe *lf, int nlang)
{
    return s->hash == h && s->depth == depth && s->lang == lang && s->nlang == nlang && same_words(s->ip, ip, depth)
        && same_words(s->ip + depth, (const uintptr_t *)lf, 2 * nlang);
}

/* table_lock held */
static struct sl_stack *arena_alloc(size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (!arena_cur || (size_t)(arena_end - arena_cur) < n) {
        char *p = mmap(NULL, ARENA_CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return NULL;
        arena_cur = p;
        arena_end = p + ARENA_CHUNK;
    }
    struct sl_stack *s = (struct sl_stack *)arena_cur;
    arena_cur += n;
    return s;
}

uint32_t sl_stack_intern(const uintptr_t *ip, int depth)
{
    return sl_stack_intern_lang(ip, depth, SL_LANG_NONE, NULL, 0);
}

uint32_t sl_stack_intern_lang(const uintptr_t *ip, int depth, int lang, const struct sl_lframe *lf, int nlang)
{
    if (depth < 0 || depth > SL_MAX_DEPTH)
        depth = depth < 0 ? 0 : SL_MAX_DEPTH;
    if (nlang < 0 || nlang > SL_MAX_DEPTH || !lang)
        nlang = nlang > SL_MAX_DEPTH && lang ? SL_MAX_DEPTH : 0;
    if (!slots || depth + nlang == 0)
        return 0;
    uint64_t h = hash_words(0x9e3779b97f4a7c15ull ^ (uint64_t)depth ^ (uint64_t)lang << 56, ip, depth);
    h = hash_words(h ^ (uint64_t)nlang, (const uintptr_t *)lf, 2 * nlang);
    h = h ? h : 1;
    uint32_t idx = (uint32_t)h & (SLOTS - 1);
    for (uint32_t probe = 0; probe < SLOTS; probe++, idx = (idx + 1) & (SLOTS - 1)) {
        struct sl_stack *s = atomic_load_explicit(&slots[idx], memory_order_acquire);
        if (!s)
            break;
        if (same(s, h, ip, depth, lang, lf, nlang))
            return s->id;
    }
    /* not there: insert under the lock, probing again (another thread may have won) */
    uint32_t id = 0;
    pthread_mutex_lock(&table_lock);
    idx = (uint32_t)h & (SLOTS - 1);
    for (uint32_t probe = 0; probe < SLOTS; probe++, idx = (idx + 1) & (SLOTS - 1)) {
        struct sl_stack *s = atomic_load_explicit(&slots[idx], memory_order_relaxed);
        if (s) {
            if (same(s, h, ip, depth, lang, lf, nlang)) {
                id = s->id;
                break;
            }
            continue;
        }
        uint32_t n = atomic_load_explicit(&nstacks, memory_order_relaxed);
        if (n >= MAX_STACKS) {
            atomic_fetch_add_explicit(&overflow, 1, memory_order_relaxed);
            break;
        }
        s = arena_alloc(sizeof(*s) + (size_t)(depth + 2 * nlang) * sizeof(uintptr_t));
        if (!s)
            break;
        s->hash = h;
        s->depth = (uint16_t)depth;
        s->lang = (uint8_t)lang;
        s->nlang = (uint8_t)nlang;
        s->id = n + 1;
        if (depth)
            memcpy(s->ip, ip, (size_t)depth * sizeof(uintptr_t));
        if (nlang)
            memcpy(s->ip + depth, lf, (size_t)nlang * sizeof(*lf));
        by_id[s->id] = s;
        atomic_store_explicit(&nstacks, n + 1, memory_order_release);
        atomic_store_explicit(&slots[idx], s, memory_order_release);
        id = s->id;
        break;
    }
    pthread_mutex_unlock(&table_lock);
    return id;
}

/* The first frame of buf[0..n) outside the shim (and a sanitizer runtime). */
static int first_outside(void *const *buf, int n)
{
    int first = 0;
    while (first < n && skippable((uintptr_t)buf[first]))
        first++;
    return first;
}

static bool same_frames(void *const *a, int na, void *const *b, int nb)
{
    if (na != nb)
        return false;
    for (int i = 0; i < na; i++)
        if (a[i] != b[i])
            return false;
    return true;
}

/* The caller's native return addresses, at most depth, into *ips (which then points
 * into buf, or into a stack of the table when the fast unwinder replayed a walk this
 * thread tagged: *tag is that stack, native frames only). Returns the count; *walked:
 * a whole fast walk, which a replay may take next time once tagged. pre: the result of
 * a fast walk into buf made already (with *tag), or NOT_WALKED. */
#define NOT_WALKED (-100)
static int natives(void **buf, int depth, const uintptr_t **ips, uint32_t *tag, bool *walked, int pre)
{
    void *lib[SL_MAX_DEPTH + SKIP_SLACK];
    uint32_t id = *tag;
    int n = pre != NOT_WALKED ? pre
          : sl_opt.unwinder != SL_UNWIND_LIBUNWIND
              ? sl_unwind_fast((uintptr_t *)buf, depth + (nskip ? SKIP_SLACK : 0), self_range.lo, self_range.hi, &id)
              : -1;
    *tag = 0;
    if (SL_LIKELY(n == SL_UNWIND_REPLAYED && sl_opt.unwinder != SL_UNWIND_VERIFY)) {
        const struct sl_stack *st = sl_stack_get(id);
        *walked = false;
        *tag = st ? id : 0;
        *ips = st ? st->ip : NULL;
        return st ? st->depth : 0;
    }
    int first = n >= 0 && nskip ? first_outside(buf, n) : 0; /* the shim's frames are left out already */
    *walked = n >= 0;
    if (SL_UNLIKELY(n < 0 || sl_opt.unwinder == SL_UNWIND_VERIFY)) {
        sl_tls_in_unwind++;
        int m = unwind_fn(lib, depth + SKIP_SLACK);
        sl_tls_in_unwind--;
        int lfirst = first_outside(lib, m), lkeep = m - lfirst < depth ? m - lfirst : depth;
        if (n >= 0 || n == SL_UNWIND_REPLAYED) { /* verify: the fast stack must be libunwind's */
            const struct sl_stack *st = n == SL_UNWIND_REPLAYED ? sl_stack_get(id) : NULL;
            int keep = n - first < depth ? n - first : depth;
            if (st ? !same_frames((void *const *)st->ip, st->depth, lib + lfirst, lkeep)
                   : !same_frames(buf + first, keep, lib + lfirst, lkeep)) {
                sl_unwind_note_mismatch();
                *walked = false;
            }
        } else if (unwind_fn != backtrace) {
            sl_unwind_want((const uintptr_t *)lib, m); /* rules for the next time */
        }
        memcpy(buf, lib, (size_t)m * sizeof(void *));
        n = m;
        first = lfirst;
    }
    *ips = (const uintptr_t *)(buf + first);
    return n - first < depth ? (n - first > 0 ? n - first : 0) : depth;
}

/* Everything but a replay: language frames, a walk to intern, libunwind. pre: a fast
 * walk made already into buf (NOT_WALKED: none), quiet: sl_lang_quiet() said so. */
static __attribute__((noinline)) uint32_t capture(int depth, void **buf, int pre, uint32_t pre_tag, bool quiet)
{
    SL_KEEP_ERRNO(); /* libunwind, the stack table's mutex and mmap, the runtimes' calls */
    struct sl_lframe lf[SL_MAX_DEPTH];
    uint8_t lang = SL_LANG_NONE;
    int nlang = quiet ? 0 : sl_lang_capture(lf, depth, &lang);
    int native = nlang ? sl_lang_native_depth(depth) : depth;
    const uintptr_t *ips = NULL;
    uint32_t tag = pre_tag;
    bool walked = false;
    int keep = native > 0 ? natives(buf, native, &ips, &tag, &walked, nlang ? NOT_WALKED : pre) : 0;
    if (!nlang && !quiet) /* Java frames, which look at the caller */
        nlang = sl_lang_capture_native(lf, depth, keep ? ips[0] : 0, &lang);
    if (!nlang && tag)
        return tag; /* a replayed walk, and no language frames: its stack */
    uint32_t got = sl_stack_intern_lang(ips, keep, lang, lf, nlang);
    if (walked) /* a replay gives the native frames: the tag is the stack of those alone */
        sl_unwind_remember(nlang ? sl_stack_intern(ips, keep) : got);
    return got;
}

uint32_t sl_stack_take(int depth)
{
    if (SL_UNLIKELY(!unwind_fn || !slots))
        return 0;
    if (depth > SL_MAX_DEPTH)
        depth = SL_MAX_DEPTH;
    void *buf[SL_MAX_DEPTH + SKIP_SLACK];
    if (SL_UNLIKELY(!sl_lang_quiet()) && sl_lang_poll())
        return capture(depth, buf, NOT_WALKED, 0, false);
    if (SL_LIKELY(sl_opt.unwinder == SL_UNWIND_FAST)) {
        /* no language runtime: the native frames are the stack, and a walk this thread
         * made before is its id. (Every such walk starts here: one set of rules for the
         * shim's own frames.) */
        uint32_t id = 0;
        int n = sl_unwind_fast((uintptr_t *)buf, depth + (nskip ? SKIP_SLACK : 0), self_range.lo, self_range.hi, &id);
        if (SL_LIKELY(n == SL_UNWIND_REPLAYED))
            return id;
        return capture(depth, buf, n, id, true);
    }
    return capture(depth, buf, NOT_WALKED, 0, true);
}

int sl_stack_unwind(uintptr_t *ip, int max)
{
    if (!unwind_fn || max <= 0)
        return 0;
    max = max > SL_MAX_DEPTH ? SL_MAX_DEPTH : max;
    void *buf[SL_MAX_DEPTH + SKIP_SLACK];
    sl_tls_in_unwind++;
    int m = unwind_fn(buf, max + SKIP_SLACK);
    sl_tls_in_unwind--;
    int first = first_outside(buf, m), n = m - first < max ? m - first : max;
    for (int i = 0; i < n; i++)
        ip[i] = (uintptr_t)buf[first + i];
    return n > 0 ? n : 0;
}

const struct sl_stack *sl_stack_get(uint32_t id)
{
    if (id == 0 || id > atomic_load_explicit(&nstacks, memory_order_acquire))
        return NULL;
    return by_id[id];
}

uint32_t sl_stack_max_id(void)
{
    return atomic_load_explicit(&nstacks, memory_order_acquire);
}

void sl_stack_move(uint32_t from, uint32_t to)
{
    if (from > MAX_STACKS || to > MAX_STACKS || from == to)
        return;
    atomic_fetch_sub_explicit(&sl_stack_counts_tab[from].opened, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&sl_stack_counts_tab[to].opened, 1, memory_order_relaxed);
}

void sl_stack_counts(uint32_t id, long *opened, long *closed)
{
    *opened = *closed = 0;
    if (id > MAX_STACKS)
        return;
    *opened = atomic_load_explicit(&sl_stack_counts_tab[id].opened, memory_order_relaxed);
    *closed = atomic_load_explicit(&sl_stack_counts_tab[id].closed, memory_order_relaxed);
}

long sl_stack_overflow(void)
{
    return atomic_load(&overflow);
}

void sl_stacks_lock(void)
{
    pthread_mutex_lock(&table_lock);
    sl_itab_lock_all(); /* the language frames' tables */
}

void sl_stacks_unlock(void)
{
    sl_itab_unlock_all();
    pthread_mutex_unlock(&table_lock);
}
