/*
 * report_json.c - the report for tools: one JSON object on one line (JSON Lines).
 *
 * Keys follow ../shared/CONTRACT.md; extra keys are additive. All strings pass through
 * sl_buf_json_str, so paths and names with odd bytes still give valid UTF-8 JSON.
 * Numbers are integers (milliseconds for durations); absent values are null.
 */
#define _GNU_SOURCE
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
    kv_str(b, "build_id", f->build_id, false);
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
    kv_str(b, "leak", sl_leak_name(s->leak), true);
    kv_str(b, "stack", r->stacks[r->groups[s->group].stack].id, true);
    kv_str(b, "origin_stack", s->orig_stack != SL_NO_STR ? r->stacks[s->orig_stack].id : NULL, true);
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
    kv_long(b, "stack_depth", sl_opt.stack_depth, false);
    sl_buf_puts(b, "},");

    key(b, "summary");
    sl_buf_putc(b, '{');
    kv_long(b, "live", r->live, true);
    kv_long(b, "close_wait", r->close_wait, true);
    kv_long(b, "leaked", r->leaked, true);
    kv_long(b, "listening", r->listening, true);
    kv_long(b, "stacks", (long long)r->nstacks, true);
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
        key(b, "max_close_wait_ms");
        if (gr->cw_max_ns >= 0)
            sl_buf_printf(b, "%lld,", (long long)(gr->cw_max_ns / SL_MS));
        else
            sl_buf_puts(b, "null,");
        kv_long(b, "oldest_ms", gr->oldest_ns / SL_MS, true);
        kv_str(b, "origin", sl_origin_name(gr->origin), true);
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
    sl_buf_puts(b, "]}\n");
}
