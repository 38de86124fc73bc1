/*
 * got.c - attach mode: the program's calls routed to the shim without LD_PRELOAD.
 *
 * A program started without the shim has its calls to socket(), close()... bound to
 * libc already, through the GOT of each module: the table of addresses its code jumps
 * through (R_X86_64_JUMP_SLOT, the PLT's) or loads from (R_X86_64_GLOB_DAT: -fno-plt
 * calls, function pointers). Attaching rewrites, in every module of the base namespace
 * (dl_iterate_phdr; not the shim itself, nor the modules of another dlmopen namespace,
 * which have a libc of their own), each slot of a function the shim interposes. Those
 * names are the shim's own exports (its .dynsym: every function it defines but the
 * sockleak_* API), so a wrapper added to the shim is patched too, plus the hooks the
 * caller hands in (dlopen, dlmopen). A slot is rewritten only if it points where the
 * program's own lookup would (the definition dlsym(RTLD_DEFAULT) finds) or, for a lazy
 * JUMP_SLOT not called yet, into its own module (its PLT stub); a slot bound elsewhere
 * (another interposer, RTLD_DEEPBIND) is left alone and counted. Symbol indexes,
 * names and slot addresses are checked against the module's tables and mapping.
 *
 * Each rewrite is one aligned 8-byte store: a thread calling through the slot meanwhile
 * jumps to the old target or to the new, never to half of each. A slot in a read-only
 * page (RELRO, -z now) is made writable for the store and the page's exact protection
 * (from /proc/self/maps, read in the I/O child) put back right after; only data pages
 * are touched, so MemoryDenyWriteExecute has nothing to refuse. Every slot changed is
 * remembered with its old value; detaching stores that back wherever the slot still
 * holds ours (a module unloaded since is not touched: its memory is gone).
 *
 * Modules loaded later are patched after the real dlopen()/dlmopen() returns (the
 * hooks, shim/attach.c), and by the background thread's next scan when they came
 * another way (libc's own NSS or iconv loads, the shim's own libdw): sl_got_refresh.
 * A lazy slot that another thread was resolving (_dl_fixup) just as attach rewrote it
 * may get libc's address back; the first full refresh rewrites such slots again.
 *
 * One mutex around every pass. Inside dl_iterate_phdr (the loader's write lock is held
 * there, so no module goes away) nothing calls into the loader: the definitions are
 * looked up once, at attach, before any pass.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "runtime.h"

#define MAX_TARGETS 96
#define PAGE ((uintptr_t)4096)

struct target {
    const char *name;
    uintptr_t ours, def; /* the shim's function; where the program's lookup finds name */
};
struct slot {
    uintptr_t addr, old, ours;
};
struct mod { /* a module patched: its slots are slots[first .. first+n) */
    uintptr_t base;
    const void *phdr;
    size_t first, n;
    bool seen;
};
struct range {
    uintptr_t lo, hi;
    int prot;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic int active;
static struct target targets[MAX_TARGETS];
static size_t ntargets;
static struct slot *slots;
static size_t nslots, slots_cap;
static struct mod *mods;
static size_t nmods, mods_cap;
static unsigned long long seen_adds, seen_subs;
static int self_marker;

/* ---- a module's dynamic section ---- */

struct dyn {
    uintptr_t base, lo, hi; /* load bias; the span of its PT_LOAD segments */
    uintptr_t relro_lo, relro_hi;
    const ElfW(Sym) *sym;
    size_t nsym;
    const char *str;
    size_t strsz;
    const ElfW(Rela) *rel[2]; /* DT_JMPREL, DT_RELA */
    size_t nrel[2];
};

static bool inside(const struct dyn *d, uintptr_t p, size_t len)
{
    return p >= d->lo && p <= d->hi && len <= d->hi - p;
}

/* A d_ptr: glibc has relocated most in place, not those of a read-only dynamic section
 * (the vDSO's): an address outside the module is still relative to it. */
static uintptr_t dptr(const struct dyn *d, uintptr_t v)
{
    return v >= d->lo && v < d->hi ? v : v + d->base;
}

/* Symbols in a DT_GNU_HASH table: past the highest bucket's chain end. */
static size_t gnu_hash_nsym(const struct dyn *d, const uint32_t *h)
{
    if (!inside(d, (uintptr_t)h, 16))
        return 0;
    uint32_t nbuckets = h[0], symoffset = h[1], bloom = h[2];
    const uint32_t *buckets = (const uint32_t *)((const uint64_t *)(h + 4) + bloom);
    const uint32_t *chain = buckets + nbuckets;
    if (!inside(d, (uintptr_t)buckets, (size_t)nbuckets * 4))
        return 0;
    uint32_t last = 0;
    for (uint32_t i = 0; i < nbuckets; i++)
        last = buckets[i] > last ? buckets[i] : last;
    if (last < symoffset)
        return symoffset;
    while (inside(d, (uintptr_t)&chain[last - symoffset], 4) && !(chain[last - symoffset] & 1))
        last++;
    return (size_t)last + 1;
}

/* Read what patching needs from a module's PT_DYNAMIC. False if it has none usable. */
static bool read_dyn(const struct dl_phdr_info *info, struct dyn *d, uintptr_t *dynamic)
{
    memset(d, 0, sizeof(*d));
    d->base = info->dlpi_addr;
    if (!sl_phdr_bounds(info, &d->lo, &d->hi))
        return false;
    const ElfW(Dyn) *dyn = NULL;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_DYNAMIC)
            dyn = (const ElfW(Dyn) *)(d->base + ph->p_vaddr);
        if (ph->p_type == PT_GNU_RELRO) { /* what the loader made read-only: whole pages */
            d->relro_lo = (d->base + ph->p_vaddr) & ~(PAGE - 1);
            d->relro_hi = (d->base + ph->p_vaddr + ph->p_memsz) & ~(PAGE - 1);
        }
    }
    *dynamic = (uintptr_t)dyn;
    if (!dyn || !inside(d, (uintptr_t)dyn, sizeof(*dyn)))
        return false;
    uintptr_t v[DT_NUM] = { 0 }, gnu_hash = 0;
    for (const ElfW(Dyn) *e = dyn; e->d_tag != DT_NULL && inside(d, (uintptr_t)(e + 1), sizeof(*e)); e++) {
        if (e->d_tag >= 0 && e->d_tag < DT_NUM)
            v[e->d_tag] = e->d_un.d_val;
        else if (e->d_tag == DT_GNU_HASH)
            gnu_hash = dptr(d, e->d_un.d_ptr);
    }
    if (!v[DT_SYMTAB] || !v[DT_STRTAB] || (v[DT_SYMENT] && v[DT_SYMENT] != sizeof(ElfW(Sym))))
        return false;
    d->sym = (const ElfW(Sym) *)dptr(d, v[DT_SYMTAB]);
    d->str = (const char *)dptr(d, v[DT_STRTAB]);
    d->strsz = v[DT_STRSZ];
    if (v[DT_HASH]) {
        const uint32_t *h = (const uint32_t *)dptr(d, v[DT_HASH]);
        d->nsym = inside(d, (uintptr_t)h, 8) ? h[1] : 0;
    } else if (gnu_hash) {
        d->nsym = gnu_hash_nsym(d, (const uint32_t *)gnu_hash);
    }
    if (!inside(d, (uintptr_t)d->sym, d->nsym * sizeof(ElfW(Sym))) || !inside(d, (uintptr_t)d->str, d->strsz))
        return false;
    if (v[DT_JMPREL] && v[DT_PLTREL] == DT_RELA) {
        d->rel[0] = (const ElfW(Rela) *)dptr(d, v[DT_JMPREL]);
        d->nrel[0] = v[DT_PLTRELSZ] / sizeof(ElfW(Rela));
    }
    if (v[DT_RELA] && (!v[DT_RELAENT] || v[DT_RELAENT] == sizeof(ElfW(Rela)))) {
        d->rel[1] = (const ElfW(Rela) *)dptr(d, v[DT_RELA]);
        d->nrel[1] = v[DT_RELASZ] / sizeof(ElfW(Rela));
    }
    for (int t = 0; t < 2; t++)
        if (!inside(d, (uintptr_t)d->rel[t], d->nrel[t] * sizeof(ElfW(Rela))))
            d->rel[t] = NULL, d->nrel[t] = 0;
    return true;
}

/* The name of symbol i, or NULL if out of bounds. */
static const char *sym_name(const struct dyn *d, size_t i)
{
    if (i == 0 || i >= d->nsym || d->sym[i].st_name >= d->strsz)
        return NULL;
    const char *s = d->str + d->sym[i].st_name;
    return memchr(s, '\0', d->strsz - d->sym[i].st_name) ? s : NULL;
}

/* ---- the functions to route: the shim's exports ---- */

static int cmp_target(const void *a, const void *b)
{
    return strcmp(((const struct target *)a)->name, ((const struct target *)b)->name);
}

static const struct target *find_target(const char *name)
{
    struct target key = { .name = name };
    return bsearch(&key, targets, ntargets, sizeof(key), cmp_target);
}

static void add_target(const char *name, uintptr_t ours)
{
    if (ntargets == MAX_TARGETS || find_target(name))
        return;
    targets[ntargets++] = (struct target){ name, ours, 0 };
    qsort(targets, ntargets, sizeof(targets[0]), cmp_target);
}

static int self_exports(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size, (void)arg;
    struct dyn d;
    uintptr_t dynamic;
    if (!sl_phdr_bounds(info, &d.lo, &d.hi) || (uintptr_t)&self_marker < d.lo || (uintptr_t)&self_marker >= d.hi)
        return 0;
    if (!read_dyn(info, &d, &dynamic))
        return 1;
    for (size_t i = 1; i < d.nsym; i++) {
        const ElfW(Sym) *s = &d.sym[i];
        const char *name = sym_name(&d, i);
        if (name && s->st_shndx != SHN_UNDEF && s->st_value && ELF64_ST_TYPE(s->st_info) == STT_FUNC
            && ELF64_ST_BIND(s->st_info) != STB_LOCAL && strncmp(name, "sockleak_", 9) != 0)
            add_target(name, d.base + s->st_value);
    }
    return 1;
}

/* ---- memory protection ---- */

struct maps {
    struct range *v;
    size_t n;
};

static void maps_read(struct maps *m)
{
    m->v = NULL, m->n = 0;
    size_t cap = 256 * 1024;
    char *buf = NULL;
    long len = 0;
    for (int tries = 0; tries < 4; tries++, cap *= 4) {
        sl_big_free(buf);
        buf = sl_big_alloc(cap);
        len = buf ? sl_iochild_read("/proc/self/maps", buf, cap) : -ENOMEM;
        if (len < 0 || (size_t)len + 1 < cap)
            break;
    }
    size_t lines = 0;
    for (long i = 0; i < len; i++)
        lines += buf[i] == '\n';
    m->v = len > 0 ? sl_big_alloc((lines + 1) * sizeof(*m->v)) : NULL;
    for (char *p = buf; m->v && p && p < buf + len; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        char *e;
        struct range r;
        r.lo = strtoull(p, &e, 16);
        if (*e != '-')
            continue;
        r.hi = strtoull(e + 1, &e, 16);
        if (*e != ' ' || strlen(e) < 4)
            continue;
        r.prot = (e[1] == 'r' ? PROT_READ : 0) | (e[2] == 'w' ? PROT_WRITE : 0) | (e[3] == 'x' ? PROT_EXEC : 0);
        m->v[m->n++] = r;
    }
    sl_big_free(buf);
}

/* The protection of the page at p: from the maps (sorted), else what the loader gives a
 * module's pages (RELRO read-only, the rest of its data writable). */
static int page_prot(const struct maps *m, const struct dyn *d, uintptr_t p)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (p < m->v[mid].lo)
            hi = mid;
        else if (p >= m->v[mid].hi)
            lo = mid + 1;
        else
            return m->v[mid].prot;
    }
    return p >= d->relro_lo && p < d->relro_hi ? PROT_READ : PROT_READ | PROT_WRITE;
}

/* One aligned 8-byte store into a slot, its page made writable around it if need be.
 * Returns 0 or -errno. */
static int store(const struct maps *m, const struct dyn *d, uintptr_t addr, uintptr_t value)
{
    uintptr_t page = addr & ~(PAGE - 1);
    int prot = page_prot(m, d, page);
    if (!(prot & PROT_WRITE)) {
        long r = SL_SYS(SYS_mprotect, page, PAGE, prot | PROT_WRITE);
        if (r != 0)
            return (int)r;
    }
    atomic_store_explicit((_Atomic uintptr_t *)addr, value, memory_order_release);
    if (!(prot & PROT_WRITE))
        SL_SYS(SYS_mprotect, page, PAGE, prot);
    return 0;
}

/* ---- passes ---- */

enum pass_kind { PASS_NEW, PASS_FULL, PASS_RESTORE };
struct pass {
    enum pass_kind kind;
    struct maps maps;
    struct sl_got_stats st;
    bool oom;
};

static bool grow(void **v, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return true;
    size_t n = *cap ? *cap * 2 : 64;
    while (n < need)
        n *= 2;
    void *p = sl_big_realloc(*v, n * size);
    if (!p)
        return false;
    *v = p, *cap = n;
    return true;
}

/* Rewrite the slots of a module seen for the first time, and remember it. */
static void patch_new(struct pass *p, const struct dl_phdr_info *info, const struct dyn *d)
{
    if (!grow((void **)&mods, &mods_cap, nmods + 1, sizeof(*mods))) {
        p->oom = true;
        return;
    }
    struct mod *md = &mods[nmods++];
    *md = (struct mod){ info->dlpi_addr, info->dlpi_phdr, nslots, 0, true };
    for (int t = 0; t < 2; t++)
        for (size_t k = 0; k < d->nrel[t]; k++) {
            const ElfW(Rela) *r = &d->rel[t][k];
            unsigned type = (unsigned)ELF64_R_TYPE(r->r_info);
            if (type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT)
                continue;
            size_t si = ELF64_R_SYM(r->r_info);
            const char *name = sym_name(d, si);
            if (!name) {
                p->st.bad += si != 0;
                continue;
            }
            const struct target *tg = d->sym[si].st_shndx == SHN_UNDEF ? find_target(name) : NULL;
            if (!tg || !tg->def)
                continue;
            uintptr_t addr = d->base + r->r_offset;
            if (!inside(d, addr, sizeof(uintptr_t)) || (addr & (sizeof(uintptr_t) - 1))) {
                p->st.bad++;
                continue;
            }
            uintptr_t cur = atomic_load_explicit((_Atomic uintptr_t *)addr, memory_order_relaxed);
            bool lazy = type == R_X86_64_JUMP_SLOT && cur >= d->lo && cur < d->hi; /* its PLT stub */
            if (cur == tg->ours)
                continue;
            if (cur != tg->def && !lazy) {
                p->st.foreign++;
                continue;
            }
            if (!grow((void **)&slots, &slots_cap, nslots + 1, sizeof(*slots))) {
                p->oom = true;
                return;
            }
            if (store(&p->maps, d, addr, tg->ours) != 0) {
                p->st.failed++;
                continue;
            }
            slots[nslots++] = (struct slot){ addr, cur, tg->ours };
            md->n++;
            p->st.slots++;
        }
    p->st.modules += md->n > 0;
}

/* A module patched before: rewrite its slots set back meanwhile, or put them back. */
static void revisit(struct pass *p, const struct dyn *d, struct mod *md)
{
    for (size_t k = md->first; k < md->first + md->n; k++) {
        struct slot *s = &slots[k];
        uintptr_t cur = atomic_load_explicit((_Atomic uintptr_t *)s->addr, memory_order_relaxed);
        if (p->kind == PASS_RESTORE && cur == s->ours && store(&p->maps, d, s->addr, s->old) == 0)
            p->st.restored++;
        else if (p->kind == PASS_FULL && cur == s->old && store(&p->maps, d, s->addr, s->ours) == 0)
            p->st.slots++;
    }
}

/* Is this module in the base namespace (the one _r_debug lists)? */
static bool base_namespace(const struct dl_phdr_info *info, uintptr_t dynamic)
{
    for (const struct link_map *l = _r_debug.r_map; l; l = l->l_next)
        if (l->l_addr == info->dlpi_addr && (uintptr_t)l->l_ld == dynamic)
            return true;
    return false;
}

static int visit(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    struct pass *p = arg;
    seen_adds = info->dlpi_adds, seen_subs = info->dlpi_subs;
    struct dyn d;
    uintptr_t dynamic;
    if (!read_dyn(info, &d, &dynamic) || ((uintptr_t)&self_marker >= d.lo && (uintptr_t)&self_marker < d.hi)
        || !base_namespace(info, dynamic))
        return 0;
    for (size_t i = 0; i < nmods; i++)
        if (mods[i].base == info->dlpi_addr && mods[i].phdr == info->dlpi_phdr) {
            mods[i].seen = true;
            if (p->kind != PASS_NEW)
                revisit(p, &d, &mods[i]);
            return 0;
        }
    if (p->kind != PASS_RESTORE)
        patch_new(p, info, &d);
    return p->oom;
}

/* Forget the modules unloaded since (not seen by the last pass) and their slots. */
static void forget_unseen(void)
{
    size_t m = 0, s = 0;
    for (size_t i = 0; i < nmods; i++) {
        if (!mods[i].seen)
            continue;
        memmove(&slots[s], &slots[mods[i].first], mods[i].n * sizeof(*slots));
        mods[m] = mods[i];
        mods[m].first = s;
        mods[m].seen = false;
        s += mods[i].n;
        m++;
    }
    nmods = m, nslots = s;
}

static void run_pass(struct pass *p)
{
    maps_read(&p->maps);
    for (size_t i = 0; i < nmods; i++)
        mods[i].seen = false;
    dl_iterate_phdr(visit, p);
    if (!p->oom)
        forget_unseen();
    sl_big_free(p->maps.v);
}

static int first_module(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    unsigned long long *v = arg;
    v[0] = info->dlpi_adds, v[1] = info->dlpi_subs;
    return 1;
}

/* ---- the interface ---- */

int sl_got_attach(const struct sl_got_hook *extra, size_t nextra, struct sl_got_stats *st)
{
    memset(st, 0, sizeof(*st));
    pthread_mutex_lock(&lock);
    if (atomic_load(&active)) {
        pthread_mutex_unlock(&lock);
        return -EALREADY;
    }
    ntargets = 0;
    dl_iterate_phdr(self_exports, NULL);
    for (size_t i = 0; i < nextra; i++)
        add_target(extra[i].name, (uintptr_t)extra[i].fn);
    /* where the program's own lookup finds each: the only binding rewritten. Looked up
     * here, outside any pass (dlsym takes the loader's lock, which a pass must not) */
    for (size_t i = 0; i < ntargets; i++) {
        void *def = dlsym(RTLD_DEFAULT, targets[i].name);
        Dl_info a, b;
        bool ours = def && dladdr(def, &a) && dladdr(&self_marker, &b) && a.dli_fbase == b.dli_fbase;
        targets[i].def = ours ? 0 : (uintptr_t)def;
    }
    struct pass p = { .kind = PASS_NEW };
    run_pass(&p);
    *st = p.st;
    st->targets = (long)ntargets;
    atomic_store(&active, 1);
    pthread_mutex_unlock(&lock);
    return p.oom ? -ENOMEM : 0;
}

void sl_got_refresh(bool full)
{
    if (!atomic_load(&active))
        return;
    unsigned long long now[2] = { 0, 0 };
    if (!full) { /* nothing loaded or unloaded since the last pass: nothing to do */
        dl_iterate_phdr(first_module, now);
        pthread_mutex_lock(&lock);
        bool same = now[0] == seen_adds && now[1] == seen_subs;
        pthread_mutex_unlock(&lock);
        if (same)
            return;
    }
    pthread_mutex_lock(&lock);
    if (atomic_load(&active)) {
        struct pass p = { .kind = full ? PASS_FULL : PASS_NEW };
        run_pass(&p);
        if (sl_opt.verbose >= 2 && (p.st.slots || p.st.foreign))
            sl_log("attach: %ld more GOT slots routed to the shim in %ld modules loaded since", p.st.slots,
                   p.st.modules);
    }
    pthread_mutex_unlock(&lock);
}

int sl_got_detach(struct sl_got_stats *st)
{
    memset(st, 0, sizeof(*st));
    pthread_mutex_lock(&lock);
    if (!atomic_load(&active)) {
        pthread_mutex_unlock(&lock);
        return -ENOENT;
    }
    struct pass p = { .kind = PASS_RESTORE };
    run_pass(&p);
    *st = p.st;
    st->slots = (long)nslots;
    for (size_t i = 0; i < nmods; i++)
        st->modules += mods[i].n > 0;
    nslots = nmods = 0;
    atomic_store(&active, 0);
    pthread_mutex_unlock(&lock);
    return 0;
}

bool sl_got_active(void)
{
    return atomic_load(&active);
}
