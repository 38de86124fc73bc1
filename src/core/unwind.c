/*
 * unwind.c - a fast unwinder that gives libunwind's answers: one cached rule per
 * return address.
 *
 * libunwind's fast path (unw_backtrace) costs about 65 instructions a frame. Most of it
 * is finding, again at every socket, how each function's frame is laid out. That does
 * not change while the code stays loaded, so this unwinder keeps it: for each return
 * address seen, a rule read once from the module's .eh_frame (through elfutils' CFI
 * interface, dwarf_cfi_addrframe) that says where the caller's frame is:
 *
 *   CFA = (rsp or rbp) + offset;  return address at CFA - 8;
 *   caller's rbp: unchanged, saved at CFA + offset, or lost.
 *
 * A warm stack is then a handful of instructions a frame: a hash lookup and two loads,
 * like the kernel's ORC unwinder. Rules are filled in by the worker thread, never in a
 * wrapper: a capture that meets an address without a rule falls back to libunwind for
 * that stack (the right answer, at the old cost) and queues the addresses for the
 * worker, which computes their rules in the I/O child (the module files are opened
 * there) and publishes them. Frames the rules cannot express (signal trampolines, CFA
 * expressions such as PLT entries, JIT code without CFI) are marked so, and stacks
 * through them always take libunwind.
 *
 * The table is write-once per slot: the worker writes a rule's fields, then publishes
 * its address with a release store; readers take no lock. dlclose() (interposed) bumps
 * a generation that empties the table for the readers at once, since an address of a
 * module unloaded may be reused by another; the worker then clears it.
 *
 * unwinder=verify captures with both unwinders and counts every stack where they
 * differ (the test suite runs that way, and expects none).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <fcntl.h>
#include <libelf.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core.h"

#define SLOTS (1u << 16)      /* rules; 16 bytes each, touched pages only */
#define WANT 256              /* addresses waiting for a rule */
#define MAX_FRAME (1u << 20)  /* a frame larger than this is a wrong rule */

enum kind { K_EMPTY = 0, K_SP, K_BP, K_END, K_NO };
enum bp_rule { BP_SAME = 0, BP_SAVED, BP_LOST };

struct rule {
    _Atomic uintptr_t ip; /* the return address; 0 = empty; published last */
    int32_t cfa_off;
    int16_t bp_off;
    uint8_t kind;
    uint8_t bp;
};

static struct rule *table;
static _Atomic unsigned gen, table_gen; /* dlclose() bumps gen; the worker catches up */
static _Atomic uintptr_t want[WANT];
static _Atomic unsigned want_head;
static _Atomic int wanting;           /* an address waits: the worker has been woken */
static _Atomic long n_fast, n_fallback, n_mismatch;

int sl_unwind_init(void)
{
    if (table)
        return 0;
    void *p = mmap(NULL, SLOTS * sizeof(struct rule), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return -ENOMEM;
    table = p;
    return 0;
}

static inline unsigned slot_of(uintptr_t ip)
{
    return (unsigned)((ip * 0x9e3779b97f4a7c15ull) >> 48) & (SLOTS - 1);
}

static inline const struct rule *find(uintptr_t ip)
{
    for (unsigned i = slot_of(ip), probes = 0; probes < 8; i = (i + 1) & (SLOTS - 1), probes++) {
        uintptr_t k = atomic_load_explicit(&table[i].ip, memory_order_acquire);
        if (k == ip)
            return &table[i];
        if (!k)
            return NULL;
    }
    return NULL;
}

static void wanted(uintptr_t ip)
{
    unsigned h = atomic_fetch_add_explicit(&want_head, 1, memory_order_relaxed);
    atomic_store_explicit(&want[h % WANT], ip, memory_order_relaxed);
    if (!atomic_load_explicit(&wanting, memory_order_relaxed) && !atomic_exchange(&wanting, 1))
        sl_wake_worker();
}

/* Queue ip for a rule if it has none. */
static void want_missing(uintptr_t ip)
{
    if (!find(ip))
        wanted(ip);
}

/* The slots after ip's own, for a rule that found its place taken (rare). */
static const struct rule *probe(const struct rule *t, uintptr_t ip, unsigned i)
{
    for (unsigned probes = 1; probes < 8; probes++) {
        i = (i + 1) & (SLOTS - 1);
        uintptr_t k = atomic_load_explicit(&t[i].ip, memory_order_acquire);
        if (k == ip)
            return &t[i];
        if (!k)
            return NULL;
    }
    return NULL;
}

/* ---- replay: the same stack as a moment ago, proved in a few loads ----
 * A thread that makes sockets in a loop, or a server that handles each request at the
 * same depth, asks for the same stack again and again. The walk is a function of its
 * start (where this function's frame is) and of the stack words it reads (return
 * addresses, and the saved rbp values a frame's CFA is computed from); if the start is
 * the same and every such word holds the same value, it would give the same stack. So each thread remembers its last two
 * walks as the words read, and the stack id they gave (the caller's tag): a walk that
 * starts where one of them did checks those words first, one load and one compare a
 * frame, and takes the remembered stack when all match. */
#define TRACE 24 /* words read; a longer walk is not remembered */
struct trace {
    uintptr_t ip, sp, bp; /* the start */
    unsigned gen;
    uint32_t tag;         /* 0: nothing remembered */
    int n;
    const uintptr_t *addr[TRACE];
    uintptr_t val[TRACE];
};
static __thread struct trace traces[3] SL_TLS; /* [0], [1]: remembered; [2]: the walk under way */
static __thread unsigned trace_next SL_TLS;

static bool replays(const struct trace *t, uintptr_t ip, uintptr_t sp, uintptr_t bp, unsigned g)
{
    if (!t->tag || t->sp != sp || t->ip != ip || t->bp != bp || t->gen != g)
        return false;
    for (int k = 0; k < t->n; k++)
        if (*t->addr[k] != t->val[k])
            return false;
    return true;
}

/* A stack word the walk's result depends on, kept for a later replay. */
static inline void keep_word(struct trace *t, const uintptr_t *addr, uintptr_t v)
{
    if (t->n < TRACE) {
        t->addr[t->n] = addr;
        t->val[t->n] = v;
    }
    t->n++;
}

/* Walk from our caller up, by the cached rules, leaving out the frames in [skip_lo,
 * skip_hi) at the top (the shim's own). Returns the number of addresses in out, -1
 * when a frame has no rule (its address is queued, unless no rule can be made for it),
 * or SL_UNWIND_REPLAYED with *tag set when the stack is one this thread walked last
 * (mine: the thread's traces). Frame pointers on here only: they give this function's
 * own frame. */
__attribute__((noinline, optimize("no-omit-frame-pointer"))) static int walk(uintptr_t *out, int max,
                                                                             uintptr_t skip_lo, uintptr_t skip_hi,
                                                                             uint32_t *tag, struct trace *mine)
{
    const struct rule *const t = table;
    unsigned g = atomic_load_explicit(&gen, memory_order_acquire);
    if (SL_UNLIKELY(g != atomic_load_explicit(&table_gen, memory_order_acquire)))
        return -1; /* a module went away: rules may be stale until the worker clears them */
    uintptr_t *fp = __builtin_frame_address(0);
    uintptr_t ip = fp[1], sp = (uintptr_t)(fp + 2), bp = fp[0];
    for (int k = 0; k < 2; k++)
        if (replays(&mine[k], ip, sp, bp, g)) {
            *tag = mine[k].tag;
            return SL_UNWIND_REPLAYED;
        }
    struct trace *tr = &mine[2];
    tr->ip = ip, tr->sp = sp, tr->bp = bp, tr->gen = g, tr->n = 0;
    int n = 0;
    bool top = true; /* still in the shim's own frames */
    const uintptr_t *bp_from = NULL; /* where the current rbp was read, if it was */
    while (n < max) {
        if (!top || ip - skip_lo >= skip_hi - skip_lo) {
            out[n++] = ip;
            top = false;
        }
        unsigned i = slot_of(ip);
        const struct rule *r = &t[i];
        if (SL_UNLIKELY(atomic_load_explicit(&r->ip, memory_order_acquire) != ip) && !(r = probe(t, ip, i))) {
            wanted(ip);
            if (n > 0 || !top) /* and the first frame's, which a walk by libunwind never meets */
                want_missing(mine[2].ip);
            return -1;
        }
        unsigned kind = r->kind;
        if (SL_UNLIKELY(kind != K_SP)) {
            if (kind == K_END)
                break;
            if (kind != K_BP)
                return -1; /* no rule can be made here (K_NO), or the table is being cleared */
        }
        if (kind == K_BP && bp_from) /* the rbp this frame's CFA comes from was read from the stack */
            keep_word(tr, bp_from, bp);
        uintptr_t cfa = (kind == K_SP ? sp : bp) + (uintptr_t)(intptr_t)r->cfa_off;
        if (SL_UNLIKELY(cfa - sp - 8 >= MAX_FRAME || (cfa & 7)))
            return -1; /* not a frame of this stack: never read there */
        uintptr_t ra = *(const uintptr_t *)(cfa - 8);
        keep_word(tr, (const uintptr_t *)(cfa - 8), ra);
        if (r->bp == BP_SAVED) { /* kept only if a frame's CFA comes to depend on it */
            bp_from = (const uintptr_t *)(cfa + (uintptr_t)(intptr_t)r->bp_off);
            bp = *bp_from;
        } else if (r->bp == BP_LOST) {
            bp = 0, bp_from = NULL;
        }
        sp = cfa;
        ip = ra;
        if (!ip)
            break;
    }
    return n;
}

int sl_unwind_fast(uintptr_t *out, int max, uintptr_t skip_lo, uintptr_t skip_hi, uint32_t *tag)
{
    if (!table)
        return -1;
    /* this thread's traces, found here: in walk, whose optimize attribute makes gcc forget
     * the initial-exec model, each access would be a __tls_get_addr call */
    int n = walk(out, max, skip_lo, skip_hi, tag, traces);
    if (SL_UNLIKELY(n == -1)) /* the caller's frame too: libunwind, walking from elsewhere, never meets it */
        want_missing((uintptr_t)__builtin_return_address(0));
    atomic_fetch_add_explicit(n >= 0 || n == SL_UNWIND_REPLAYED ? &n_fast : &n_fallback, 1, memory_order_relaxed);
    return n;
}

void sl_unwind_remember(uint32_t tag)
{
    struct trace *tr = &traces[2];
    if (!tag || tr->n > TRACE)
        return;
    struct trace *slot = &traces[trace_next++ & 1];
    *slot = *tr;
    slot->tag = tag;
}

void sl_unwind_note_mismatch(void)
{
    atomic_fetch_add_explicit(&n_mismatch, 1, memory_order_relaxed);
}

void sl_unwind_stats(long *fast, long *fallback, long *mismatch)
{
    *fast = atomic_load(&n_fast);
    *fallback = atomic_load(&n_fallback);
    *mismatch = atomic_load(&n_mismatch);
}

void sl_unwind_forget(void)
{
    atomic_fetch_add(&gen, 1);
}

/* Also queue the addresses of a stack libunwind walked, so the next one is fast. */
void sl_unwind_want(const uintptr_t *ips, int n)
{
    for (int i = 0; table && i < n; i++)
        if (!find(ips[i]))
            wanted(ips[i]);
}

/* ---- the worker's part: rules from the modules' CFI ---- */

static struct {
    bool ok;
    int (*version)(int);
    Elf *(*begin)(int, Elf_Cmd, Elf *);
    int (*end)(Elf *);
    Dwarf_CFI *(*getcfi)(Elf *);
    int (*cfi_end)(Dwarf_CFI *);
    int (*addrframe)(Dwarf_CFI *, Dwarf_Addr, Dwarf_Frame **);
    int (*frame_info)(Dwarf_Frame *, Dwarf_Addr *, Dwarf_Addr *, bool *);
    int (*frame_cfa)(Dwarf_Frame *, Dwarf_Op **, size_t *);
    int (*frame_register)(Dwarf_Frame *, int, Dwarf_Op *, Dwarf_Op **, size_t *);
} dw;
static pthread_once_t dw_once = PTHREAD_ONCE_INIT;

static void load(void)
{
    void *h = sl_libdw();
    if (!h)
        return;
#define SYM(field, name) (*(void **)&dw.field = dlsym(h, name))
    SYM(version, "elf_version");
    SYM(begin, "elf_begin");
    SYM(end, "elf_end");
    SYM(getcfi, "dwarf_getcfi_elf");
    SYM(cfi_end, "dwarf_cfi_end");
    SYM(addrframe, "dwarf_cfi_addrframe");
    SYM(frame_info, "dwarf_frame_info");
    SYM(frame_cfa, "dwarf_frame_cfa");
    SYM(frame_register, "dwarf_frame_register");
#undef SYM
    dw.ok = dw.version && dw.begin && dw.end && dw.getcfi && dw.cfi_end && dw.addrframe && dw.frame_info
         && dw.frame_cfa && dw.frame_register;
    if (dw.ok)
        dw.version(EV_CURRENT);
}

/* A register's rule: saved at CFA + *off (returns BP_SAVED), unchanged (BP_SAME), lost
 * (BP_LOST), or -1 when it is something else. */
static int reg_rule(Dwarf_Frame *f, int regno, int64_t *off)
{
    Dwarf_Op mem[3], *ops = NULL;
    size_t n = 0;
    if (dw.frame_register(f, regno, mem, &ops, &n) != 0)
        return -1;
    if (n == 0)
        return ops ? BP_LOST : BP_SAME;
    if (n == 2 && ops[0].atom == DW_OP_call_frame_cfa && ops[1].atom == DW_OP_plus_uconst) {
        *off = (int64_t)ops[1].number;
        return BP_SAVED;
    }
    if (n == 1 && ops[0].atom == DW_OP_call_frame_cfa) {
        *off = 0;
        return BP_SAVED;
    }
    return -1;
}

/* The rule for return address ra (looked up at ra - 1, the call) in the module whose
 * load bias is bias. */
static struct rule rule_for(Dwarf_CFI *cfi, uintptr_t ra, uintptr_t bias)
{
    struct rule r = { .kind = K_NO };
    Dwarf_Frame *f = NULL;
    if (!cfi || dw.addrframe(cfi, ra - 1 - bias, &f) != 0 || !f)
        return r;
    bool signal = false;
    Dwarf_Op *ops = NULL;
    size_t n = 0;
    int64_t ra_off = 0, bp_off = 0;
    int rip = -1, rbp = -1;
    if (dw.frame_info(f, NULL, NULL, &signal) == 16 && !signal && dw.frame_cfa(f, &ops, &n) == 0) {
        rip = reg_rule(f, 16, &ra_off);
        rbp = reg_rule(f, 6, &bp_off);
    }
    if (rip == BP_LOST) {
        r.kind = K_END; /* the outermost frame: _start, a thread's start */
    } else if (n == 1 && ops[0].atom == DW_OP_bregx && (ops[0].number == 7 || ops[0].number == 6)
               && rip == BP_SAVED && ra_off == -8 && rbp >= 0 && (int64_t)ops[0].number2 > 0
               && (int64_t)ops[0].number2 < (int64_t)MAX_FRAME && !(ops[0].number2 & 7) && bp_off >= INT16_MIN
               && bp_off <= INT16_MAX) {
        r.kind = ops[0].number == 7 ? K_SP : K_BP;
        r.cfa_off = (int32_t)ops[0].number2;
        r.bp = (uint8_t)rbp;
        r.bp_off = (int16_t)bp_off;
    }
    free(f);
    return r;
}

struct module_job {
    const char *path;
    uintptr_t bias;
    const uintptr_t *ips;
    struct rule *rules;
    size_t n;
};

/* In the I/O child: open the module, read its CFI, make the rules. */
static long make_rules(void *p)
{
    struct module_job *job = p;
    int fd = (int)SL_SYS(SYS_openat, AT_FDCWD, job->path, O_RDONLY | O_CLOEXEC);
    Elf *elf = fd >= 0 ? dw.begin(fd, ELF_C_READ_MMAP, NULL) : NULL;
    Dwarf_CFI *cfi = elf ? dw.getcfi(elf) : NULL;
    for (size_t k = 0; k < job->n; k++)
        job->rules[k] = rule_for(cfi, job->ips[k], job->bias);
    if (cfi)
        dw.cfi_end(cfi);
    if (elf)
        dw.end(elf);
    if (fd >= 0)
        SL_SYS(SYS_close, fd);
    return 0;
}

static void publish(uintptr_t ip, struct rule r)
{
    for (unsigned i = slot_of(ip), probes = 0; probes < 8; i = (i + 1) & (SLOTS - 1), probes++) {
        uintptr_t k = atomic_load_explicit(&table[i].ip, memory_order_relaxed);
        if (k == ip)
            return;
        if (k)
            continue;
        table[i].cfa_off = r.cfa_off;
        table[i].bp_off = r.bp_off;
        table[i].kind = r.kind;
        table[i].bp = r.bp;
        atomic_store_explicit(&table[i].ip, ip, memory_order_release);
        return;
    }
    /* a crowded neighbourhood: this address stays on libunwind */
}

struct find_module {
    uintptr_t ip, bias;
    char path[PATH_MAX];
    bool found;
};

static int module_of(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    struct find_module *m = arg;
    uintptr_t lo, hi;
    if (!sl_phdr_bounds(info, &lo, &hi) || m->ip - 1 < lo || m->ip - 1 >= hi)
        return 0;
    const char *name = info->dlpi_name;
    if (!name || !*name) {
        ssize_t n = readlink("/proc/self/exe", m->path, sizeof(m->path) - 1);
        m->path[n > 0 ? n : 0] = '\0';
    } else if (name[0] != '/') { /* a relative name (LD_PRELOAD=build/lib.so): where it is mapped from */
        char *full = sl_probe_mapped_path(lo);
        snprintf(m->path, sizeof(m->path), "%s", full ? full : "");
        free(full);
    } else {
        snprintf(m->path, sizeof(m->path), "%s", name);
    }
    m->bias = info->dlpi_addr;
    m->found = m->path[0] == '/';
    return 1;
}

void sl_unwind_fill(void)
{
    if (!table)
        return;
    unsigned g = atomic_load(&gen);
    if (g != atomic_load(&table_gen)) { /* modules were unloaded: start again */
        madvise(table, SLOTS * sizeof(struct rule), MADV_DONTNEED); /* zero pages, and none resident */
        atomic_store(&table_gen, g);
    }
    if (!atomic_exchange(&wanting, 0))
        return;
    pthread_once(&dw_once, load);
    uintptr_t ips[WANT];
    size_t n = 0;
    for (unsigned i = 0; i < WANT; i++) {
        uintptr_t ip = atomic_exchange_explicit(&want[i], 0, memory_order_relaxed);
        bool dup = !ip || find(ip);
        for (size_t k = 0; k < n && !dup; k++)
            dup = ips[k] == ip;
        if (!dup)
            ips[n++] = ip;
    }
    for (size_t k = 0; k < n; k++) {
        if (!ips[k])
            continue;
        struct find_module m = { .ip = ips[k] };
        sl_dl_lock();
        dl_iterate_phdr(module_of, &m);
        sl_dl_unlock();
        if (!m.found || !dw.ok) {
            publish(ips[k], (struct rule){ .kind = K_NO }); /* no module file (the vdso, JIT code) */
            continue;
        }
        /* every address of the same module, in one child */
        uintptr_t mine[WANT];
        struct rule rules[WANT];
        size_t c = 0;
        for (size_t j = k; j < n; j++) {
            if (!ips[j])
                continue;
            struct find_module o = { .ip = ips[j] };
            sl_dl_lock();
            dl_iterate_phdr(module_of, &o);
            sl_dl_unlock();
            if (o.found && o.bias == m.bias && !strcmp(o.path, m.path)) {
                mine[c++] = ips[j];
                if (j != k)
                    ips[j] = 0;
            }
        }
        struct module_job job = { m.path, m.bias, mine, rules, c };
        if (sl_iochild_run(make_rules, &job) != 0)
            continue;
        for (size_t j = 0; j < c; j++)
            publish(mine[j], rules[j]);
    }
}
