/*
 * json.c - the report for tools: one JSON object on one line (JSON Lines).
 *
 * Keys follow ../shared/CONTRACT.md; extra keys are additive. The object is written
 * section by section, each a function below, through the JSON writer (base/json.c),
 * which places the commas. Numbers are integers (milliseconds for durations); absent
 * values are null. Only the model is read.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "report.h"

static const char *stack_id(const struct sl_report *r, uint32_t idx)
{
    return idx != SL_NO_STR ? r->stacks[idx].id : NULL;
}

static void header(struct sl_json *j, const struct sl_report *r)
{
    char ts[40];
    sl_format_rfc3339(&r->wall, ts, sizeof(ts));
    sl_json_str(j, "tool", "sockleak");
    sl_json_str(j, "version", SL_VERSION);
    sl_json_int(j, "pid", r->pid);
    sl_json_int(j, "ppid", r->ppid);
    sl_json_str(j, "program", r->program);
    sl_json_str(j, "reason", sl_reason_name(r->reason));
    if (r->scoped) /* only the sockets made since this checkpoint and still open */
        sl_json_int(j, "checkpoint", (long long)r->checkpoint);
    sl_json_str(j, "timestamp", ts);
    sl_json_int(j, "uptime_ms", r->uptime_ns / SL_MS);
    sl_json_str(j, "unwinder", r->unwinder);
    if (!r->attached.at.tv_sec) {
        sl_json_null(j, "attached");
        return;
    }
    sl_format_rfc3339(&r->attached.at, ts, sizeof(ts));
    sl_json_obj(j, "attached");
    sl_json_str(j, "at", ts);
    sl_json_int(j, "pre_attach", r->attached.pre_attach);
    sl_json_end(j);
}

static void options(struct sl_json *j, const struct sl_report *r)
{
    sl_json_obj(j, "options");
    sl_json_int(j, "close_wait_after_ms", r->opt.close_wait_after / SL_MS);
    sl_json_int(j, "scan_interval_ms", r->opt.scan_interval / SL_MS);
    sl_json_int(j, "stack_depth", r->opt.stack_depth);
    sl_json_int(j, "max_age_ms", r->opt.max_age / SL_MS);
    sl_json_int(j, "idle_after_ms", r->opt.idle_after / SL_MS);
    sl_json_int(j, "fd_threshold", r->opt.fd_threshold);
    sl_json_int(j, "max_sockets", r->opt.max_sockets);
    sl_json_end(j);
    if (r->reason != SL_REASON_EMFILE && r->reason != SL_REASON_THRESHOLD)
        return;
    sl_json_obj(j, "trigger");
    sl_json_int(j, "open_fds", r->env.open_fds);
    sl_json_int(j, "nofile_soft", r->trigger.nofile_soft);
    sl_json_int(j, "threshold_fds", r->trigger.threshold_fds);
    sl_json_int(j, "max_sockets", r->opt.max_sockets);
    sl_json_str(j, "errno",
                r->reason != SL_REASON_EMFILE ? NULL : r->trigger.last_errno == ENFILE ? "ENFILE" : "EMFILE");
    sl_json_end(j);
}

static void summary(struct sl_json *j, const struct sl_report *r)
{
    sl_json_obj(j, "summary");
    sl_json_int(j, "live", r->live);
    sl_json_int(j, "close_wait", r->close_wait);
    sl_json_int(j, "leaked", r->leaked);
    sl_json_int(j, "leaked_closed", r->late_total);
    sl_json_int(j, "listening", r->listening);
    sl_json_int(j, "peer_closed", r->peer_closed);
    sl_json_int(j, "ignored", r->ignored);
    sl_json_int(j, "suppressed", r->suppressed);
    sl_json_obj(j, "leaks");
    for (int k = 1; k < SL_LEAKS; k++)
        sl_json_int(j, sl_leak_name(k), r->leaks[k]);
    sl_json_end(j);
    sl_json_int(j, "stacks", (long long)r->ngroups);
    sl_json_int(j, "opened", r->stats.opened);
    sl_json_int(j, "closed", r->stats.closed);
    sl_json_end(j);

    sl_json_obj(j, "coverage");
    sl_json_int(j, "untracked", r->untracked);
    sl_json_int(j, "untracked_nomem", r->nomem);
    sl_json_int(j, "closed_behind_back", r->stats.stale);
    sl_json_int(j, "stacks_dropped", r->stack_overflow);
    sl_json_int(j, "stacks_fast", r->unwind_fast);
    sl_json_int(j, "stacks_libunwind", r->unwind_fallback);
    sl_json_int(j, "unwinder_mismatches", r->unwind_mismatch);
    sl_json_bool(j, "truncated", r->truncated);
    sl_json_end(j);
}

static void socket_obj(struct sl_json *j, const struct sl_report *r, const struct sl_rsock *s)
{
    const struct sl_rec_info *i = &s->rec;
    sl_json_obj(j, NULL);
    sl_json_int(j, "fd", i->fd);
    sl_json_str(j, "family", sl_family_name(i->family));
    sl_json_str(j, "type", sl_type_name(i->type));
    sl_json_str(j, "protocol", sl_proto_name(i->family, i->type, i->proto));
    sl_json_str(j, "state", sl_tcp_state_name(s->state));
    sl_json_str(j, "local", sl_rstr(r, s->local));
    sl_json_str(j, "peer", sl_rstr(r, s->peer));
    sl_json_str(j, "origin", sl_origin_name(i->origin));
    sl_json_int(j, "age_ms", s->age_ns / SL_MS);
    sl_json_ms(j, "close_wait_ms", s->close_wait_ns);
    sl_json_ms(j, "peer_closed_ms", s->peer_closed_ns);
    sl_json_ms(j, "idle_ms", s->idle_ns);
    sl_json_bool(j, "listening", s->listening);
    sl_json_str(j, "leak", sl_leak_name(s->leak));
    sl_json_bool(j, "ignored", i->ignored);
    sl_json_str(j, "stack", r->stacks[r->groups[s->group].stack].id);
    sl_json_str(j, "origin_stack", stack_id(r, s->orig_stack));
    sl_json_str(j, "eof_stack", stack_id(r, s->eof));
    sl_json_ms(j, "eof_ms", s->eof == SL_NO_STR ? -1 : r->mono_ns > i->eof_ns ? r->mono_ns - i->eof_ns : 0);
    if (s->unread >= 0)
        sl_json_int(j, "unread_bytes", s->unread);
    else
        sl_json_null(j, "unread_bytes");
    sl_json_bool(j, "forked", i->forked);
    sl_json_int(j, "inode", (long long)i->ino);
    sl_json_int(j, "thread", i->tid);
    sl_json_end(j);
}

static void sockets(struct sl_json *j, const struct sl_report *r)
{
    sl_json_arr(j, "sockets");
    for (size_t k = 0; k < r->nsocks; k++)
        socket_obj(j, r, &r->socks[k]);
    sl_json_end(j);
}

static void frame(struct sl_json *j, const struct sl_frame *f)
{
    sl_json_obj(j, NULL);
    if (f->lang) /* a language frame: no address, no module */
        sl_json_null(j, "ip");
    else
        sl_json_hex(j, "ip", f->ip);
    sl_json_str(j, "function", f->function);
    if (f->function && !f->lang)
        sl_json_hex(j, "function_offset", f->function_offset);
    else
        sl_json_null(j, "function_offset");
    sl_json_str(j, "module", f->module);
    if (f->lang)
        sl_json_null(j, "module_offset");
    else
        sl_json_hex(j, "module_offset", f->module_offset);
    sl_json_str(j, "build_id", f->build_id);
    sl_json_str(j, "file", f->file);
    if (f->line > 0)
        sl_json_int(j, "line", f->line);
    else
        sl_json_null(j, "line");
    if (f->column > 0)
        sl_json_int(j, "column", f->column);
    sl_json_bool(j, "inlined", f->inlined);
    sl_json_str(j, "lang", sl_lang_name(f->lang));
    sl_json_end(j);
}

static void stacks(struct sl_json *j, const struct sl_report *r)
{
    sl_json_arr(j, "stacks");
    for (size_t k = 0; k < r->nstacks; k++) {
        const struct sl_rstack *st = &r->stacks[k];
        sl_json_obj(j, NULL);
        sl_json_str(j, "id", st->id);
        sl_json_arr(j, "frames");
        for (int f = 0; f < st->nframes; f++)
            if (sl_frame_shown(&r->opt, st, &st->frames[f]))
                frame(j, &st->frames[f]);
        sl_json_end(j);
        sl_json_end(j);
    }
    sl_json_end(j);
}

static void groups(struct sl_json *j, const struct sl_report *r)
{
    sl_json_arr(j, "groups");
    for (size_t k = 0; k < r->ngroups; k++) {
        const struct sl_rgroup *g = &r->groups[k];
        sl_json_obj(j, NULL);
        sl_json_str(j, "stack", r->stacks[g->stack].id);
        sl_json_int(j, "count", g->count);
        sl_json_int(j, "leaked", g->leaked);
        sl_json_int(j, "close_wait", g->close_wait);
        sl_json_int(j, "peer_closed", g->peer_closed);
        sl_json_obj(j, "leaks");
        for (int l = 1; l < SL_LEAKS; l++)
            if (g->leaks[l])
                sl_json_int(j, sl_leak_name(l), g->leaks[l]);
        sl_json_end(j);
        sl_json_ms(j, "max_close_wait_ms", g->cw_max_ns);
        sl_json_int(j, "oldest_ms", g->oldest_ns / SL_MS);
        sl_json_str(j, "origin", sl_origin_name(g->origin));
        sl_json_int(j, "not_tcp", g->states[0]);
        sl_json_obj(j, "states");
        for (int s = 1; s < SL_TCP_STATES; s++)
            if (g->states[s])
                sl_json_int(j, sl_tcp_state_name(s), g->states[s]);
        sl_json_end(j);
        sl_json_end(j);
    }
    sl_json_end(j);
}

/* growth per stack since the previous report */
static void growth(struct sl_json *j, const struct sl_report *r)
{
    sl_json_obj(j, "growth");
    sl_json_ms(j, "since_ms", r->since_previous_ns);
    sl_json_arr(j, "stacks");
    for (size_t k = 0; k < r->ngrowth; k++) {
        const struct sl_rgrowth *g = &r->growth[k];
        sl_json_obj(j, NULL);
        sl_json_str(j, "stack", r->stacks[g->stack].id);
        sl_json_int(j, "added", g->added);
        sl_json_int(j, "removed", g->removed);
        sl_json_int(j, "net", g->added - g->removed);
        sl_json_int(j, "added_total", g->added_total);
        sl_json_int(j, "removed_total", g->removed_total);
        sl_json_end(j);
    }
    sl_json_end(j);
    sl_json_end(j);
}

/* sockets flagged as leaked by an earlier report, closed since */
static void closed_late(struct sl_json *j, const struct sl_report *r)
{
    sl_json_obj(j, "closed_late");
    sl_json_int(j, "total", r->late_total);
    sl_json_int(j, "lost", r->late_lost);
    sl_json_arr(j, "sockets");
    for (size_t k = 0; k < r->nlate; k++) {
        const struct sl_rlate *l = &r->late[k];
        sl_json_obj(j, NULL);
        sl_json_int(j, "fd", l->ev.fd);
        sl_json_str(j, "stack", r->stacks[l->stack].id);
        sl_json_str(j, "leak", sl_leak_name(l->ev.leak));
        sl_json_int(j, "lifetime_ms", l->ev.lifetime_ns / SL_MS);
        sl_json_int(j, "closed_after_report_ms", l->ev.after_report_ns / SL_MS);
        sl_json_end(j);
    }
    sl_json_end(j);
    sl_json_end(j);
}

/* what the shim saw only indirectly */
static void unseen(struct sl_json *j, const struct sl_report *r)
{
    sl_json_obj(j, "unseen");
    sl_json_int(j, "found_open", r->unseen_found);
    sl_json_int(j, "open_now", r->unseen_live);
    sl_json_int(j, "closed", r->unseen_closed);
    sl_json_int(j, "scm_rights", r->scm_rights);
    sl_json_int(j, "double_closes", r->dclose_total);
    sl_json_int(j, "events_lost", r->dclose_lost);
    sl_json_arr(j, "double_close_sites");
    for (size_t k = 0; k < r->ndclose; k++) {
        sl_json_obj(j, NULL);
        sl_json_str(j, "stack", r->stacks[r->dclose[k].stack].id);
        sl_json_int(j, "count", r->dclose[k].count);
        sl_json_int(j, "fd", r->dclose[k].fd);
        sl_json_end(j);
    }
    sl_json_end(j);
    sl_json_end(j);
}

static void suppressions(struct sl_json *j, const struct sl_report *r)
{
    sl_json_arr(j, "suppressions");
    for (size_t k = 0; r->suppressed_by && k < r->nrules; k++)
        if (r->suppressed_by[k]) {
            sl_json_obj(j, NULL);
            sl_json_str(j, "rule", r->rules[k]);
            sl_json_int(j, "count", r->suppressed_by[k]);
            sl_json_end(j);
        }
    sl_json_end(j);
}

static void environment(struct sl_json *j, const struct sl_report *r)
{
    sl_json_obj(j, "environment");
    sl_json_str(j, "hostname", r->env.hostname[0] ? r->env.hostname : NULL);
    sl_json_str(j, "kernel", r->env.kernel[0] ? r->env.kernel : NULL);
    sl_json_int(j, "nofile_soft", r->env.nofile_soft);
    sl_json_int(j, "nofile_hard", r->env.nofile_hard);
    sl_json_int(j, "open_fds", r->env.open_fds);
    sl_json_int(j, "threshold_fds", r->env.threshold_fds);
    sl_json_obj(j, "sysctls");
    for (int k = 0; k < r->env.nsysctl; k++)
        sl_json_str(j, r->env.sysctl[k].name, r->env.sysctl[k].value);
    sl_json_end(j);
    sl_json_end(j);
}

void sl_report_format_json(const struct sl_report *r, struct sl_buf *b)
{
    struct sl_json j;
    sl_json_init(&j, b);
    sl_json_obj(&j, NULL);
    header(&j, r);
    options(&j, r);
    summary(&j, r);
    sockets(&j, r);
    stacks(&j, r);
    groups(&j, r);
    growth(&j, r);
    closed_late(&j, r);
    unseen(&j, r);
    suppressions(&j, r);
    environment(&j, r);
    sl_json_end(&j);
    sl_buf_putc(b, '\n');
}
