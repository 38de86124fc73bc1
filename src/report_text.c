/*
 * report_text.c - the report for people, in the spirit of sanitizer reports.
 *
 * One headline naming the worst problem and the code behind it, a line of totals,
 * then one block per stack (most leaked first): how many sockets, in which states,
 * since when, the frames, and the fds and peers summarized. Sockets are grouped, never
 * listed one block each, so a report with 100,000 sockets stays readable. Ends with a
 * SUMMARY line that grep and CI logs can pick up.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

#define MAX_FDS_SHOWN 16
#define MAX_ADDRS_SHOWN 4

static const char *plural(long n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

static const char *called(int origin)
{
    switch (origin) {
    case SL_ORIGIN_SOCKET: return "opened by socket()";
    case SL_ORIGIN_SOCKETPAIR: return "opened by socketpair()";
    case SL_ORIGIN_ACCEPT: return "accepted";
    case SL_ORIGIN_DUP: return "duplicated by dup()";
    case SL_ORIGIN_INHERITED: return "inherited at start-up";
    default: return "opened";
    }
}

static void frame_line(struct sl_buf *b, int i, const struct sl_frame *f)
{
    sl_buf_printf(b, "    #%d 0x%" PRIxPTR, i, f->ip);
    if (f->function)
        sl_buf_printf(b, " in %s+0x%" PRIxPTR, f->function, f->function_offset);
    if (f->module)
        sl_buf_printf(b, " (%s+0x%" PRIxPTR ")", f->module, f->module_offset);
    sl_buf_putc(b, '\n');
}

/* "fetch_user (leaky_client+0x12c4)" for the headline: the first frame with a name. */
static void where(struct sl_buf *b, const struct sl_rstack *st)
{
    for (int i = 0; i < st->nframes; i++) {
        const struct sl_frame *f = &st->frames[i];
        if (!f->function && i + 1 < st->nframes)
            continue;
        const char *mod = f->module ? strrchr(f->module, '/') : NULL;
        mod = mod ? mod + 1 : (f->module ? f->module : "?");
        if (f->function)
            sl_buf_printf(b, "%s (%s+0x%" PRIxPTR ")", f->function, mod, f->module_offset);
        else
            sl_buf_printf(b, "%s+0x%" PRIxPTR, mod, f->module_offset);
        return;
    }
    sl_buf_puts(b, "an unknown place (no stack recorded)");
}

static void cw_range(struct sl_buf *b, int64_t lo, int64_t hi)
{
    sl_buf_duration(b, lo);
    if (hi - lo >= 100 * SL_MS) {
        sl_buf_puts(b, " to ");
        sl_buf_duration(b, hi);
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "127.0.0.1:8080 (3), 10.0.0.2:443 (1)": distinct values, most frequent first. */
static void addr_summary(struct sl_buf *b, const char **v, size_t n)
{
    qsort(v, n, sizeof(*v), cmp_str);
    size_t shown = 0, distinct = 0;
    /* pick the most frequent runs, up to MAX_ADDRS_SHOWN, by repeated selection */
    bool *used = calloc(n ? n : 1, sizeof(bool));
    if (!used)
        return;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && !strcmp(v[j], v[i]))
            j++;
        distinct++;
        i = j;
    }
    while (shown < MAX_ADDRS_SHOWN && shown < distinct) {
        size_t best = 0, best_n = 0;
        for (size_t i = 0; i < n;) {
            size_t j = i;
            while (j < n && !strcmp(v[j], v[i]))
                j++;
            if (!used[i] && j - i > best_n)
                best = i, best_n = j - i;
            i = j;
        }
        if (!best_n)
            break;
        used[best] = true;
        sl_buf_printf(b, "%s%s (%zu)", shown ? ", " : "", v[best], best_n);
        shown++;
    }
    if (distinct > shown)
        sl_buf_printf(b, ", and %zu more", distinct - shown);
    free(used);
}

static void group_block(const struct sl_report *r, const struct sl_rgroup *g, const uint32_t *members,
                        struct sl_buf *b)
{
    const struct sl_rstack *st = &r->stacks[g->stack];
    if (g->leaked) {
        sl_buf_printf(b, "Leak of %ld %s stuck in CLOSE_WAIT (", g->leaked, plural(g->leaked, "socket", "sockets"));
        cw_range(b, g->cw_min_ns, g->cw_max_ns);
        sl_buf_printf(b, "), %s:\n", called(g->origin));
        if (g->count > g->leaked)
            sl_buf_printf(b, "  (%ld more from the same place not leaked)\n", g->count - g->leaked);
    } else if (g->close_wait) {
        sl_buf_printf(b, "%ld live %s, %ld in CLOSE_WAIT (", g->count, plural(g->count, "socket", "sockets"),
                      g->close_wait);
        cw_range(b, g->cw_min_ns, g->cw_max_ns);
        sl_buf_puts(b, ", not leaked yet: after ");
        sl_buf_duration(b, sl_opt.close_wait_after);
        sl_buf_printf(b, "), %s:\n", called(g->origin));
    } else {
        sl_buf_printf(b, "%ld live %s, not leaked, %s:\n", g->count, plural(g->count, "socket", "sockets"),
                      called(g->origin));
    }
    if (st->nframes == 0)
        sl_buf_printf(b, "    (no stack: %s)\n", g->origin == SL_ORIGIN_INHERITED ? "the socket predates this program"
                                                  : sl_opt.stack_depth == 0 ? "stack_depth=0"
                                                                            : "not captured");
    for (int i = 0; i < st->nframes; i++)
        frame_line(b, i, &st->frames[i]);

    /* states */
    sl_buf_puts(b, "  states:");
    bool any = false;
    for (int s = 1; s < SL_TCP_STATES; s++)
        if (g->states[s]) {
            sl_buf_printf(b, " %s %ld", sl_tcp_state_name(s), g->states[s]);
            any = true;
        }
    if (g->states[0]) {
        const struct sl_rsock *first = &r->socks[g->first];
        sl_buf_printf(b, "%s%s %s %ld", any ? "," : "", sl_family_name(first->rec.family),
                      sl_type_name(first->rec.type), g->states[0]);
    }
    sl_buf_puts(b, "\n  oldest: ");
    sl_buf_duration(b, g->oldest_ns);
    sl_buf_putc(b, '\n');

    /* fds */
    sl_buf_puts(b, "  fds:");
    for (long i = 0; i < g->count && i < MAX_FDS_SHOWN; i++)
        sl_buf_printf(b, " %d", r->socks[members[i]].rec.fd);
    if (g->count > MAX_FDS_SHOWN)
        sl_buf_printf(b, " ... (%ld more)", g->count - MAX_FDS_SHOWN);
    sl_buf_putc(b, '\n');

    /* addresses */
    const char **v = malloc((size_t)g->count * sizeof(*v));
    if (!v)
        return;
    for (int pass = 0; pass < 2; pass++) {
        size_t n = 0;
        for (long i = 0; i < g->count; i++) {
            const struct sl_rsock *s = &r->socks[members[i]];
            const char *a = sl_rstr(r, pass ? s->local : s->peer);
            if (a)
                v[n++] = a;
        }
        if (!n)
            continue;
        sl_buf_puts(b, pass ? "  local: " : "  peers: ");
        addr_summary(b, v, n);
        sl_buf_putc(b, '\n');
        if (!pass)
            break; /* with peers known, local ports are noise */
    }
    free(v);
}

void sl_report_format_text(const struct sl_report *r, struct sl_buf *b)
{
    int pid = (int)r->pid;
    /* members of each group, in fd order */
    uint32_t *start = calloc(r->ngroups + 1, sizeof(uint32_t));
    uint32_t *members = malloc((r->nsocks ? r->nsocks : 1) * sizeof(uint32_t));
    if (!start || !members) {
        free(start);
        free(members);
        sl_buf_printf(b, "==%d==sockleak: out of memory while writing the report\n", pid);
        return;
    }
    for (size_t k = 0; k < r->nsocks; k++)
        start[r->socks[k].group + 1]++;
    for (size_t g = 0; g < r->ngroups; g++)
        start[g + 1] += start[g];
    uint32_t *fill = calloc(r->ngroups + 1, sizeof(uint32_t));
    for (size_t k = 0; fill && k < r->nsocks; k++) {
        uint32_t g = r->socks[k].group;
        members[start[g] + fill[g]++] = (uint32_t)k;
    }
    free(fill);

    /* headline */
    sl_buf_printf(b, "==%d==sockleak: ", pid);
    if (r->leaked) {
        const struct sl_rgroup *g = &r->groups[0];
        sl_buf_printf(b, "%ld %s stuck in CLOSE_WAIT for ", r->leaked, plural(r->leaked, "socket", "sockets"));
        int64_t lo = -1, hi = -1;
        for (size_t k = 0; k < r->nsocks; k++)
            if (r->socks[k].leak) {
                int64_t d = r->socks[k].close_wait_ns;
                if (lo < 0 || d < lo)
                    lo = d;
                if (d > hi)
                    hi = d;
            }
        cw_range(b, lo, hi);
        sl_buf_puts(b, ", opened at ");
        where(b, &r->stacks[g->stack]);
        if (r->ngroups > 1 && r->groups[1].leaked)
            sl_buf_puts(b, " and elsewhere");
        sl_buf_putc(b, '\n');
    } else if (r->close_wait) {
        /* in CLOSE_WAIT, but not for close_wait_after yet: say so, and where */
        const struct sl_rgroup *g = NULL;
        for (size_t k = 0; k < r->ngroups && !g; k++)
            if (r->groups[k].close_wait)
                g = &r->groups[k];
        sl_buf_printf(b, "%ld live %s, none leaked yet: %ld in CLOSE_WAIT for ", r->live,
                      plural(r->live, "socket", "sockets"), r->close_wait);
        cw_range(b, g->cw_min_ns, g->cw_max_ns);
        sl_buf_puts(b, " (leaked after ");
        sl_buf_duration(b, sl_opt.close_wait_after);
        sl_buf_puts(b, "), opened at ");
        where(b, &r->stacks[g->stack]);
        sl_buf_putc(b, '\n');
    } else {
        sl_buf_printf(b, "%ld live %s, none leaked\n", r->live, plural(r->live, "socket", "sockets"));
    }
    char ts[40];
    sl_format_rfc3339(&r->wall, ts, sizeof(ts));
    sl_buf_printf(b, "==%d==report: %s of %s (pid %d) at %s, after ", pid, sl_reason_name(r->reason), sl_program, pid,
                  ts);
    sl_buf_duration(b, r->uptime_ns);
    sl_buf_printf(b, "; %ld live, %ld in CLOSE_WAIT, %ld leaked (CLOSE_WAIT for ", r->live, r->close_wait,
                  r->leaked);
    sl_buf_duration(b, sl_opt.close_wait_after);
    sl_buf_printf(b, " or more), %ld listening\n\n", r->listening);

    for (size_t g = 0; g < r->ngroups; g++) {
        group_block(r, &r->groups[g], members + start[g], b);
        sl_buf_putc(b, '\n');
    }

    /* what the shim could not see */
    if (r->untracked || r->stats.stale || r->dropped_now || r->stack_overflow || r->truncated) {
        sl_buf_printf(b, "==%d==coverage:", pid);
        if (r->untracked)
            sl_buf_printf(b, " %ld %s created but not tracked (%ld for lack of memory or max_tracked);", r->untracked,
                          plural(r->untracked, "socket", "sockets"), r->nomem);
        if (r->stats.stale)
            sl_buf_printf(b, " %ld closed behind the shim's back (fclose, raw syscalls);", r->stats.stale);
        if (r->stack_overflow)
            sl_buf_printf(b, " %ld stacks not stored (table full);", r->stack_overflow);
        if (r->truncated)
            sl_buf_puts(b, " this report is incomplete (out of memory);");
        sl_buf_putc(b, '\n');
    }
    size_t leaky_stacks = 0;
    for (size_t g = 0; g < r->ngroups; g++)
        leaky_stacks += r->groups[g].leaked > 0;
    sl_buf_printf(b, "SUMMARY: sockleak: %ld leaked %s in %zu %s; %ld live in %zu %s; %ld opened, %ld closed since start.\n",
                  r->leaked, plural(r->leaked, "socket", "sockets"), leaky_stacks, plural((long)leaky_stacks, "stack", "stacks"),
                  r->live, r->ngroups, plural((long)r->ngroups, "stack", "stacks"), r->stats.opened, r->stats.closed);
    free(start);
    free(members);
}
