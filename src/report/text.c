/*
 * report_text.c - the report for people, in the spirit of sanitizer reports.
 *
 * One headline naming the worst problem and the code behind it, a line of totals,
 * then one block per stack (most leaked first): how many sockets, in which states,
 * since when, the frames, where they read end-of-file (the code that saw the peer hang
 * up, with its frames: what to fix in a CLOSE_WAIT leak) or how much of what they
 * received they never read, and the fds and peers summarized. Sockets are grouped, never
 * listed one block each, so a report with 100,000 sockets stays readable. Ends with a
 * SUMMARY line that grep and CI logs can pick up.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

#define MAX_FDS_SHOWN 16
#define MAX_ADDRS_SHOWN 4
#define MAX_EOF_PLACES_SHOWN 4

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
    case SL_ORIGIN_SCM_RIGHTS: return "received through SCM_RIGHTS";
    case SL_ORIGIN_UNSEEN: return "found open, never seen created";
    case SL_ORIGIN_PRE_ATTACH: return "open when sockleak attached";
    default: return "opened";
    }
}

static void frame_line(struct sl_buf *b, int i, const struct sl_frame *f)
{
    if (f->lang) { /* "#0 fetch_item /srv/app/client.py:11 (python)" */
        sl_buf_printf(b, "    #%d %s", i, f->function ? f->function : "(unnamed)");
        if (f->file && f->line > 0)
            sl_buf_printf(b, " %s:%d", f->file, f->line);
        else if (f->file)
            sl_buf_printf(b, " %s", f->file);
        if (f->column > 0)
            sl_buf_printf(b, ":%d", f->column);
        sl_buf_printf(b, " (%s)\n", sl_lang_name(f->lang));
        return;
    }
    sl_buf_printf(b, "    #%d 0x%" PRIxPTR, i, f->ip);
    if (f->function)
        sl_buf_printf(b, " in %s%s", f->function, f->inlined ? " (inlined)" : "");
    if (f->file)
        sl_buf_printf(b, " %s:%d", f->file, f->line);
    else if (f->function && !f->inlined)
        sl_buf_printf(b, "+0x%" PRIxPTR, f->function_offset);
    if (f->module)
        sl_buf_printf(b, " (%s+0x%" PRIxPTR ")", f->module, f->module_offset);
    sl_buf_putc(b, '\n');
}

/* The first group with half-closed sockets that may still become leaks (not all
 * marked with sockleak_ignore), one whose stack is known if there is one (after an
 * attach, the sockets open before it come first, without one), or NULL. */
static const struct sl_rgroup *half_closed_group(const struct sl_report *r)
{
    const struct sl_rgroup *first = NULL;
    for (size_t k = 0; k < r->ngroups; k++)
        if ((r->groups[k].close_wait || r->groups[k].peer_closed) && r->groups[k].ignored < r->groups[k].count) {
            if (r->stacks[r->groups[k].stack].nframes)
                return &r->groups[k];
            if (!first)
                first = &r->groups[k];
        }
    return first;
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
    bool *used = sl_big_calloc(n ? n : 1, sizeof(bool));
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
    sl_big_free(used);
}

/* "stuck in CLOSE_WAIT (2.0s to 3.0s)", for one kind of leak */
static void leak_phrase(struct sl_buf *b, const struct sl_options *opt, int kind, const struct sl_rgroup *g)
{
    switch (kind) {
    case SL_LEAK_CLOSE_WAIT:
        sl_buf_puts(b, "stuck in CLOSE_WAIT for ");
        cw_range(b, g->cw_min_ns, g->cw_max_ns);
        break;
    case SL_LEAK_PEER_CLOSED:
        sl_buf_puts(b, "held for ");
        cw_range(b, g->cw_min_ns, g->cw_max_ns);
        sl_buf_puts(b, " after their peer closed");
        break;
    case SL_LEAK_IDLE:
        sl_buf_puts(b, "idle for idle_after (");
        sl_buf_duration(b, opt->idle_after);
        sl_buf_puts(b, ") or more");
        break;
    case SL_LEAK_MAX_AGE:
        sl_buf_puts(b, "open for max_age (");
        sl_buf_duration(b, opt->max_age);
        sl_buf_puts(b, ") or more");
        break;
    }
}

/* "3 sockets stuck in CLOSE_WAIT (..)" or "5 sockets (3 stuck in ..., 2 open for ...)" */
static void leak_summary(struct sl_buf *b, const struct sl_options *opt, long total, const long *leaks,
                         const struct sl_rgroup *g)
{
    int kinds = 0, only = 0;
    for (int k = 1; k < SL_LEAKS; k++)
        if (leaks[k])
            kinds++, only = k;
    sl_buf_printf(b, "%ld %s ", total, plural(total, "socket", "sockets"));
    if (kinds == 1) {
        leak_phrase(b, opt, only, g);
        return;
    }
    sl_buf_putc(b, '(');
    bool first = true;
    for (int k = 1; k < SL_LEAKS; k++)
        if (leaks[k]) {
            sl_buf_printf(b, "%s%ld ", first ? "" : ", ", leaks[k]);
            leak_phrase(b, opt, k, g);
            first = false;
        }
    sl_buf_putc(b, ')');
}

/* "; end-of-file read at handle_request (server.c:45)": where most of g's sockets did */
static void eof_where(const struct sl_report *r, const struct sl_rgroup *g, struct sl_buf *b)
{
    if (g->neofs) {
        sl_buf_puts(b, "; end-of-file read at ");
        sl_report_where(b, &r->stacks[r->eofs[g->first_eof].stack]);
    }
}

/* Where g's sockets read end-of-file, each place with its frames, most sockets first;
 * then its half-closed sockets that no read saw the end of, and the bytes left unread. */
static void eof_blocks(const struct sl_report *r, const struct sl_rgroup *g, struct sl_buf *b)
{
    for (uint32_t k = 0; k < g->neofs; k++) {
        const struct sl_reof *e = &r->eofs[g->first_eof + k];
        if (k == MAX_EOF_PLACES_SHOWN) {
            sl_buf_printf(b, "  end-of-file read in %u more places\n", g->neofs - k);
            break;
        }
        const struct sl_rstack *st = &r->stacks[e->stack];
        sl_buf_puts(b, "  end-of-file read at ");
        sl_report_where(b, st);
        sl_buf_printf(b, ", never closed (%ld %s, ", e->count, plural(e->count, "socket", "sockets"));
        cw_range(b, e->newest_ns, e->oldest_ns);
        sl_buf_puts(b, " ago):\n");
        for (int i = 0, shown = 0; i < st->nframes; i++)
            if (sl_frame_shown(&r->opt, st, &st->frames[i]))
                frame_line(b, shown++, &st->frames[i]);
    }
    if (g->eof_never) {
        sl_buf_printf(b, "  end-of-file never read: %ld %s", g->eof_never, plural(g->eof_never, "socket", "sockets"));
        if (g->unread_bytes)
            sl_buf_printf(b, ", %lld %s never read", (long long)g->unread_bytes, plural(g->unread_bytes, "byte", "bytes"));
        sl_buf_putc(b, '\n');
    }
}

static void group_block(const struct sl_report *r, const struct sl_rgroup *g, const uint32_t *members,
                        struct sl_buf *b)
{
    const struct sl_rstack *st = &r->stacks[g->stack];
    if (g->leaked) {
        sl_buf_puts(b, "Leak of ");
        leak_summary(b, &r->opt, g->leaked, g->leaks, g);
        sl_buf_printf(b, ", %s:\n", called(g->origin));
        if (g->count > g->leaked)
            sl_buf_printf(b, "  (%ld more from the same place not leaked)\n", g->count - g->leaked);
    } else if ((g->close_wait || g->peer_closed) && g->ignored < g->count) {
        sl_buf_printf(b, "%ld live %s, %ld %s (", g->count, plural(g->count, "socket", "sockets"),
                      g->close_wait + g->peer_closed, g->close_wait ? "in CLOSE_WAIT" : "with the peer gone");
        cw_range(b, g->cw_min_ns, g->cw_max_ns);
        sl_buf_puts(b, ", not leaked yet: after ");
        sl_buf_duration(b, r->opt.close_wait_after);
        sl_buf_printf(b, "), %s:\n", called(g->origin));
    } else {
        sl_buf_printf(b, "%ld live %s, %s, %s:\n", g->count, plural(g->count, "socket", "sockets"),
                      r->scoped ? "left open since the checkpoint" : "not leaked", called(g->origin));
    }
    if (st->nframes == 0)
        sl_buf_printf(b, "    (no stack: %s)\n",
                      g->origin == SL_ORIGIN_INHERITED ? "the socket predates this program"
                      : g->origin == SL_ORIGIN_UNSEEN  ? "created where the shim could not see (raw system call, io_uring)"
                      : g->origin == SL_ORIGIN_PRE_ATTACH ? "created before sockleak attached"
                      : r->opt.stack_depth == 0        ? "stack_depth=0"
                                                       : "not captured");
    for (int i = 0, shown = 0; i < st->nframes; i++)
        if (sl_frame_shown(&r->opt, st, &st->frames[i]))
            frame_line(b, shown++, &st->frames[i]);
    eof_blocks(r, g, b);

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
        sl_buf_printf(b, "%s %s %s %ld", any ? "," : "", sl_family_name(first->rec.family),
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
    if (g->ignored)
        sl_buf_printf(b, "  ignored: %ld (marked long-lived with sockleak_ignore: never counted as leaked)\n",
                      g->ignored);

    /* addresses */
    const char **v = sl_big_calloc((size_t)g->count + 1, sizeof(*v));
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
    sl_big_free(v);
}

/* The first lines: the trouble that triggered the report, then the worst leak. */
static void headline(const struct sl_report *r, struct sl_buf *b)
{
    int pid = (int)r->pid;
    if (r->reason == SL_REASON_EMFILE)
        sl_buf_printf(b, "==%d==sockleak: out of file descriptors (%s): %ld open, limit %ld\n", pid,
                      r->trigger.last_errno == ENFILE ? "ENFILE" : "EMFILE", r->env.open_fds, r->trigger.nofile_soft);
    else if (r->reason == SL_REASON_THRESHOLD)
        sl_buf_printf(b, "==%d==sockleak: threshold reached: %ld fds open of %ld (fd_threshold %d%%), %ld live sockets%s\n",
                      pid, r->env.open_fds, r->trigger.nofile_soft, r->opt.fd_threshold, r->live,
                      r->opt.max_sockets > 0 && r->live >= r->opt.max_sockets ? " (max_sockets reached)" : "");
    sl_buf_printf(b, "==%d==sockleak: ", pid);
    const struct sl_rgroup *half = half_closed_group(r);
    if (r->scoped && !r->live) {
        sl_buf_printf(b, "no socket made since checkpoint %llu is still open\n", (unsigned long long)r->checkpoint);
    } else if (r->scoped) {
        sl_buf_printf(b, "%ld %s left open since checkpoint %llu, opened at ", r->live,
                      plural(r->live, "socket", "sockets"), (unsigned long long)r->checkpoint);
        sl_report_where(b, &r->stacks[r->groups[0].stack]);
        if (r->ngroups > 1)
            sl_buf_puts(b, " and elsewhere");
        eof_where(r, &r->groups[0], b);
        sl_buf_putc(b, '\n');
    } else if (r->leaked) {
        /* where: the most leaked group whose stack is known (after an attach, the
         * sockets open before it lead, without one) */
        const struct sl_rgroup *g = &r->groups[0];
        for (size_t k = 0; k < r->ngroups && r->groups[k].leaked && !r->stacks[g->stack].nframes; k++)
            if (r->stacks[r->groups[k].stack].nframes)
                g = &r->groups[k];
        int64_t lo = -1, hi = -1;
        for (size_t k = 0; k < r->nsocks; k++)
            if (r->socks[k].leak == SL_LEAK_CLOSE_WAIT || r->socks[k].leak == SL_LEAK_PEER_CLOSED) {
                int64_t d = r->socks[k].close_wait_ns >= 0 ? r->socks[k].close_wait_ns : r->socks[k].peer_closed_ns;
                if (lo < 0 || d < lo)
                    lo = d;
                if (d > hi)
                    hi = d;
            }
        struct sl_rgroup whole = *g;
        whole.cw_min_ns = lo, whole.cw_max_ns = hi;
        leak_summary(b, &r->opt, r->leaked, r->leaks, &whole);
        sl_buf_puts(b, ", opened at ");
        sl_report_where(b, &r->stacks[g->stack]);
        if (g->leaked < r->leaked)
            sl_buf_puts(b, " and elsewhere");
        eof_where(r, g, b);
        sl_buf_putc(b, '\n');
    } else if (r->late_total) {
        sl_buf_printf(b, "%ld %s leaked, then closed later (by a finalizer, at shutdown, or late)", r->late_total,
                      plural(r->late_total, "socket", "sockets"));
        if (r->nlate) {
            sl_buf_puts(b, ", opened at ");
            sl_report_where(b, &r->stacks[r->late[0].stack]);
        }
        sl_buf_putc(b, '\n');
    } else if (half) {
        /* half-closed, but not for close_wait_after yet: say so, and where */
        sl_buf_printf(b, "%ld live %s, none leaked yet: %ld %s for ", r->live, plural(r->live, "socket", "sockets"),
                      r->close_wait + r->peer_closed, r->close_wait ? "in CLOSE_WAIT" : "with the peer gone");
        cw_range(b, half->cw_min_ns, half->cw_max_ns);
        sl_buf_puts(b, " (leaked after ");
        sl_buf_duration(b, r->opt.close_wait_after);
        sl_buf_puts(b, "), opened at ");
        sl_report_where(b, &r->stacks[half->stack]);
        eof_where(r, half, b);
        sl_buf_putc(b, '\n');
    } else {
        sl_buf_printf(b, "%ld live %s, none leaked\n", r->live, plural(r->live, "socket", "sockets"));
    }
    char ts[40];
    sl_format_rfc3339(&r->wall, ts, sizeof(ts));
    sl_buf_printf(b, "==%d==report: %s of %s (pid %d) at %s, after ", pid, sl_reason_name(r->reason), r->program, pid,
                  ts);
    sl_buf_duration(b, r->uptime_ns);
    if (r->attached.at.tv_sec) {
        sl_format_rfc3339(&r->attached.at, ts, sizeof(ts));
        sl_buf_printf(b, " attached (at %s; %ld %s open then, listed as pre-attach)", ts, r->attached.pre_attach,
                      plural(r->attached.pre_attach, "socket was", "sockets were"));
    }
    sl_buf_printf(b, "; %ld live, %ld in CLOSE_WAIT, %ld leaked (CLOSE_WAIT for ", r->live, r->close_wait,
                  r->leaked);
    sl_buf_duration(b, r->opt.close_wait_after);
    sl_buf_printf(b, " or more), %ld listening", r->listening);
    if (r->ignored)
        sl_buf_printf(b, ", %ld ignored (sockleak_ignore)", r->ignored);
    sl_buf_puts(b, "\n\n");
}

/* One block per group, most leaked first. Returns false when memory ran out. */
static bool group_blocks(const struct sl_report *r, struct sl_buf *b)
{
    /* members of each group, in fd order */
    uint32_t *start = sl_big_calloc(r->ngroups + 1, sizeof(uint32_t));
    uint32_t *members = sl_big_calloc(r->nsocks ? r->nsocks : 1, sizeof(uint32_t));
    uint32_t *fill = sl_big_calloc(r->ngroups + 1, sizeof(uint32_t));
    bool ok = start && members && fill;
    if (ok) {
        for (size_t k = 0; k < r->nsocks; k++)
            start[r->socks[k].group + 1]++;
        for (size_t g = 0; g < r->ngroups; g++)
            start[g + 1] += start[g];
        for (size_t k = 0; k < r->nsocks; k++) {
            uint32_t g = r->socks[k].group;
            members[start[g] + fill[g]++] = (uint32_t)k;
        }
        for (size_t g = 0; g < r->ngroups; g++) {
            group_block(r, &r->groups[g], members + start[g], b);
            sl_buf_putc(b, '\n');
        }
    }
    sl_big_free(start);
    sl_big_free(members);
    sl_big_free(fill);
    return ok;
}

/* growth since the previous report */
static void growth_section(const struct sl_report *r, struct sl_buf *b)
{
    if (r->since_previous_ns < 0)
        return;
    size_t shown = 0;
    for (size_t k = 0; k < r->ngrowth && shown < 10; k++) {
        const struct sl_rgrowth *g = &r->growth[k];
        if (g->added - g->removed <= 0)
            break; /* sorted by net growth */
        if (!shown++) {
            sl_buf_puts(b, "Growing since the previous report (");
            sl_buf_duration(b, r->since_previous_ns);
            sl_buf_puts(b, " ago):\n");
        }
        sl_buf_printf(b, "  +%ld -%ld (net +%ld; %ld opened, %ld closed since start) at ", g->added, g->removed,
                      g->added - g->removed, g->added_total, g->removed_total);
        sl_report_where(b, &r->stacks[g->stack]);
        sl_buf_printf(b, " [%s]\n", r->stacks[g->stack].id);
    }
    if (shown)
        sl_buf_putc(b, '\n');
}

/* sockets found leaked, closed since (a finalizer, interpreter shutdown, a slow path):
 * still leaks for the verdict; one line per stack */
static void late_section(const struct sl_report *r, struct sl_buf *b)
{
    if (!r->nlate)
        return;
    sl_buf_printf(b, "Leaked, then closed later (by a finalizer, at shutdown, or late): %zu %s\n", r->nlate,
                  plural((long)r->nlate, "socket", "sockets"));
    size_t shown = 0;
    for (size_t k = 0; k < r->nlate; k++) {
        const struct sl_rlate *l = &r->late[k];
        bool seen = false;
        for (size_t j = 0; j < k && !seen; j++)
            seen = r->late[j].stack == l->stack;
        if (seen)
            continue;
        if (shown++ == 10) {
            sl_buf_puts(b, "  ... and more places\n");
            break;
        }
        long n = 0;
        int64_t lo = -1, hi = 0;
        for (size_t j = k; j < r->nlate; j++)
            if (r->late[j].stack == l->stack) {
                n++;
                int64_t d = r->late[j].ev.after_report_ns;
                lo = lo < 0 || d < lo ? d : lo;
                hi = d > hi ? d : hi;
            }
        sl_buf_printf(b, "  %ld (%s, e.g. fd %d) closed ", n, sl_leak_name(l->ev.leak), l->ev.fd);
        if (l->ev.leak == SL_LEAK_UNCLOSED) {
            sl_buf_puts(b, "by the runtime's garbage collector or shutdown, never by the program, opened at ");
        } else {
            cw_range(b, lo, hi);
            sl_buf_puts(b, " after found leaked, opened at ");
        }
        sl_report_where(b, &r->stacks[l->stack]);
        sl_buf_printf(b, " [%s]\n", r->stacks[l->stack].id);
    }
    sl_buf_putc(b, '\n');
}

/* double closes: a bug of its own, and a sign of fd confusion */
static void dclose_section(const struct sl_report *r, struct sl_buf *b)
{
    for (size_t k = 0; k < r->ndclose; k++) {
        const struct sl_rdclose *d = &r->dclose[k];
        const struct sl_rstack *st = &r->stacks[d->stack];
        sl_buf_printf(b, "Double close of a socket already closed (%ld %s, e.g. fd %d), at:\n", d->count,
                      plural(d->count, "time", "times"), d->fd);
        for (int i = 0; i < st->nframes; i++)
            frame_line(b, i, &st->frames[i]);
        sl_buf_putc(b, '\n');
    }
}

/* what the shim could not see, or saw only indirectly; what was suppressed */
static void coverage_lines(const struct sl_report *r, struct sl_buf *b)
{
    int pid = (int)r->pid;
    if (r->untracked || r->stats.stale || r->dropped_now || r->stack_overflow || r->truncated || r->unseen_found
        || r->dclose_total || r->late_lost || r->dclose_lost || r->unwind_mismatch) {
        sl_buf_printf(b, "==%d==coverage (what the shim saw only in part; not errors of the program):", pid);
        if (r->untracked)
            sl_buf_printf(b, " %ld %s created but not tracked (%ld for lack of memory or max_tracked);", r->untracked,
                          plural(r->untracked, "socket", "sockets"), r->nomem);
        if (r->stats.stale)
            sl_buf_printf(b, " %ld closed where the shim does not look (fclose(), glibc's own closes), records dropped;",
                          r->stats.stale);
        if (r->unseen_found)
            sl_buf_printf(b, " %ld found open but never seen created (%ld still open, %ld closed since);",
                          r->unseen_found, r->unseen_live, r->unseen_closed);
        if (r->dclose_total)
            sl_buf_printf(b, " %ld double %s;", r->dclose_total, plural(r->dclose_total, "close", "closes"));
        if (r->late_lost || r->dclose_lost)
            sl_buf_printf(b, " %ld events lost (too many between reports);", r->late_lost + r->dclose_lost);
        if (r->stack_overflow)
            sl_buf_printf(b, " %ld stacks not stored (table full);", r->stack_overflow);
        if (r->unwind_mismatch)
            sl_buf_printf(b, " %ld stacks where the fast unwinder and libunwind differed (unwinder=verify);",
                          r->unwind_mismatch);
        if (r->truncated)
            sl_buf_puts(b, " this report is incomplete (out of memory);");
        sl_buf_putc(b, '\n');
    }
    if (r->suppressed) {
        sl_buf_printf(b, "==%d==suppressed: %ld %s (", pid, r->suppressed, plural(r->suppressed, "socket", "sockets"));
        bool first = true;
        for (size_t k = 0; r->suppressed_by && k < r->nrules; k++)
            if (r->suppressed_by[k]) {
                sl_buf_printf(b, "%s%s: %ld", first ? "" : ", ", r->rules[k], r->suppressed_by[k]);
                first = false;
            }
        sl_buf_puts(b, ")\n");
    }
}

/* the environment line and the SUMMARY line grep and CI logs pick up */
static void closing_lines(const struct sl_report *r, struct sl_buf *b)
{
    int pid = (int)r->pid;
    sl_buf_printf(b, "==%d==environment: %s; %ld fds open, limit %ld", pid, r->env.kernel[0] ? r->env.kernel : "?",
                  r->env.open_fds, r->env.nofile_soft);
    if (r->env.threshold_fds > 0)
        sl_buf_printf(b, " (report at %ld)", r->env.threshold_fds);
    for (int k = 0; k < r->env.nsysctl; k++)
        sl_buf_printf(b, "%s %s=%s", k ? "" : ";", r->env.sysctl[k].name, r->env.sysctl[k].value);
    sl_buf_putc(b, '\n');
    size_t leaky_stacks = 0;
    for (size_t g = 0; g < r->ngroups; g++)
        leaky_stacks += r->groups[g].leaked > 0;
    sl_buf_printf(b, "SUMMARY: sockleak: %ld leaked %s in %zu %s; ", r->leaked, plural(r->leaked, "socket", "sockets"),
                  leaky_stacks, plural((long)leaky_stacks, "stack", "stacks"));
    if (r->late_total)
        sl_buf_printf(b, "%ld leaked, then closed later; ", r->late_total);
    sl_buf_printf(b, "%ld live in %zu %s; %ld opened, %ld closed since start.\n", r->live, r->ngroups,
                  plural((long)r->ngroups, "stack", "stacks"), r->stats.opened, r->stats.closed);
}

/* An exit with nothing live and nothing ever leaked, nothing missed: one line, as a
 * sanitizer says nothing of a clean run (a shell running 20 clean curls prints 20). */
static bool clean_exit(const struct sl_report *r)
{
    return r->reason == SL_REASON_EXIT && r->live == 0 && r->suppressed == 0 && r->late_total == 0
        && r->dclose_total == 0 && r->untracked == 0 && !r->truncated;
}

void sl_report_format_text(const struct sl_report *r, struct sl_buf *b)
{
    if (clean_exit(r)) {
        sl_buf_printf(b, "==%d==sockleak: no leaks in %s: %ld %s opened, all closed\n", (int)r->pid, r->program,
                      r->stats.opened, plural(r->stats.opened, "socket", "sockets"));
        return;
    }
    size_t mark = b->len;
    headline(r, b);
    if (!group_blocks(r, b)) {
        b->len = mark;
        sl_buf_printf(b, "==%d==sockleak: out of memory while writing the report\n", (int)r->pid);
        return;
    }
    growth_section(r, b);
    late_section(r, b);
    dclose_section(r, b);
    coverage_lines(r, b);
    closing_lines(r, b);
}
