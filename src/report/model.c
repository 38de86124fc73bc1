/*
 * model.c - what every writer of a report shares: the names of reasons and leak
 * kinds, the rule that says which sockets are leaked, where a stack was opened in one
 * phrase, report times, and freeing a model.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>

#include "report.h"

const char *sl_reason_name(int reason)
{
    static const char *names[] = { "exit", "signal", "emfile", "threshold", "api", "interval", "dump" };
    return reason >= 0 && (size_t)reason < SL_ARRAY_LEN(names) ? names[reason] : "api";
}

const char *sl_leak_name(int leak)
{
    static const char *names[] = { NULL, "close_wait", "peer_closed", "idle", "max_age", "unclosed" };
    return leak > 0 && leak <= SL_LEAK_UNCLOSED ? names[leak] : NULL;
}

int sl_report_classify(const struct sl_rsock *s)
{
    if (s->rec.ignored)
        return SL_LEAK_NONE;
    if (s->close_wait_ns >= sl_opt.close_wait_after)
        return SL_LEAK_CLOSE_WAIT;
    if (s->peer_closed_ns >= sl_opt.close_wait_after)
        return SL_LEAK_PEER_CLOSED;
    if (s->listening)
        return SL_LEAK_NONE;
    if (sl_opt.idle_after > 0 && s->idle_ns >= sl_opt.idle_after)
        return SL_LEAK_IDLE;
    if (sl_opt.max_age > 0 && s->age_ns >= sl_opt.max_age)
        return SL_LEAK_MAX_AGE;
    return SL_LEAK_NONE;
}

/* "fetch_user (leaky_client+0x12c4)" for the headline: frame #0, or in a stack with
 * language frames the first of the program's own ("fetch_item (client.py:11)"). */
void sl_report_where(struct sl_buf *b, const struct sl_rstack *st)
{
    if (st->nframes > 0) {
        /* frame #0, the code that made the call, as it is: module+offset when it has no
         * name (a stripped program), never a later frame that happens to have one */
        const struct sl_frame *f = st->nlang ? sl_lang_headline(st->frames, st->nframes) : &st->frames[0];
        const char *mod = f->module ? strrchr(f->module, '/') : NULL;
        mod = mod ? mod + 1 : (f->module ? f->module : "?");
        const char *file = f->file ? strrchr(f->file, '/') : NULL;
        file = file ? file + 1 : f->file;
        if (f->function && file)
            sl_buf_printf(b, "%s (%s:%d)", f->function, file, f->line);
        else if (f->function && f->lang)
            sl_buf_printf(b, "%s (%s)", f->function, sl_lang_name(f->lang));
        else if (f->function)
            sl_buf_printf(b, "%s (%s+0x%" PRIxPTR ")", f->function, mod, f->module_offset);
        else
            sl_buf_printf(b, "%s+0x%" PRIxPTR, mod, f->module_offset);
        return;
    }
    sl_buf_puts(b, "an unknown place (no stack recorded)");
}

/* ---- time ---- */

void sl_format_rfc3339(const struct timespec *ts, char *out, size_t len)
{
    /* civil date from days since 1970-01-01 (Howard Hinnant's algorithm) */
    int64_t secs = ts->tv_sec, days = secs / 86400, rem = secs % 86400;
    if (rem < 0)
        rem += 86400, days--;
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    int64_t doe = days - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153, d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
    if (m <= 2)
        y++;
    snprintf(out, len, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%03ldZ", (long long)y, (long long)m,
             (long long)d, (long long)(rem / 3600), (long long)(rem / 60 % 60), (long long)(rem % 60),
             ts->tv_nsec / 1000000);
}

void sl_report_free(struct sl_report *r)
{
    for (size_t j = 0; j < r->nstacks; j++)
        free(r->stacks[j].frames);
    sl_big_free(r->stacks);
    sl_big_free(r->groups);
    sl_big_free(r->eofs);
    sl_big_free(r->socks);
    free(r->growth);
    free(r->late);
    free(r->dclose);
    free(r->suppressed_by);
    sl_buf_free(&r->strings);
    sl_modmap_free(&r->mods);
    memset(r, 0, sizeof(*r));
}

