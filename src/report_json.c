/*
 * report_json.c - the report for tools: one JSON object on one line (JSON Lines).
 *
 * Keys follow ../shared/CONTRACT.md; extra keys are additive. All strings pass through
 * sl_buf_json_str, so paths and names with odd bytes still give valid UTF-8 JSON.
 * Numbers are integers (milliseconds for durations); absent values are null.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <netinet/tcp.h>
#include <string.h>

#include "report.h"

static void key(struct sl_buf *b, const char *k)
{
    sl_buf_json_str(b, k);
    sl_buf_putc(b, ':');
}

static void kv_str(struct sl_buf *b, const char *k, const char *v, bool comma)
{
    key(b, k);
    sl_buf_json_str(b, v);
    if (comma)
        sl_buf_putc(b, ',');
}

static void kv_long(struct sl_buf *b, const char *k, long long v, bool comma)
{
    key(b, k);
    sl_buf_printf(b, "%lld", v);
    if (comma)
        sl_buf_putc(b, ',');
}

static void frame(struct sl_buf *b, const struct sl_frame *f)
{
    sl_buf_putc(b, '{');
    key(b, "ip");
    sl_buf_printf(b, "\"0x%" PRIxPTR "\",", f->ip);
    kv_str(b, "function", f->function, true);
    key(b, "function_offset");
    if (f->function)
        sl_buf_printf(b, "\"0x%" PRIxPTR "\",", f->function_offset);
    else
        sl_buf_puts(b, "null,");
    kv_str(b, "module", f->module, true);
    key(b, "module_offset");
    sl_buf_printf(b, "\"0x%" PRIxPTR "\",", f->module_offset);
    kv_str(b, "build_id", f->build_id, true);
    kv_str(b, "file", f->file, true);
    key(b, "line");
    if (f->line > 0)
        sl_buf_printf(b, "%d", f->line);
    else
        sl_buf_puts(b, "null");
    sl_buf_putc(b, '}');
}

static void socket_obj(struct sl_buf *b, const struct sl_report *r, const struct sl_rsock *s)
{
    const struct sl_rec_info *i = &s->rec;
    sl_buf_putc(b, '{');
    kv_long(b, "fd", i->fd, true);
    kv_str(b, "family", sl_family_name(i->family), true);
    kv_str(b, "type", sl_type_name(i->type), true);
    kv_str(b, "protocol", sl_proto_name(i->family, i->type, i->proto), true);
    kv_str(b, "state", sl_tcp_state_name(s->state), true);
    kv_str(b, "local", sl_rstr(r, s->local), true);
    kv_str(b, "peer", sl_rstr(r, s->peer), true);
    kv_str(b, "origin", sl_origin_name(i->origin), true);
    kv_long(b, "age_ms", s->age_ns / SL_MS, true);
    key(b, "close_wait_ms");
    if (s->close_wait_ns >= 0)
        sl_buf_printf(b, "%lld,", (long long)(s->close_wait_ns / SL_MS));
    else
        sl_buf_puts(b, "null,");
    key(b, "peer_closed_ms");
    if (s->peer_closed_ns >= 0)
        sl_buf_printf(b, "%lld,", (long long)(s->peer_closed_ns / SL_MS));
    else
        sl_buf_puts(b, "null,");
    key(b, "idle_ms");
    if (s->idle_ns >= 0)
        sl_buf_printf(b, "%lld,", (long long)(s->idle_ns / SL_MS));
    else
        sl_buf_puts(b, "null,");
    key(b, "listening");
    sl_buf_puts(b, s->listening ? "true," : "false,");
    kv_str(b, "leak", sl_leak_name(s->leak), true);
    key(b, "ignored");
    sl_buf_puts(b, i->ignored ? "true," : "false,");
    kv_str(b, "stack", r->stacks[r->groups[s->group].stack].id, true);
    kv_str(b, "origin_stack", s->orig_stack != SL_NO_STR ? r->stacks[s->orig_stack].id : NULL, true);
    key(b, "forked");
    sl_buf_puts(b, i->forked ? "true," : "false,");
    kv_long(b, "inode", (long long)i->ino, true);
    kv_long(b, "thread", i->tid, false);
    sl_buf_putc(b, '}');
}

void sl_report_format_json(const struct sl_report *r, struct sl_buf *b)
{
    char ts[40];
    sl_format_rfc3339(&r->wall, ts, sizeof(ts));
    sl_buf_putc(b, '{');
    kv_str(b, "tool", "sockleak", true);
    kv_str(b, "version", SL_VERSION, true);
    kv_long(b, "pid", r->pid, true);
    kv_long(b, "ppid", r->ppid, true);
    kv_str(b, "program", sl_program, true);
    kv_str(b, "reason", sl_reason_name(r->reason), true);
    kv_str(b, "timestamp", ts, true);
    kv_long(b, "uptime_ms", r->uptime_ns / SL_MS, true);
    kv_str(b, "unwinder", sl_stack_unwinder(), true);

    key(b, "options");
    sl_buf_putc(b, '{');
    kv_long(b, "close_wait_after_ms", sl_opt.close_wait_after / SL_MS, true);
    kv_long(b, "scan_interval_ms", sl_opt.scan_interval / SL_MS, true);
    kv_long(b, "stack_depth", sl_opt.stack_depth, true);
    kv_long(b, "max_age_ms", sl_opt.max_age / SL_MS, true);
    kv_long(b, "idle_after_ms", sl_opt.idle_after / SL_MS, true);
    kv_long(b, "fd_threshold", sl_opt.fd_threshold, true);
    kv_long(b, "max_sockets", sl_opt.max_sockets, false);
    sl_buf_puts(b, "},");
    if (r->reason == SL_REASON_EMFILE || r->reason == SL_REASON_THRESHOLD) {
        key(b, "trigger");
        sl_buf_putc(b, '{');
        kv_long(b, "open_fds", r->env.open_fds, true);
        kv_long(b, "nofile_soft", r->trigger.nofile_soft, true);
        kv_long(b, "threshold_fds", r->trigger.threshold_fds, true);
        kv_long(b, "max_sockets", sl_opt.max_sockets, true);
        kv_str(b, "errno", r->reason != SL_REASON_EMFILE ? NULL : r->trigger.last_errno == ENFILE ? "ENFILE" : "EMFILE",
               false);
        sl_buf_puts(b, "},");
    }

    key(b, "summary");
    sl_buf_putc(b, '{');
    kv_long(b, "live", r->live, true);
    kv_long(b, "close_wait", r->close_wait, true);
    kv_long(b, "leaked", r->leaked, true);
    kv_long(b, "listening", r->listening, true);
    kv_long(b, "peer_closed", r->peer_closed, true);
    kv_long(b, "ignored", r->ignored, true);
    kv_long(b, "suppressed", r->suppressed, true);
    key(b, "leaks");
    sl_buf_putc(b, '{');
    for (int k = 1; k < SL_LEAKS; k++)
        kv_long(b, sl_leak_name(k), r->leaks[k], k + 1 < SL_LEAKS);
    sl_buf_puts(b, "},");
    kv_long(b, "stacks", (long long)r->ngroups, true);
    kv_long(b, "opened", r->stats.opened, true);
    kv_long(b, "closed", r->stats.closed, false);
    sl_buf_puts(b, "},");

    key(b, "coverage");
    sl_buf_putc(b, '{');
    kv_long(b, "untracked", r->untracked, true);
    kv_long(b, "untracked_nomem", r->nomem, true);
    kv_long(b, "closed_behind_back", r->stats.stale, true);
    kv_long(b, "stacks_dropped", r->stack_overflow, true);
    key(b, "truncated");
    sl_buf_puts(b, r->truncated ? "true" : "false");
    sl_buf_puts(b, "},");

    key(b, "sockets");
    sl_buf_putc(b, '[');
    for (size_t k = 0; k < r->nsocks; k++) {
        if (k)
            sl_buf_putc(b, ',');
        socket_obj(b, r, &r->socks[k]);
    }
    sl_buf_puts(b, "],");

    key(b, "stacks");
    sl_buf_putc(b, '[');
    for (size_t j = 0; j < r->nstacks; j++) {
        const struct sl_rstack *st = &r->stacks[j];
        if (j)
            sl_buf_putc(b, ',');
        sl_buf_putc(b, '{');
        kv_str(b, "id", st->id, true);
        key(b, "frames");
        sl_buf_putc(b, '[');
        for (int f = 0; f < st->nframes; f++) {
            if (f)
                sl_buf_putc(b, ',');
            frame(b, &st->frames[f]);
        }
        sl_buf_puts(b, "]}");
    }
    sl_buf_puts(b, "],");

    key(b, "groups");
    sl_buf_putc(b, '[');
    for (size_t g = 0; g < r->ngroups; g++) {
        const struct sl_rgroup *gr = &r->groups[g];
        if (g)
            sl_buf_putc(b, ',');
        sl_buf_putc(b, '{');
        kv_str(b, "stack", r->stacks[gr->stack].id, true);
        kv_long(b, "count", gr->count, true);
        kv_long(b, "leaked", gr->leaked, true);
        kv_long(b, "close_wait", gr->close_wait, true);
        kv_long(b, "peer_closed", gr->peer_closed, true);
        key(b, "leaks");
        sl_buf_putc(b, '{');
        bool firstk = true;
        for (int k = 1; k < SL_LEAKS; k++)
            if (gr->leaks[k]) {
                if (!firstk)
                    sl_buf_putc(b, ',');
                kv_long(b, sl_leak_name(k), gr->leaks[k], false);
                firstk = false;
            }
        sl_buf_puts(b, "},");
        key(b, "max_close_wait_ms");
        if (gr->cw_max_ns >= 0)
            sl_buf_printf(b, "%lld,", (long long)(gr->cw_max_ns / SL_MS));
        else
            sl_buf_puts(b, "null,");
        kv_long(b, "oldest_ms", gr->oldest_ns / SL_MS, true);
        kv_str(b, "origin", sl_origin_name(gr->origin), true);
        kv_long(b, "not_tcp", gr->states[0], true);
        key(b, "states");
        sl_buf_putc(b, '{');
        bool first = true;
        for (int s = 1; s < SL_TCP_STATES; s++)
            if (gr->states[s]) {
                if (!first)
                    sl_buf_putc(b, ',');
                kv_long(b, sl_tcp_state_name(s), gr->states[s], false);
                first = false;
            }
        sl_buf_puts(b, "}}");
    }
    sl_buf_puts(b, "],");

    /* growth per stack since the previous report */
    key(b, "growth");
    sl_buf_putc(b, '{');
    key(b, "since_ms");
    if (r->since_previous_ns >= 0)
        sl_buf_printf(b, "%lld,", (long long)(r->since_previous_ns / SL_MS));
    else
        sl_buf_puts(b, "null,");
    key(b, "stacks");
    sl_buf_putc(b, '[');
    for (size_t k = 0; k < r->ngrowth; k++) {
        const struct sl_rgrowth *g = &r->growth[k];
        if (k)
            sl_buf_putc(b, ',');
        sl_buf_putc(b, '{');
        kv_str(b, "stack", r->stacks[g->stack].id, true);
        kv_long(b, "added", g->added, true);
        kv_long(b, "removed", g->removed, true);
        kv_long(b, "net", g->added - g->removed, true);
        kv_long(b, "added_total", g->added_total, true);
        kv_long(b, "removed_total", g->removed_total, false);
        sl_buf_putc(b, '}');
    }
    sl_buf_puts(b, "]},");

    /* sockets flagged as leaked by an earlier report, closed since */
    key(b, "closed_late");
    sl_buf_putc(b, '{');
    kv_long(b, "total", r->late_total, true);
    kv_long(b, "lost", r->late_lost, true);
    key(b, "sockets");
    sl_buf_putc(b, '[');
    for (size_t k = 0; k < r->nlate; k++) {
        const struct sl_rlate *l = &r->late[k];
        if (k)
            sl_buf_putc(b, ',');
        sl_buf_putc(b, '{');
        kv_long(b, "fd", l->ev.fd, true);
        kv_str(b, "stack", r->stacks[l->stack].id, true);
        kv_str(b, "leak", sl_leak_name(l->ev.leak), true);
        kv_long(b, "lifetime_ms", l->ev.lifetime_ns / SL_MS, true);
        kv_long(b, "closed_after_report_ms", l->ev.after_report_ns / SL_MS, false);
        sl_buf_putc(b, '}');
    }
    sl_buf_puts(b, "]},");

    /* what the shim saw only indirectly */
    key(b, "unseen");
    sl_buf_putc(b, '{');
    kv_long(b, "found_open", r->unseen_found, true);
    kv_long(b, "open_now", r->unseen_live, true);
    kv_long(b, "closed", r->unseen_closed, true);
    kv_long(b, "scm_rights", r->scm_rights, true);
    kv_long(b, "double_closes", r->dclose_total, true);
    kv_long(b, "events_lost", r->dclose_lost, true);
    key(b, "double_close_sites");
    sl_buf_putc(b, '[');
    for (size_t k = 0; k < r->ndclose; k++) {
        if (k)
            sl_buf_putc(b, ',');
        sl_buf_putc(b, '{');
        kv_str(b, "stack", r->stacks[r->dclose[k].stack].id, true);
        kv_long(b, "count", r->dclose[k].count, true);
        kv_long(b, "fd", r->dclose[k].fd, false);
        sl_buf_putc(b, '}');
    }
    sl_buf_puts(b, "]},");

    key(b, "suppressions");
    sl_buf_putc(b, '[');
    bool firsts = true;
    for (size_t k = 0; r->suppressed_by && k < sl_suppress_count(); k++)
        if (r->suppressed_by[k]) {
            if (!firsts)
                sl_buf_putc(b, ',');
            sl_buf_putc(b, '{');
            kv_str(b, "rule", sl_suppress_text(k), true);
            kv_long(b, "count", r->suppressed_by[k], false);
            sl_buf_putc(b, '}');
            firsts = false;
        }
    sl_buf_puts(b, "],");

    key(b, "environment");
    sl_buf_putc(b, '{');
    kv_str(b, "hostname", r->env.hostname[0] ? r->env.hostname : NULL, true);
    kv_str(b, "kernel", r->env.kernel[0] ? r->env.kernel : NULL, true);
    kv_long(b, "nofile_soft", r->env.nofile_soft, true);
    kv_long(b, "nofile_hard", r->env.nofile_hard, true);
    kv_long(b, "open_fds", r->env.open_fds, true);
    kv_long(b, "threshold_fds", r->env.threshold_fds, true);
    key(b, "sysctls");
    sl_buf_putc(b, '{');
    for (int k = 0; k < r->env.nsysctl; k++)
        kv_str(b, r->env.sysctl[k].name, r->env.sysctl[k].value, k + 1 < r->env.nsysctl);
    sl_buf_puts(b, "}}}\n");
}
