/*
 * report.h - the report layer: a report's model, how it is collected, grouped,
 * written and delivered, and the summaries that outlive it. Uses core, fd and base.
 *
 *   model.c      names and rules every writer shares: reasons, leak kinds, the leak
 *                classification, "where" a stack was opened, times
 *   symbolize.c  instruction pointers to module, offset and function (ELF symbols)
 *   srcline.c    file:line through elfutils' libdw, when installed
 *   suppress.c   suppression rules: known long-lived sockets left out
 *   collect.c    the registry, checked against the kernel, into a model
 *   langframes.c language frames (Python, Java, JavaScript) as report frames: their
 *                names, which are the runtime's own, their fingerprint, splicing
 *   group.c      stacks symbolized once and fingerprinted, sockets bucketed by stack;
 *                growth, late closes and double closes
 *   text.c       the report for people;  json.c  the report for tools (JSON Lines)
 *   output.c     delivery to log_path, stdout or stderr (or a file beside them)
 *   metrics.c    the summary of each scan and report: sockleak_stats(), metrics_path
 *   syslog.c     one line per report to syslog
 *   write.c      a report from start to end: collect, format, output, summaries
 *
 * A report is built in three steps: collect (snapshot the registry, re-check every
 * entry against the kernel, drop what is no longer open, classify leaks), group
 * (symbolize each stack once, fingerprint it, bucket sockets by fingerprint; add the
 * stacks behind growth, late closes and double closes), and format. The writers read
 * only the model (options, program name, unwinder and suppression rules are copied
 * into it), so they can be unit-tested on a hand-made one.
 */
#ifndef SOCKLEAK_REPORT_H
#define SOCKLEAK_REPORT_H

#include "core/core.h"

/* ---- symbolize.c: report-time only (malloc, files) ---- */
struct sl_module;
struct sl_modmap {
    struct sl_module *mods;
    size_t n;
    struct owned *owned; /* strings made while symbolizing */
};
struct sl_inline {            /* a call inlined at a frame's address */
    const char *function;
    const char *file;
    int line;
};
struct sl_frame {
    uintptr_t ip;
    const char *function;     /* demangled when possible; NULL if unknown */
    uintptr_t function_offset;
    const char *module;       /* path; NULL if unknown */
    uintptr_t module_offset;  /* ip - load bias: the address addr2line wants */
    const char *build_id;     /* hex; NULL if the module has none */
    const char *file;         /* source file, when debug info says; NULL otherwise */
    int line;                 /* 0 if unknown */
    bool inlined;             /* a function inlined at ip, shown above the one it is in */
    const struct sl_inline *inl; /* while symbolizing: the calls inlined at ip, innermost first */
    int ninl;
    uint8_t lang;             /* enum sl_lang: a Python, Java or JavaScript frame (no ip, no module) */
    int column;               /* js: the column of line; 0 unknown */
};
/* Snapshot the loaded modules. Returns 0 or -ENOMEM. */
int sl_modmap_build(struct sl_modmap *m);
/* Describe ip; strings stay valid until sl_modmap_free. lookup_ip is ip - 1 for return
 * addresses (so a call at a function's end resolves to its caller, not the next one). */
void sl_symbolize(struct sl_modmap *m, uintptr_t ip, uintptr_t lookup_ip, struct sl_frame *out);
void sl_modmap_free(struct sl_modmap *m);
/* A C++ name demangled through the host's __cxa_demangle (malloc'd), or NULL: not a
 * mangled name, or no demangler in the process. */
char *sl_demangle(const char *name);
/* A path of one of glibc's own libraries (libc.so.6, ld-linux..., libpthread.so.0...):
 * their frames get no file:line. */
bool sl_module_is_glibc(const char *path);
/* Load (and keep) the symbol tables of the modules stacks first_id..last_id run in. */
void sl_symbolize_warm(uint32_t first_id, uint32_t last_id);
void sl_symbolize_after_fork_child(void);

/* ---- srcline.c: file:line through elfutils' libdw, dlopened; report-time only ---- */
/* Set frames[i]->file/line for address lookup[i] (ip - 1 for return addresses) where
 * debug information says (source_lines=1 and libdw present), and frames[i]->inl/ninl
 * to the calls inlined there (then file/line are those of the outermost call, in the
 * physical function). Strings are the cache's: they live as long as the set of loaded
 * modules does not change. */
void sl_srcline_fill(struct sl_frame **frames, const uintptr_t *lookup, size_t n);
void sl_srcline_after_fork_child(void);

/* ---- langframes.c: language frames in a report ---- */
/* Report time: ask the runtimes for what is named only now (Java methods). */
void sl_lang_resolve(void);
/* The language frames of st, innermost first, into out (room for st->nlang): the count. */
int sl_lang_frames(const struct sl_stack *st, struct sl_frame *out);
/* Is f the runtime's own code (Python's standard library, java.*, node:...), which the
 * headline and the fingerprint pass over when the program's own frames are there? */
bool sl_lang_is_runtime(const struct sl_frame *f);
/* The frame a headline names: the first language frame of the program's own code
 * (else the first language frame; else frame 0); NULL for an empty stack. */
const struct sl_frame *sl_lang_headline(const struct sl_frame *f, int n);
/* A stack's fingerprint from its language frames: each frame's language, function,
 * file name (its last component: the same code has the same id on every host) and line. */
void sl_lang_fingerprint(const struct sl_frame *f, int n, char out[24]);
/* native_frames=spliced: frames (nlang language frames, then the native ones, in a
 * buffer with room for n + nlang) become the native stack with each interpreter loop's
 * frame replaced by the Python frames it ran. pos: the language frames' flags. Returns
 * the new count. */
int sl_lang_splice(struct sl_frame *frames, int nlang, int n, const struct sl_lframe *lf);

/* ---- suppress.c: known long-lived sockets, left out of reports ---- */
/* Read the suppressions file (once; in the I/O child). */
void sl_suppress_load(void);
/* Parse rules from text (tests; sl_suppress_load uses it). Returns the number of bad lines. */
int sl_suppress_parse(const char *text, void (*warn)(const char *msg));
void sl_suppress_reset(void);
size_t sl_suppress_count(void);
const char *sl_suppress_text(size_t i); /* the rule as written */
/* Index of the first rule matching a stack (function/module/stack rules) or addresses
 * (peer/local rules), or -1. */
int sl_suppress_stack(const struct sl_frame *frames, int n, const char *stack_id);
int sl_suppress_addr(const char *local, const char *peer);

/* Why a socket counts as leaked, most telling first. UNCLOSED, past the kinds a live
 * socket can have: closed by a runtime's finalizer (Python's garbage collector), never
 * by the program; only closed_late has it. */
enum sl_leak { SL_LEAK_NONE = 0, SL_LEAK_CLOSE_WAIT, SL_LEAK_PEER_CLOSED, SL_LEAK_IDLE, SL_LEAK_MAX_AGE, SL_LEAKS,
               SL_LEAK_UNCLOSED = SL_LEAKS };
_Static_assert(SL_LEAK_UNCLOSED == SL_LATE_UNCLOSED, "the core's and the report's name for it");
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
    uint32_t eof;            /* index into report->stacks of the read that returned end-of-file, or
                                SL_NO_STR (no read did) */
    int64_t unread;          /* bytes received and never read (connected stream sockets), -1 = n/a */
};

struct sl_rstack {
    char id[24];             /* fingerprint, hex; "none" for sockets without a stack */
    int nframes;
    struct sl_frame *frames;
    int nlang;               /* language frames among them (first, unless native_frames=spliced) */
    int suppressed_by;       /* rule index suppressing its sockets, -1 none, -2 not checked */
};

/* Should a writer show frame f of a stack with language frames (native_frames=none)? */
static inline bool sl_frame_shown(const struct sl_options *opt, const struct sl_rstack *st, const struct sl_frame *f)
{
    return f->lang || !st->nlang || opt->native_frames != SL_NATIVE_NONE;
}

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
    long eof_never;          /* half-closed (CLOSE_WAIT, peer closed) sockets no read saw the end of */
    int64_t unread_bytes;    /* bytes never read on its half-closed sockets */
    uint32_t first_eof, neofs; /* where its sockets read end-of-file: report->eofs[first_eof..] */
};

struct sl_reof {             /* sockets of one group that read end-of-file in one place */
    uint32_t group;          /* index into report->groups */
    uint32_t stack;          /* index into report->stacks: the read's stack */
    long count, leaked;
    int64_t newest_ns, oldest_ns; /* time since their end-of-file: shortest, longest */
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
    bool scoped;             /* only the sockets made since checkpoint and still open, neither
                                listening nor ignored (sockleak_report_since) */
    uint64_t checkpoint;
    /* what the writers need to know of the process, copied in by sl_report_begin */
    struct sl_options opt;
    char program[256];
    const char *unwinder;
    const char *const *rules; /* suppression rules as written, nrules of them */
    size_t nrules;
    pid_t pid, ppid;
    int64_t mono_ns;         /* when collected */
    struct timespec wall;
    int64_t uptime_ns;
    struct sl_attached attached; /* when `sockleak attach` started the shim (at.tv_sec 0: preloaded) */
    int64_t since_previous_ns; /* time since the previous report, -1 for the first */
    struct sl_rsock *socks;
    size_t nsocks;
    struct sl_rstack *stacks;
    size_t nstacks;
    struct sl_rgroup *groups;
    size_t ngroups;
    struct sl_reof *eofs;    /* by group, most sockets first within one */
    size_t neofs;
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
    long unwind_fast, unwind_fallback, unwind_mismatch; /* stacks by the fast unwinder, by libunwind; differing */
    struct sl_trigger_info trigger;
    struct sl_renv env;
    struct sl_buf strings;   /* addresses, NUL-separated */
    struct sl_modmap mods;   /* frame strings point into it (file names: srcline's cache) */
    bool truncated;          /* memory ran out while collecting */
};

const char *sl_reason_name(int reason);

static inline const char *sl_rstr(const struct sl_report *r, uint32_t off)
{
    return off == SL_NO_STR ? NULL : r->strings.data + off;
}

/* Why is this socket a leak, if it is (enum sl_leak)? Reads close_wait_ns,
 * peer_closed_ns, idle_ns, age_ns, listening and rec.ignored: a socket marked with
 * sockleak_ignore() is never a leak. Shared with metrics.c, so scans and reports agree. */
int sl_report_classify(const struct sl_rsock *s);
/* Start an empty model: the time, the process, the options and rules in force. */
void sl_report_begin(struct sl_report *r, int reason);
/* Collect a report now. Returns 0 or -ENOMEM (then r is still valid, truncated). */
int sl_report_collect(struct sl_report *r, int reason);
/* The same, scoped to the sockets sockleak_open_since(cp) counts; what full reports keep
 * between them (growth, late and double closes) is left for the next one. */
int sl_report_collect_since(struct sl_report *r, int reason, uint64_t cp);
/* Read the TCP knobs now, if no report has (they are read once per process). */
void sl_report_env_warm(void);
/* Group an already filled socket list: fingerprint stacks and bucket the sockets.
 * Split out of collect so tests can feed a model by hand. */
int sl_report_group(struct sl_report *r);
void sl_group_after_fork_child(void); /* the parent's "previous report" is not the child's */
void sl_report_free(struct sl_report *r);

void sl_report_format_text(const struct sl_report *r, struct sl_buf *out);
void sl_report_format_json(const struct sl_report *r, struct sl_buf *out);
/* "2026-11-21T11:36:00.123Z" */
void sl_format_rfc3339(const struct timespec *ts, char *out, size_t len);
/* Where a report went: the place written ("stderr", "stdout" or a path; "" if
 * nowhere), and when that is not where log_path said, the place it said and why not. */
struct sl_delivery {
    char where[1100];
    char intended[1100];  /* "" when the report went where log_path said */
    int err;              /* why the intended place refused it (-errno) */
};
/* Deliver a formatted report to log_path; if that cannot take it, to stderr, then to
 * $TMPDIR/sockleak.PID.log (never to a stderr that is not the program's any more). d
 * (may be NULL) says where it went. Returns 0 or -errno. */
int sl_report_output(const char *data, size_t len, struct sl_delivery *d);
extern _Atomic long sl_reports_written;
/* "fetch_user (leaky_client+0x1537)": the first named frame of a stack. */
void sl_report_where(struct sl_buf *b, const struct sl_rstack *st);

/* ---- write.c ---- */
/* Collect, format and write a report now (serialized). Returns 0 or -errno. */
int sl_report_write(int reason);
/* The same, saying where it went (d) and handing the formatted report over (copy, may
 * be NULL: the caller frees it with sl_buf_free). */
int sl_report_deliver(int reason, struct sl_delivery *d, struct sl_buf *copy);
/* A report of the sockets made since checkpoint cp and still open (sockleak_report_since):
 * with buf, as text there, cut to size - 1 bytes and NUL-terminated, returning its whole
 * length; with buf NULL, delivered as sl_report_write(SL_REASON_API) would, returning 0.
 * Or -errno. Scans' and reports' summaries (metrics, syslog) are left alone. */
long sl_report_since(uint64_t cp, char *buf, size_t size);
/* Has any socket ever been seen (exit reports are skipped for socket-free processes)? */
bool sl_report_worthwhile(void);
/* Read now what a report needs: the TCP knobs, the symbol tables behind new stacks.
 * The worker calls it after each scan. */
void sl_report_warm(void);

/* ---- syslog.c: one line per report to a syslog socket (option syslog) ---- */
/* With option syslog set: make the private datagram socket the summaries go through
 * (called when the background thread starts, so no scan can see it half-made). */
void sl_syslog_open(void);
/* Send r's summary line to syslog_path, if set. A failure is said once on stderr. */
void sl_syslog_report(const struct sl_report *r);
/* The datagram: "<PRI>Mmm dd hh:mm:ss sockleak[PID]: ...", one line, cut to len-1
 * bytes and NUL-terminated. Returns its length. */
size_t sl_syslog_format(const struct sl_report *r, const char *report_where, char *out, size_t len);

/* ---- metrics.c: the summary a scan or a report leaves behind: what sockleak_stats()
 * returns and what the Prometheus textfile (metrics_path) says ---- */
#define SL_M_FAMILIES 5                      /* inet, inet6, unix, netlink, other */
#define SL_M_STATE_NONE 0                    /* not a TCP socket */
#define SL_M_STATE_UNKNOWN SL_TCP_STATES     /* TCP, state not read by the last scan */
#define SL_M_STATES (SL_TCP_STATES + 1)

struct sl_metrics {
    int64_t at_ns;              /* CLOCK_MONOTONIC when taken; 0 = never */
    struct timespec wall;
    pid_t pid;
    const char *program;
    long live, listening, close_wait, leaked, ignored, stacks;
    long long unread;           /* bytes never read in leaked half-closed sockets */
    long leaks[SL_LEAKS];
    long by_family_state[SL_M_FAMILIES][SL_M_STATES];
    int64_t close_wait_oldest_ns; /* -1 = none in CLOSE_WAIT */
    long open_fds, fd_limit;
    long opened, closed, reports, untracked, unseen, double_closes; /* counters, at publish time */
    uint64_t *stack_seen;       /* while summing: stack ids counted (malloc'd; NULL = no memory) */
    uint32_t stack_seen_n;
};

/* Start a summary taken at now_ns (allocates a small bitmap; sl_metrics_publish frees it). */
void sl_metrics_begin(struct sl_metrics *m, int64_t now_ns);
/* Count one socket whose leak is already classified. */
void sl_metrics_add(struct sl_metrics *m, const struct sl_rsock *s);
/* Count one socket as a scan saw it: state is a TCP state, SL_STATE_PEER_CLOSED,
 * SL_STATE_OPEN or 0 (not read); since_ns is when it entered CLOSE_WAIT (or its peer
 * closed), idle_ns its TCP idle time or -1. Classified with sl_report_classify; returns
 * the leak kind (enum sl_leak). */
int sl_metrics_scan_sock(struct sl_metrics *m, const struct sl_rec_info *i, int state, int64_t since_ns,
                          int64_t idle_ns);
/* Finish m (counters, open_fds), make it the latest view, and write metrics_path if
 * set (a failure is said once on stderr). */
void sl_metrics_publish(struct sl_metrics *m, long open_fds);
/* A report's model as the latest view (report.c calls it for every report). */
void sl_metrics_report(const struct sl_report *r);
/* Copy the latest view; false if there is none yet (no scan, no report). */
bool sl_metrics_latest(struct sl_metrics *out);
/* The node_exporter textfile format (Prometheus text exposition 0.0.4). */
void sl_metrics_format(const struct sl_metrics *m, struct sl_buf *out);
/* Write the textfile atomically: path.tmp.<pid>, then rename. Returns 0 or -errno. */
int sl_metrics_write(const struct sl_metrics *m, const char *path);

#endif
