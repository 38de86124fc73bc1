/*
 * group.c - a collected model grouped: stacks symbolized once and fingerprinted,
 * sockets bucketed by stack, most leaked first.
 *
 * A stack's fingerprint hashes where each frame is inside its module (build-id and
 * module offset), so the same leak has the same id in every process, every run and on
 * every host. Between reports the grouper remembers each stack's opened/closed
 * counters, so every report says what each stack added and removed since the previous
 * one ("growth"), and it takes the events the registry queued since: late closes of
 * sockets a report flagged, and double closes. Sockets matching a suppression rule
 * are left out and only counted. Leaked sockets are marked in the registry, so a later
 * close of one is a late close. Within a group, the sockets that read end-of-file are
 * grouped again by where they read it (report->eofs): a CLOSE_WAIT leak is a pair, the
 * code that opened the socket and the code that saw the peer hang up and did not close.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

/* what the previous report saw, for growth (under the work lock) */
static struct {
    bool done;
    int64_t at_ns;
    uint32_t n;               /* stacks known then */
    long *opened, *closed;    /* by stack id, 0..n */
} prev;

/* A stack's fingerprint: where each frame is inside its module (build-id, or the
 * module's file name when it has none, and the module offset). Independent of ASLR,
 * of the host and of the install path, so the same leak has the same id everywhere.
 * Frames outside any module (JIT code) are left out: their addresses change. */
static void fingerprint(const struct sl_frame *f, int n, char *out)
{
    uint64_t h = SL_FNV_BASIS;
    for (int i = 0; i < n; i++) {
        if (!f[i].module)
            continue; /* JIT code, a trampoline: an address that differs from run to run */
        const char *mod = f[i].build_id;
        if (!mod) {
            mod = strrchr(f[i].module, '/');
            mod = mod ? mod + 1 : f[i].module;
        }
        h = sl_fnv(h, mod, strlen(mod) + 1);
        uint64_t off = (uint64_t)f[i].module_offset;
        h = sl_fnv(h, &off, sizeof(off));
    }
    snprintf(out, 24, "%016llx", (unsigned long long)h);
}

static int cmp_group(const void *a, const void *b)
{
    const struct sl_rgroup *x = a, *y = b;
    if ((x->count == 0) != (y->count == 0))
        return x->count == 0 ? 1 : -1;
    if (x->leaked != y->leaked)
        return x->leaked > y->leaked ? -1 : 1;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return (x->first > y->first) - (x->first < y->first);
}

struct interner {
    struct sl_report *r;
    uint32_t *map;  /* stack id -> rstack index + 1 (0 = not yet) */
    uint32_t maxid;
    size_t cap;     /* room in r->stacks / r->groups */
};

/* Index in r->stacks of internal stack sid, symbolizing it on first use. Returns
 * SL_NO_STR if memory ran out. */
static uint32_t intern_rstack(struct interner *in, uint32_t sid)
{
    struct sl_report *r = in->r;
    if (sid > in->maxid)
        sid = 0;
    if (in->map[sid])
        return in->map[sid] - 1;
    if (r->nstacks == in->cap) {
        size_t ncap = in->cap * 2 + 8;
        struct sl_rstack *ns = sl_big_realloc(r->stacks, ncap * sizeof(*ns));
        if (!ns)
            return SL_NO_STR;
        r->stacks = ns;
        struct sl_rgroup *ng = sl_big_realloc(r->groups, ncap * sizeof(*ng));
        if (!ng)
            return SL_NO_STR;
        r->groups = ng;
        in->cap = ncap;
    }
    struct sl_rstack tmp = { .nframes = 0, .suppressed_by = -2 };
    const struct sl_stack *st = sl_stack_get(sid);
    if (st) {
        /* the language frames first, then the native ones */
        tmp.frames = calloc((size_t)(st->nlang + st->depth) + 1, sizeof(struct sl_frame));
        if (tmp.frames) {
            tmp.nlang = sl_lang_frames(st, tmp.frames);
            for (int f = 0; f < st->depth; f++)
                sl_symbolize(&r->mods, st->ip[f], st->ip[f] - 1, &tmp.frames[tmp.nlang + f]);
            tmp.nframes = tmp.nlang + st->depth;
        }
        if (tmp.nlang)
            sl_lang_fingerprint(tmp.frames, tmp.nframes, tmp.id);
        else
            fingerprint(tmp.frames, tmp.nframes, tmp.id);
        if (tmp.nlang && r->opt.native_frames == SL_NATIVE_SPLICED)
            tmp.nframes = sl_lang_splice(tmp.frames, tmp.nlang, tmp.nframes, sl_stack_lframes(st));
    } else {
        strcpy(tmp.id, "none");
    }
    size_t idx = r->nstacks;
    for (size_t j = 0; j < r->nstacks; j++)
        if (!strcmp(r->stacks[j].id, tmp.id)) { /* same code loaded twice: one stack */
            idx = j;
            free(tmp.frames);
            break;
        }
    if (idx == r->nstacks) {
        r->stacks[r->nstacks++] = tmp;
        struct sl_rgroup *g = &r->groups[idx];
        memset(g, 0, sizeof(*g));
        g->stack = (uint32_t)idx;
        g->first = UINT32_MAX;
        g->cw_min_ns = g->cw_max_ns = -1;
    }
    in->map[sid] = (uint32_t)idx + 1;
    return (uint32_t)idx;
}

static int cmp_growth(const void *a, const void *b)
{
    const struct sl_rgrowth *x = a, *y = b;
    long nx = x->added - x->removed, ny = y->added - y->removed;
    if (nx != ny)
        return nx > ny ? -1 : 1;
    nx = x->added_total - x->removed_total, ny = y->added_total - y->removed_total;
    return (nx < ny) - (nx > ny);
}

/* growth per stack since the previous report, from the stack table's counters */
static void group_growth(struct interner *in)
{
    struct sl_report *r = in->r;
    uint32_t n = sl_stack_max_id();
    long *o = calloc((size_t)n + 1, sizeof(long)), *c = calloc((size_t)n + 1, sizeof(long));
    r->growth = calloc((size_t)n + 1, sizeof(*r->growth));
    if (!o || !c || !r->growth) {
        free(o);
        free(c);
        r->truncated = true;
        return;
    }
    for (uint32_t id = 0; id <= n; id++) {
        sl_stack_counts(id, &o[id], &c[id]);
        long po = prev.done && id <= prev.n ? prev.opened[id] : 0;
        long pc = prev.done && id <= prev.n ? prev.closed[id] : 0;
        /* stacks that did something since the previous report, or still hold sockets */
        if (o[id] == po && c[id] == pc && o[id] <= c[id])
            continue;
        uint32_t st = intern_rstack(in, id);
        if (st == SL_NO_STR)
            continue;
        /* the same fingerprint twice (code loaded twice): add up */
        struct sl_rgrowth *g = NULL;
        for (size_t k = 0; k < r->ngrowth; k++)
            if (r->growth[k].stack == st)
                g = &r->growth[k];
        if (!g) {
            g = &r->growth[r->ngrowth++];
            g->stack = st;
        }
        g->added += o[id] - po;
        g->removed += c[id] - pc;
        g->added_total += o[id];
        g->removed_total += c[id];
    }
    qsort(r->growth, r->ngrowth, sizeof(*r->growth), cmp_growth);
    free(prev.opened);
    free(prev.closed);
    prev.opened = o;
    prev.closed = c;
    prev.n = n;
    prev.done = true;
    prev.at_ns = r->mono_ns;
}

static void group_events(struct interner *in)
{
    struct sl_report *r = in->r;
    struct sl_late late[256];
    size_t nl = sl_ring_take(&sl_late_ring, late, sizeof(late[0]), SL_ARRAY_LEN(late), &r->late_lost);
    r->late = calloc(nl + 1, sizeof(*r->late));
    for (size_t k = 0; r->late && k < nl; k++) {
        uint32_t st = intern_rstack(in, late[k].stack);
        if (st == SL_NO_STR)
            continue;
        r->late[r->nlate].ev = late[k];
        r->late[r->nlate++].stack = st;
    }
    struct sl_dclose dc[256];
    size_t nd = sl_ring_take(&sl_dclose_ring, dc, sizeof(dc[0]), SL_ARRAY_LEN(dc), &r->dclose_lost);
    r->dclose = calloc(nd + 1, sizeof(*r->dclose));
    for (size_t k = 0; r->dclose && k < nd; k++) {
        uint32_t st = intern_rstack(in, dc[k].stack);
        if (st == SL_NO_STR)
            continue;
        struct sl_rdclose *d = NULL;
        for (size_t j = 0; j < r->ndclose; j++)
            if (r->dclose[j].stack == st)
                d = &r->dclose[j];
        if (!d) {
            d = &r->dclose[r->ndclose++];
            d->stack = st;
            d->fd = dc[k].fd;
        }
        d->count++;
    }
}

/* file:line for every frame of the report (glibc's aside), in one batch */
static void add_source_lines(struct sl_report *r)
{
    size_t n = 0;
    for (size_t j = 0; j < r->nstacks; j++)
        n += (size_t)r->stacks[j].nframes;
    struct sl_frame **frames = malloc((n + 1) * sizeof(*frames));
    uintptr_t *addr = malloc((n + 1) * sizeof(*addr));
    if (frames && addr) {
        size_t k = 0;
        for (size_t j = 0; j < r->nstacks; j++)
            for (int f = 0; f < r->stacks[j].nframes; f++) {
                if (r->stacks[j].frames[f].lang || sl_module_is_glibc(r->stacks[j].frames[f].module))
                    continue;
                frames[k] = &r->stacks[j].frames[f];
                addr[k++] = r->stacks[j].frames[f].ip - 1;
            }
        sl_srcline_fill(frames, addr, k);
    }
    free(frames);
    free(addr);
}

/* Each frame with calls inlined at its address becomes those calls, innermost first,
 * then itself (at the line where the outermost was called): what addr2line -i shows.
 * The fingerprint was made from the physical frames alone, before. */
static void expand_inlines(struct sl_report *r)
{
    for (size_t j = 0; j < r->nstacks; j++) {
        struct sl_rstack *st = &r->stacks[j];
        int extra = 0;
        for (int f = 0; f < st->nframes; f++)
            extra += st->frames[f].ninl;
        struct sl_frame *v = extra ? calloc((size_t)(st->nframes + extra), sizeof(*v)) : NULL;
        if (!v)
            continue; /* none, or no memory: the physical frames as they are */
        int n = 0;
        for (int f = 0; f < st->nframes; f++) {
            const struct sl_frame *p = &st->frames[f];
            for (int k = 0; k < p->ninl; k++) {
                v[n] = *p;
                v[n].function = p->inl[k].function;
                v[n].function_offset = 0;
                v[n].file = p->inl[k].file;
                v[n].line = p->inl[k].line;
                v[n].inlined = true;
                v[n].inl = NULL, v[n].ninl = 0;
                n++;
            }
            v[n] = *p;
            v[n].inl = NULL, v[n].ninl = 0;
            n++;
        }
        free(st->frames);
        st->frames = v;
        st->nframes = n;
    }
}

static int cmp_eof_place(const void *a, const void *b)
{
    const struct sl_reof *x = a, *y = b;
    if (x->group != y->group)
        return x->group < y->group ? -1 : 1;
    return (x->stack > y->stack) - (x->stack < y->stack);
}

static int cmp_eof_count(const void *a, const void *b)
{
    const struct sl_reof *x = a, *y = b;
    if (x->group != y->group)
        return x->group < y->group ? -1 : 1;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return (x->stack > y->stack) - (x->stack < y->stack);
}

/* The sockets that read end-of-file, counted by (group, where they read it): one entry
 * per socket, sorted and merged, then most sockets first within each group. */
static void group_eofs(struct sl_report *r)
{
    size_t n = 0;
    for (size_t k = 0; k < r->nsocks; k++)
        n += r->socks[k].eof != SL_NO_STR;
    if (!n || !(r->eofs = sl_big_calloc(n, sizeof(*r->eofs))))
        return;
    for (size_t k = 0; k < r->nsocks; k++) {
        const struct sl_rsock *s = &r->socks[k];
        if (s->eof == SL_NO_STR)
            continue;
        int64_t since = r->mono_ns > s->rec.eof_ns ? r->mono_ns - s->rec.eof_ns : 0;
        r->eofs[r->neofs++] = (struct sl_reof){ .group = s->group, .stack = s->eof, .count = 1,
                                                .leaked = s->leak != SL_LEAK_NONE, .newest_ns = since,
                                                .oldest_ns = since };
    }
    qsort(r->eofs, r->neofs, sizeof(*r->eofs), cmp_eof_place);
    size_t m = 0;
    for (size_t k = 0; k < r->neofs; k++) {
        struct sl_reof *e = &r->eofs[k], *last = m ? &r->eofs[m - 1] : NULL;
        if (last && last->group == e->group && last->stack == e->stack) {
            last->count++;
            last->leaked += e->leaked;
            last->newest_ns = e->newest_ns < last->newest_ns ? e->newest_ns : last->newest_ns;
            last->oldest_ns = e->oldest_ns > last->oldest_ns ? e->oldest_ns : last->oldest_ns;
        } else {
            r->eofs[m++] = *e;
        }
    }
    r->neofs = m;
    qsort(r->eofs, r->neofs, sizeof(*r->eofs), cmp_eof_count);
    for (size_t k = r->neofs; k-- > 0;) {
        struct sl_rgroup *g = &r->groups[r->eofs[k].group];
        g->first_eof = (uint32_t)k;
        g->neofs++;
    }
}

int sl_report_group(struct sl_report *r)
{
    r->since_previous_ns = prev.done ? r->mono_ns - prev.at_ns : -1;
    sl_lang_resolve(); /* names only a runtime can give now (Java's) */
    if (!r->mods.mods) {
        sl_modmap_build(&r->mods);
    }
    struct interner in = { .r = r, .maxid = sl_stack_max_id() };
    for (size_t k = 0; k < r->nsocks; k++) {
        if (r->socks[k].rec.stack > in.maxid)
            in.maxid = r->socks[k].rec.stack;
        if (r->socks[k].rec.orig_stack > in.maxid)
            in.maxid = r->socks[k].rec.orig_stack;
        if (r->socks[k].rec.eof_stack > in.maxid)
            in.maxid = r->socks[k].rec.eof_stack;
    }
    /* every stack interned is one of 0..maxid: room for all, or for two per socket if
     * that is less (the arrays grow if events bring more) */
    in.cap = 2 * r->nsocks + 16 < (size_t)in.maxid + 2 ? 2 * r->nsocks + 16 : (size_t)in.maxid + 2;
    in.map = sl_big_calloc((size_t)in.maxid + 1, sizeof(uint32_t));
    r->stacks = sl_big_calloc(in.cap, sizeof(*r->stacks));
    r->groups = sl_big_calloc(in.cap, sizeof(*r->groups));
    if (!in.map || !r->stacks || !r->groups) {
        sl_big_free(in.map);
        r->truncated = true;
        r->nsocks = 0;
        return -ENOMEM;
    }
    /* suppressions first: suppressed sockets leave the report, and are only counted */
    sl_suppress_load();
    size_t nrules = sl_suppress_count();
    static const char *texts[256];
    for (size_t k = 0; k < nrules && k < SL_ARRAY_LEN(texts); k++)
        texts[k] = sl_suppress_text(k);
    r->rules = texts;
    r->nrules = nrules;
    if (nrules && !r->suppressed_by)
        r->suppressed_by = calloc(nrules, sizeof(long));
    size_t kept = 0;
    for (size_t k = 0; k < r->nsocks; k++) {
        struct sl_rsock *s = &r->socks[k];
        uint32_t gi = intern_rstack(&in, s->rec.stack);
        if (gi == SL_NO_STR) {
            r->truncated = true;
            break;
        }
        int rule = -1;
        if (nrules) {
            struct sl_rstack *st = &r->stacks[gi];
            if (st->suppressed_by == -2)
                st->suppressed_by = sl_suppress_stack(st->frames, st->nframes, st->id);
            rule = st->suppressed_by >= 0 ? st->suppressed_by
                                          : sl_suppress_addr(sl_rstr(r, s->local), sl_rstr(r, s->peer));
        }
        if (rule >= 0) {
            r->suppressed++;
            if (r->suppressed_by)
                r->suppressed_by[rule]++;
            continue;
        }
        r->socks[kept++] = *s;
    }
    r->nsocks = kept;
    r->live = r->close_wait = r->peer_closed = r->leaked = r->listening = r->unseen_live = r->ignored = 0;
    memset(r->leaks, 0, sizeof(r->leaks));
    for (size_t k = 0; k < r->nsocks; k++) {
        struct sl_rsock *s = &r->socks[k];
        uint32_t gi = intern_rstack(&in, s->rec.stack);
        r->live++;
        r->close_wait += s->state == TCP_CLOSE_WAIT;
        r->peer_closed += s->peer_closed_ns >= 0;
        r->leaked += s->leak != SL_LEAK_NONE;
        r->leaks[s->leak]++;
        r->listening += s->listening;
        r->ignored += s->rec.ignored;
        r->unseen_live += s->rec.origin == SL_ORIGIN_UNSEEN;
        if (s->leak && s->leak != s->rec.reported_leak) /* a later close will be a late close */
            sl_fd_mark_leaked(s->rec.fd, s->rec.gen, s->leak, r->mono_ns);
        s->orig_stack = s->rec.origin == SL_ORIGIN_DUP && s->rec.orig_stack ? intern_rstack(&in, s->rec.orig_stack)
                                                                            : SL_NO_STR;
        s->eof = s->rec.eof_ns ? intern_rstack(&in, s->rec.eof_stack) : SL_NO_STR;
        struct sl_rgroup *g = &r->groups[gi];
        s->group = gi;
        if (g->first == UINT32_MAX) {
            g->first = (uint32_t)k;
            g->origin = s->rec.origin;
        }
        g->count++;
        g->ignored += s->rec.ignored;
        if (s->leak) {
            g->leaked++;
            g->leaks[s->leak]++;
        }
        g->states[s->state > 0 && s->state < SL_TCP_STATES ? s->state : 0]++;
        if (s->age_ns > g->oldest_ns)
            g->oldest_ns = s->age_ns;
        int64_t half = s->close_wait_ns >= 0 ? s->close_wait_ns : s->peer_closed_ns;
        if (half >= 0) {
            if (s->close_wait_ns >= 0)
                g->close_wait++;
            else
                g->peer_closed++;
            if (g->cw_min_ns < 0 || half < g->cw_min_ns)
                g->cw_min_ns = half;
            if (half > g->cw_max_ns)
                g->cw_max_ns = half;
            if (s->eof == SL_NO_STR) {
                g->eof_never++;
                g->unread_bytes += s->unread > 0 ? s->unread : 0;
            }
        }
    }
    if (!r->scoped) { /* a scoped report leaves what happened since the last one to the next full one */
        group_growth(&in);
        group_events(&in);
    }
    sl_big_free(in.map);
    add_source_lines(r);
    expand_inlines(r);
    /* most leaked first, stacks without live sockets last and not listed as groups;
     * then remap sockets to the sorted order */
    r->ngroups = r->nstacks;
    uint32_t *perm = sl_big_alloc((r->ngroups + 1) * sizeof(uint32_t));
    if (perm) { /* else unsorted but correct */
        qsort(r->groups, r->ngroups, sizeof(*r->groups), cmp_group);
        for (size_t j = 0; j < r->ngroups; j++)
            perm[r->groups[j].stack] = (uint32_t)j;
        for (size_t k = 0; k < r->nsocks; k++)
            r->socks[k].group = perm[r->socks[k].group];
        sl_big_free(perm);
        while (r->ngroups && r->groups[r->ngroups - 1].count == 0)
            r->ngroups--;
    }
    group_eofs(r);
    return 0;
}


void sl_group_after_fork_child(void)
{
    prev.done = false; /* the parent's notion of "previous" is not ours */
}
