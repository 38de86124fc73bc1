/*
 * report.h - the report model shared by the collector (report.c) and the two writers
 * (report_text.c, report_json.c).
 *
 * A report is built in three steps: collect (snapshot the registry, re-check every
 * entry against the kernel, drop what is no longer open, classify leaks), group
 * (symbolize each stack once, fingerprint it, bucket sockets by fingerprint; add the
 * stacks behind growth, late closes and double closes), and format. The writers only
 * read the model, so they can be unit-tested on a hand-made one.
 */
#ifndef SOCKLEAK_REPORT_H
#define SOCKLEAK_REPORT_H

#include "internal.h"

/* Why a socket counts as leaked, most telling first. */
enum sl_leak { SL_LEAK_NONE = 0, SL_LEAK_CLOSE_WAIT, SL_LEAK_PEER_CLOSED, SL_LEAK_IDLE, SL_LEAK_MAX_AGE, SL_LEAKS };
const char *sl_leak_name(int leak); /* NULL for none */

#define SL_NO_STR UINT32_MAX

struct sl_rsock {
    struct sl_rec_info rec;
    int state;               /* TCP state now (0 = not TCP / unknown) */
    bool listening;          /* TCP LISTEN, or a listening unix socket */
    uint32_t local, peer;    /* offsets into report->strings, or SL_NO_STR */
    int64_t age_ns;
    int64_t close_wait_ns;   /* time in CLOSE_WAIT, -1 = not in CLOSE_WAIT */
    int64_t peer_closed_ns;  /* unix: time since the peer closed, -1 = not closed */
    int64_t idle_ns;         /* TCP: time since data last went either way, -1 = n/a */
    int leak;                /* enum sl_leak */
    uint32_t group;          /* index into report->groups */
    uint32_t orig_stack;     /* dups: index into report->stacks of the original, or SL_NO_STR */
};

struct sl_rstack {
    char id[24];             /* fingerprint, hex; "none" for sockets without a stack */
    int nframes;
    struct sl_frame *frames;
    int suppressed_by;       /* rule index suppressing its sockets, -1 none, -2 not checked */
};

#define SL_TCP_STATES 13
struct sl_rgroup {
    uint32_t stack;          /* index into report->stacks */
    long count, leaked;
    long leaks[SL_LEAKS];    /* leaked sockets by kind */
    long states[SL_TCP_STATES]; /* by TCP state; [0] = not TCP */
    int64_t oldest_ns;       /* largest age */
    int64_t cw_min_ns, cw_max_ns; /* CLOSE_WAIT (or peer closed) durations, -1 if none */
    long close_wait, peer_closed;
    long ignored;            /* marked with sockleak_ignore() */
    int origin;              /* origin of its first socket */
    uint32_t first;          /* index of its first socket (sockets are sorted by fd) */
};

struct sl_rgrowth {          /* sockets one stack opened and closed */
    uint32_t stack;          /* index into report->stacks */
    long added, removed;     /* since the previous report (the whole run for the first) */
    long added_total, removed_total;
};

struct sl_rlate {            /* a socket closed after a report had flagged it */
    struct sl_late ev;
    uint32_t stack;          /* index into report->stacks */
};

struct sl_rdclose {          /* double closes, by the stack of the second close */
    uint32_t stack;
    long count;
    int fd;                  /* one of them */
};

struct sl_renv {
    char hostname[256];
    char kernel[256];
    long nofile_soft, nofile_hard, open_fds, threshold_fds;
    int nsysctl;
    struct {
        const char *name;
        char value[64];
    } sysctl[12];
};

struct sl_report {
    int reason;
    pid_t pid, ppid;
    int64_t mono_ns;         /* when collected */
    struct timespec wall;
    int64_t uptime_ns;
    int64_t since_previous_ns; /* time since the previous report, -1 for the first */
    struct sl_rsock *socks;
    size_t nsocks;
    struct sl_rstack *stacks;
    size_t nstacks;
    struct sl_rgroup *groups;
    size_t ngroups;
    struct sl_rgrowth *growth;
    size_t ngrowth;
    struct sl_rlate *late;
    size_t nlate;
    long late_total, late_lost;
    struct sl_rdclose *dclose;
    size_t ndclose;
    long dclose_total, dclose_lost;
    long live, close_wait, peer_closed, leaked, listening, ignored;
    long leaks[SL_LEAKS];
    long unseen_live, unseen_found, unseen_closed, scm_rights;
    long suppressed;         /* sockets left out by suppression rules */
    long *suppressed_by;     /* per rule (sl_suppress_count() of them) */
    struct sl_fd_stats stats;
    long untracked, nomem, reentrant, stack_overflow, dropped_now;
    struct sl_trigger_info trigger;
    struct sl_renv env;
    struct sl_buf strings;   /* addresses, NUL-separated */
    struct sl_modmap mods;   /* frame strings point into it (file names: srcline's cache) */
    bool truncated;          /* memory ran out while collecting */
};

static inline const char *sl_rstr(const struct sl_report *r, uint32_t off)
{
    return off == SL_NO_STR ? NULL : r->strings.data + off;
}

/* Why is this socket a leak, if it is (enum sl_leak)? Reads close_wait_ns,
 * peer_closed_ns, idle_ns, age_ns, listening and rec.ignored: a socket marked with
 * sockleak_ignore() is never a leak. Shared with metrics.c, so scans and reports agree. */
int sl_report_classify(const struct sl_rsock *s);
/* Collect a report now. Returns 0 or -ENOMEM (then r is still valid, truncated). */
int sl_report_collect(struct sl_report *r, int reason);
/* Group an already filled socket list: fingerprint stacks and bucket the sockets.
 * Split out of collect so tests can feed a model by hand. */
int sl_report_group(struct sl_report *r);
void sl_report_free(struct sl_report *r);

void sl_report_format_text(const struct sl_report *r, struct sl_buf *out);
void sl_report_format_json(const struct sl_report *r, struct sl_buf *out);
/* "2026-11-21T11:36:00.123Z" */
void sl_format_rfc3339(const struct timespec *ts, char *out, size_t len);
/* Deliver a formatted report to log_path (fallback: stderr). Returns 0 or -errno. */
int sl_report_output(const char *data, size_t len);
extern _Atomic long sl_reports_written;
/* "fetch_user (leaky_client+0x1537)": the first named frame of a stack (report_text.c). */
void sl_report_where(struct sl_buf *b, const struct sl_rstack *st);

/* ---- syslog.c: one line per report to a syslog socket (option syslog) ---- */
/* Send r's summary line to syslog_path, if set. A failure is said once on stderr. */
void sl_syslog_report(const struct sl_report *r);
/* The datagram: "<PRI>Mmm dd hh:mm:ss sockleak[PID]: ...", one line, cut to len-1
 * bytes and NUL-terminated. Returns its length. */
size_t sl_syslog_format(const struct sl_report *r, const char *report_where, char *out, size_t len);

#endif
