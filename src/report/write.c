/*
 * write.c - a report from start to end: collected and grouped (collect.c, group.c),
 * formatted (text.c or json.c), delivered (output.c), then left behind as the latest
 * metrics (metrics.c) and, with option syslog, one line to syslog (syslog.c).
 *
 * A report scoped to a checkpoint (sockleak_report_since) is built the same way, and
 * goes into the caller's buffer as text or where the others go; it leaves the
 * summaries alone (metrics, syslog, the growth and events the next full report shows).
 *
 * Reports are serialized by the work lock (core/requests.c) and built whole in memory.
 * A report the memory runs out for is never written half (a torn JSON line): its
 * totals are, in a line built on the stack.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "report.h"

bool sl_report_worthwhile(void)
{
    struct sl_fd_stats st;
    sl_fd_stats(&st);
    return st.opened > 0 || st.live > 0 || atomic_load(&sl_count.untracked) > 0;
}

/* The report's headline, for when memory ran out while formatting it: built on the
 * stack, complete (a whole JSON object with the contract's keys, or one text line),
 * marked truncated. Returns its length. */
static size_t format_minimal(const struct sl_report *r, char *out, size_t len)
{
    int n;
    if (sl_opt.format == SL_FMT_JSON) {
        char ts[40];
        sl_format_rfc3339(&r->wall, ts, sizeof(ts));
        n = snprintf(out, len,
                     "{\"tool\":\"sockleak\",\"version\":\"%s\",\"pid\":%d,\"ppid\":%d,\"reason\":\"%s\","
                     "\"timestamp\":\"%s\",\"summary\":{\"live\":%ld,\"close_wait\":%ld,\"leaked\":%ld,\"leaked_closed\":%ld,"
                     "\"listening\":%ld,\"opened\":%ld,\"closed\":%ld},\"coverage\":{\"untracked\":%ld,"
                     "\"untracked_nomem\":%ld,\"closed_behind_back\":%ld,\"truncated\":true},"
                     "\"sockets\":[],\"stacks\":[],\"groups\":[]}\n",
                     SL_VERSION, (int)r->pid, (int)r->ppid, sl_reason_name(r->reason), ts, (long)r->live,
                     (long)r->close_wait, (long)r->leaked, r->late_total, (long)r->listening, r->stats.opened, r->stats.closed,
                     r->untracked, r->nomem, r->stats.stale);
    } else {
        n = snprintf(out, len,
                     "==%d==sockleak: out of memory while writing the %s report; only its totals: %ld live, "
                     "%ld in CLOSE_WAIT, %ld leaked, %ld listening\n",
                     (int)r->pid, sl_reason_name(r->reason), (long)r->live, (long)r->close_wait, (long)r->leaked,
                     (long)r->listening);
    }
    return n < 0 ? 0 : (size_t)n < len ? (size_t)n : len - 1;
}

static void format(const struct sl_report *r, int fmt, struct sl_buf *out)
{
    if (fmt == SL_FMT_JSON)
        sl_report_format_json(r, out);
    else
        sl_report_format_text(r, out);
}

/* The end of a report made under the work lock: its memory freed, the lock and the
 * guard left, the caller's errno (saved) back. */
static void report_done(struct sl_report *r, struct sl_buf *out, int saved)
{
    sl_buf_free(out);
    sl_report_free(r);
    sl_work_unlock();
    sl_guard_leave();
    errno = saved;
}

int sl_report_write(int reason)
{
    return sl_report_deliver(reason, NULL, NULL);
}

int sl_report_deliver(int reason, struct sl_delivery *d, struct sl_buf *copy)
{
    int saved = errno;
    sl_guard_enter();
    sl_work_lock();
    struct sl_report r;
    sl_report_collect(&r, reason);
    struct sl_buf out;
    sl_buf_init(&out);
    format(&r, sl_opt.format, &out);
    int ret;
    if (out.failed || !out.data) {
        /* never write half a report (a torn JSON line): its totals instead */
        char small[1024];
        r.truncated = true;
        size_t n = format_minimal(&r, small, sizeof(small));
        ret = sl_report_output(small, n, d);
        sl_buf_free(&out);
        sl_buf_put(&out, small, n);
    } else {
        ret = sl_report_output(out.data, out.len, d);
    }
    sl_metrics_report(&r);
    sl_syslog_report(&r);
    if (copy) {
        *copy = out; /* handed over */
        sl_buf_init(&out);
    }
    report_done(&r, &out, saved);
    return ret;
}

long sl_report_since(uint64_t cp, char *buf, size_t size)
{
    int saved = errno;
    sl_guard_enter();
    sl_work_lock();
    struct sl_report r;
    sl_report_collect_since(&r, SL_REASON_API, cp);
    struct sl_buf out;
    sl_buf_init(&out);
    format(&r, buf ? SL_FMT_TEXT : sl_opt.format, &out);
    long ret = -ENOMEM; /* never half a report */
    if (!out.failed && out.data && !buf) {
        ret = sl_report_output(out.data, out.len, NULL);
    } else if (!out.failed && out.data) {
        if (size) {
            size_t n = out.len < size ? out.len : size - 1;
            memcpy(buf, out.data, n);
            buf[n] = '\0';
        }
        ret = (long)out.len;
    }
    report_done(&r, &out, saved);
    return ret;
}

/* ---- getting ready: load now what a report written when the process is out of fds
 * would otherwise have to read then (files are read in the I/O child, so that works anyway; but
 * earlier is cheaper, and the TCP knobs are read once) ---- */

static uint32_t warmed_stacks;

void sl_report_warm(void)
{
    sl_work_lock();
    sl_report_env_warm();
    uint32_t n = sl_stack_max_id();
    if (n > warmed_stacks) {
        sl_symbolize_warm(warmed_stacks + 1, n); /* symbol tables of the modules new stacks run in */
        warmed_stacks = n;
    }
    sl_work_unlock();
}

