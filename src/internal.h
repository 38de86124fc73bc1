/*
 * internal.h - what sockleak's modules share, and nothing outside the shim sees.
 *
 * sockleak is one shared object preloaded into a host program. One file per concern:
 *   real.c        resolves the libc functions the wrappers forward to (real_socket, ...)
 *   wrappers.c    the interposed socket calls; thin: call real, tell the registry
 *   fdtable.c     the registry of live socket fds (lock-striped uthash) and its verbs
 *   stacks.c      allocation stacks: libunwind capture, deduplicated stack table
 *   privfd.c      the shim's own file descriptors, kept out of the host's way
 *   probe.c       the OS seam: fstat, TCP_INFO, addresses, /proc/self/fd
 *   scanner.c     the background thread: CLOSE_WAIT scans and dump requests
 *   report.c      snapshots the registry into a report model and writes it out
 *   report_text.c, report_json.c   the two formats
 *   metrics.c     the summary of each scan and report: sockleak_stats(), metrics_path
 *   syslog.c      one line per report to syslog (option syslog)
 *   api.c         the public API (include/sockleak.h)
 *   symbolize.c   instruction pointer -> module, offset, function (ELF symbol tables)
 *   options.c     SOCKLEAK_OPTIONS
 *   signals.c     the dump signal, chained with the host's own handler
 *   procs.c       fork, vfork and clone children
 *   init.c        start-up and exit
 *   buf.c, log.c  growable buffers; the shim's own one-line messages
 *
 * Conventions: sl_ prefixes functions shared between files, real_<name> the resolved
 * libc functions; static helpers carry no prefix. Internal functions return 0 (or a
 * count) on success and -errno on failure and never touch the global errno: only the
 * wrappers do, and they hand the host back exactly what libc returned.
 */
#ifndef SOCKLEAK_INTERNAL_H
#define SOCKLEAK_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#define SL_EXPORT __attribute__((visibility("default")))
#define SL_LIKELY(x) __builtin_expect(!!(x), 1)
#define SL_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define SL_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#ifndef SL_VERSION /* the VERSION file, passed by the Makefile to the shim's objects */
#define SL_VERSION "unknown"
#endif

/* ---- per-thread guard (initial-exec TLS: no allocation, safe in any context) ----
 * Non-zero means "this thread is inside the shim, or is a vfork child running on its
 * parent's stack": wrappers then forward to libc and record nothing. The low bits
 * count nesting; SL_GUARD_VFORK is set by the vfork wrapper (procs_x86_64.S). */
#define SL_GUARD_VFORK 0x40000000
extern __thread int sl_tls_guard __attribute__((tls_model("initial-exec")));
extern __thread pid_t sl_tls_tid __attribute__((tls_model("initial-exec")));

static inline void sl_guard_enter(void) { sl_tls_guard++; __atomic_signal_fence(__ATOMIC_SEQ_CST); }
static inline void sl_guard_leave(void) { __atomic_signal_fence(__ATOMIC_SEQ_CST); sl_tls_guard--; }

/* ---- time ---- */
static inline int64_t sl_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
/* The same clock at its last tick (a few ms behind, never ahead): what a record's
 * creation time needs, at a fraction of the cost on the create path. */
static inline int64_t sl_now_coarse_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
#define SL_MS (1000000LL)
#define SL_SEC (1000000000LL)

/* ---- options (options.c): every setting is one row of the table there ---- */
enum sl_format { SL_FMT_TEXT = 0, SL_FMT_JSON = 1 };

struct sl_options {
    char log_path[1024];       /* "stderr", "stdout" or a path; %p = pid */
    int format;                /* enum sl_format */
    int report_at_exit;        /* bool */
    int dump_signal;           /* 0 = none */
    int64_t close_wait_after;  /* ns */
    int64_t scan_interval;     /* ns; 0 = no background scan */
    int stack_depth;           /* frames kept per stack */
    int verbose;               /* 0, 1, 2 */
    long max_tracked;          /* records the registry may hold; 0 = unlimited */
    int fd_threshold;          /* % of RLIMIT_NOFILE open fds that triggers a report; 0 = off */
    long max_sockets;          /* live sockets that trigger a report; 0 = off */
    int64_t report_interval;   /* ns between periodic reports; 0 = off */
    int64_t max_age;           /* ns: older sockets count as leaked; 0 = off */
    int64_t idle_after;        /* ns: TCP sockets idle this long count as leaked; 0 = off */
    int scan_method;           /* enum sl_scan_method */
    char metrics_path[1024];   /* Prometheus textfile written every scan and report; "" = off; %p = pid */
    char syslog_path[108];     /* datagram socket for one line per report ("/dev/log"); "" = off */
    int source_lines;          /* bool: file:line in frames, through libdw when present */
    int own_fd_table;          /* bool: the shim's thread unshares the fd table (hostfd.c) */
    char suppressions[1024];   /* suppression file; "" = none */
};
enum sl_scan_method { SL_SCAN_AUTO = 0, SL_SCAN_TCP_INFO, SL_SCAN_SOCK_DIAG };
extern struct sl_options sl_opt;

/* Parse a SOCKLEAK_OPTIONS string into opts (defaults first). Each problem is
 * reported through warn(msg) as one line; the offending key keeps its default.
 * Returns the number of problems (0 = clean). Never fails otherwise. */
int sl_options_parse(struct sl_options *opts, const char *text, void (*warn)(const char *msg));
void sl_options_defaults(struct sl_options *opts);
/* Parse a duration ("5s", "250ms", "2m", "1.5", bare = seconds) into ns; -EINVAL/-ERANGE. */
int sl_parse_duration(const char *s, int64_t *out_ns);
/* Parse a signal name or number; 0 for "0"/"none". -EINVAL on anything else. */
int sl_parse_signal(const char *s, int *out);
/* i-th option name, NULL past the end (documentation checks). */
const char *sl_option_name(size_t i);
/* Name of a signal ("SIGUSR2"); "SIG?" for unknown. Static storage. */
const char *sl_signal_name(int sig);

/* Expand %p (pid) and %% in a log_path-style template. */
void sl_expand_path(const char *tmpl, char *out, size_t len);

/* ---- log.c: the shim's own messages, one line each, never to a socket ---- */
void sl_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void sl_warn_line(const char *msg); /* "sockleak: <msg>\n" */
/* Is fd a safe place for text meant for a person? False for inet sockets, so the
 * shim never writes into a host's TCP connection (inetd-style stdio), and for sockets
 * the host made itself (it closed its stderr and the number was reused, or it put a
 * connection there): only a socket it was started with (journald's) is a stderr. */
bool sl_fd_safe_for_text(int fd);

/* A sanitizer runtime is in the process (the host's, or the shim's own ASan/TSan
 * build): its reports from a thread with an fd table of its own would go to a stderr
 * that thread does not have. ThreadSanitizer also cannot follow a CLONE_VM child. */
bool sl_sanitized(void);
bool sl_tsan(void);

/* ---- hostfd.c: the host's fds from the shim's thread, which has a table of its own ----
 * sl_hostfd_get(fd) returns a number this thread can use for the host's fd (fd itself,
 * except in the shim's thread: a copy), or -errno; sl_hostfd_put releases it. Every
 * probe of a host fd by number goes through them. */
int sl_hostfd_leave_table(void);  /* the shim's thread, at start: 0 if it has its own now */
bool sl_hostfd_own_table(void);   /* this thread has a table of its own */
bool sl_hostfd_lost(void);        /* own table, and the host's is out of reach (main thread gone) */
int sl_hostfd_get(int fd);
void sl_hostfd_put(int local);

/* ---- buf.c: growable byte buffer (malloc; never used in a wrapper) ---- */
struct sl_buf {
    char *data;
    size_t len, cap;
    bool failed; /* an allocation failed: contents are truncated */
};
/* Arrays that grow with the number of sockets: zeroed; mmap'd from 64 KiB up, so their
 * memory goes back to the system when freed. Free only with sl_big_free. */
void *sl_big_alloc(size_t n);
void *sl_big_calloc(size_t n, size_t size);
void *sl_big_realloc(void *p, size_t n);
void sl_big_free(void *p);

void sl_buf_init(struct sl_buf *b);
void sl_buf_free(struct sl_buf *b);
void sl_buf_put(struct sl_buf *b, const void *p, size_t n);
void sl_buf_puts(struct sl_buf *b, const char *s);
void sl_buf_putc(struct sl_buf *b, char c);
void sl_buf_printf(struct sl_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append s as a JSON string (quoted, escaped, invalid UTF-8 replaced by U+FFFD). */
void sl_buf_json_str(struct sl_buf *b, const char *s);
/* Append a duration for people: "850ms", "12.4s", "3m12s", "2h05m". */
void sl_buf_duration(struct sl_buf *b, int64_t ns);

/* ---- real.c ---- */
#include "real.h"

/* ---- privfd.c: the shim's own fds ----
 * The shim owns few fds: libunwind's validation pipe (for the process lifetime) and,
 * transiently, the log file and module files while a report is written. They are moved
 * to the top of the fd space and the wrappers protect them: close_range/closefrom skip
 * them, close() of one by the host fails with EBADF (the host never opened it), and
 * dup2/dup3 onto one fail with EBADF, as on a number beyond the host's limit. */
/* Take ownership of fd: move it high, remember it. Returns the fd to use from now on
 * (may differ from fd; fd itself if it could not be moved), or -EBADF if the host
 * closed fd before it could be moved (it is then not ours: do not touch the number). */
int sl_privfd_adopt(int fd);
/* Forget fd and close it with the real close. Returns 0 or -errno. */
int sl_privfd_close(int fd);
/* Forget fd without closing it (its owner closed it). */
void sl_privfd_forget(int fd);
bool sl_privfd_is(int fd);
/* Fill out[] with the private fds in ascending order; returns how many. */
int sl_privfd_list(int *out, int max);

/* ---- aside.c: the shim's file I/O, in a child with its own copy of the fd table ---- */
/* Run fn(arg) in a clone(CLONE_VM|CLONE_VFORK) child without CLONE_FILES (in place if
 * no child can be made); fn makes raw system calls only. Returns fn's result. Callers
 * hold the work lock. */
long sl_aside(long (*fn)(void *), void *arg);
/* Map a whole file read-only (the mapping is ours; no fd is left). 0 or -errno. */
int sl_aside_map(const char *path, void **addr, size_t *len);
/* Read up to cap-1 bytes, NUL-terminated. Returns the length or -errno. */
long sl_aside_read(const char *path, char *buf, size_t cap);
/* Read several small files in one child: lens[i] = length or -errno. */
void sl_aside_read_many(const char *const *paths, size_t n, char (*bufs)[64], long *lens);
/* Append to a file, creating it mode 0600; refuses a symbolic link (-ELOOP) and another
 * user's regular file (-EPERM). Returns 0 or -errno. */
int sl_aside_append(const char *path, const char *data, size_t len);
void sl_aside_after_fork_child(void);

/* ---- fdtable.c: the registry ---- */
enum sl_origin {
    SL_ORIGIN_SOCKET = 1,
    SL_ORIGIN_SOCKETPAIR,
    SL_ORIGIN_ACCEPT,
    SL_ORIGIN_DUP,
    SL_ORIGIN_INHERITED,
    SL_ORIGIN_UNKNOWN,
    SL_ORIGIN_SCM_RIGHTS, /* received through recvmsg(SCM_RIGHTS) */
    SL_ORIGIN_UNSEEN,     /* found open by a scan, created where the shim could not see */
};
const char *sl_origin_name(int origin);

/* A compact socket address (inet/inet6 only; others are read when reporting). */
struct sl_addr {
    uint16_t family; /* AF_INET, AF_INET6 or 0 = none */
    uint16_t port;   /* network order */
    uint32_t scope;
    uint8_t addr[16];
};

struct sl_rec_info {     /* what a record says about one socket; copied out by snapshots */
    int fd;
    uint32_t stack;      /* stack id of the call that produced this fd (0 = none) */
    uint32_t orig_stack; /* for dups: the stack of the socket it copies */
    pid_t tid;
    uint8_t origin;      /* enum sl_origin */
    uint8_t type;        /* SOCK_STREAM, ... (flags masked); 0 = unknown yet */
    uint16_t family;     /* AF_*; 0 = unknown yet */
    uint16_t proto;
    uint8_t tcp_state;   /* last state seen by a scan (0 = none) */
    uint8_t reported_leak; /* enum sl_leak a report flagged it with (0 = never) */
    uint8_t ignored;     /* sockleak_ignore(): long-lived on purpose, never a leak (dups inherit it) */
    uint8_t forked;      /* the record was copied by fork: the parent holds this socket too */
    uint64_t gen;        /* unique per record: identity for lock-free round trips */
    uint64_t dev, ino;   /* from fstat; ino 0 = not yet checked */
    int64_t created_ns;  /* CLOCK_MONOTONIC */
    int64_t close_wait_ns; /* when it entered CLOSE_WAIT (estimate, never early), 0 = not in it */
    int64_t open_seen_ns;  /* last time a probe saw it in another state (or its creation) */
    int64_t reported_ns;   /* when a report first flagged it as leaked */
    struct sl_addr peer; /* recorded at connect/accept */
};

int sl_fdtable_init(void);
/* Cheap test used by close() & co: can fd be a tracked socket or a private fd?
 * False means "certainly not": the wrapper forwards without further work. */
bool sl_fd_watched(int fd);
void sl_fd_watch_set(int fd, bool on);
/* Watched, or detached with its real close under way: a scan must not adopt fd. */
bool sl_fd_busy(int fd);

/* Verbs. Called by wrappers after the real call succeeded (track after create) or
 * before it (untrack before close). None blocks; none touches errno. */
void sl_fd_created(int fd, int origin, int family, int type, int proto, const struct sockaddr *peer,
                   socklen_t peerlen);
void sl_fd_accepted(int listen_fd, int fd, const struct sockaddr *peer, socklen_t peerlen);
/* newfd is a copy of oldfd; if oldfd is not recorded, newfd is recorded if it is a socket. */
void sl_fd_dup(int oldfd, int newfd);
void sl_fd_connect(int fd, const struct sockaddr *addr, socklen_t len);
void sl_fd_inherited(int fd, int family, int type, int proto);
bool sl_fd_tracked(int fd);
/* fd arrived through SCM_RIGHTS: tracked if it is a socket. */
void sl_fd_received(int fd);
/* A scan found fd open, a socket, and not tracked: adopt it (origin unseen, no stack). */
void sl_fd_unseen(int fd, int family, int type, int proto, uint64_t dev, uint64_t ino);
/* close() failed with EBADF: if fd's last tracked socket was closed through us, it is a
 * double close; count it with the stack of this close. */
void sl_fd_bad_close(int fd);
/* sockleak_ignore(): mark fd's socket as long-lived on purpose. A socket open but not
 * tracked (created where the shim could not see) is adopted first, as a scan would.
 * Returns 0, -EBADF (fd not open), -ENOTSOCK, or -ENOMEM (could not be recorded). */
int sl_fd_ignore(int fd);
/* A report flagged the socket as leaked: if it is closed later, it is a late close. */
bool sl_fd_mark_reported(int fd, uint64_t gen, int leak, int64_t now_ns);
struct sl_late {          /* a socket closed after a report had flagged it as leaked */
    int fd;
    uint32_t stack;
    uint8_t leak;
    int64_t lifetime_ns, after_report_ns;
};
struct sl_dclose {        /* a close() of a number whose socket we had already seen closed */
    int fd;
    uint32_t stack;       /* where the second close happened */
};
/* Take the events since the last call (reporter only, under its lock). Events beyond
 * max, or overwritten before they were taken, are added to *lost. */
size_t sl_fd_take_closed_late(struct sl_late *out, size_t max, long *lost);
size_t sl_fd_take_double_closes(struct sl_dclose *out, size_t max, long *lost);
/* enum sl_origin of fd's record; 0 if not tracked; -EAGAIN if its lock stayed taken
 * (never waits for it: safe from a signal handler that interrupted the shim). */
int sl_fd_origin(int fd);

/* Close protocol: detach before the real call, then release or reattach. */
struct sl_rec;
struct sl_rec *sl_fd_detach(int fd);
/* Detach every tracked fd in [lo, hi]; returns a list (may be NULL). */
struct sl_rec *sl_fd_detach_range(unsigned lo, unsigned hi);
void sl_fd_release(struct sl_rec *list);   /* the fds are closed: free the records */
void sl_fd_reattach(struct sl_rec *list);  /* the real call failed: put them back */
/* The same for one fd, as close() and dup2() need it: detach frees the record at once
 * and accounts for the close (false: fd was not tracked); *out (may be NULL) gets a copy
 * for reattach. Release after the real call; reattach (with that copy) if it failed. */
bool sl_fd_detach_one(int fd, struct sl_rec_info *out);
void sl_fd_release_one(int fd);
void sl_fd_reattach_one(const struct sl_rec_info *info);

/* Snapshot: a copy of every record (reporter/scanner threads only).
 * Returns the count or -ENOMEM; *out must be freed with sl_big_free(). */
long sl_fd_snapshot(struct sl_rec_info **out);
/* Write back what a probe learned, if fd still holds the record with this gen; all
 * return false if the record is gone. sl_fd_set_state also keeps the CLOSE_WAIT clock:
 * it starts when a socket is first seen in CLOSE_WAIT and is stored in *close_wait_ns. */
bool sl_fd_set_inode(int fd, uint64_t gen, uint64_t dev, uint64_t ino);
bool sl_fd_set_meta(int fd, uint64_t gen, int family, int type, int proto);
/* A snapshot copy without family or type: probe its fd, fill both it and the record. */
void sl_fd_learn_meta(struct sl_rec_info *i);
bool sl_fd_set_state(int fd, uint64_t gen, int tcp_state, int64_t now_ns, int64_t *close_wait_ns);
/* The same, with a hint: the socket cannot have entered tcp_state before since_ns (for
 * CLOSE_WAIT: the last ACK from the peer, which the FIN carried). The clock starts at
 * the later of since_ns and the last probe that saw another state: never too early. */
bool sl_fd_observe(int fd, uint64_t gen, int tcp_state, int64_t since_ns, int64_t now_ns, int64_t *close_wait_ns);
/* Drop a record found stale (fd closed behind our back), if it still has this gen. */
void sl_fd_drop_stale(int fd, uint64_t gen);

long sl_fd_live(void);        /* tracked sockets now (lock-free sum) */

struct sl_fd_stats {
    long live, opened, closed, stale;
};
void sl_fd_stats(struct sl_fd_stats *st);

struct sl_counters {            /* rare events; the hot counters live per stripe */
    _Atomic long untracked;     /* sockets seen created but not recorded */
    _Atomic long nomem;         /*   ... of which for lack of memory or max_tracked */
    _Atomic long reentrant;     /*   ... of which created inside the shim / a signal handler */
    _Atomic long unseen_found;  /* sockets found open by scans, never seen created */
    _Atomic long unseen_closed; /*   ... of which later closed through us */
    _Atomic long double_closes; /* close() of a number whose socket we saw closed already */
    _Atomic long closed_late;   /* sockets closed after a report flagged them as leaked */
    _Atomic long scm_rights;    /* sockets received through SCM_RIGHTS */
};

/* ---- triggers.c: reports when trouble starts ---- */
/* A new fd was created (the registry calls this): fds 0..fd are all open, by the
 * lowest-number rule, so fd+1 is a floor on the open count. Fires the threshold
 * report once per crossing. Async-signal-safe. */
void sl_trigger_created(int fd);
/* socket()/accept() & co failed with EMFILE or ENFILE. Async-signal-safe. */
void sl_trigger_emfile(int err);
/* A scan counted open fds and live sockets: fire what has crossed, re-arm what has
 * come back down (below 90% of its level). */
void sl_trigger_scan(long open_fds, long live);
/* Refresh the limits (RLIMIT_NOFILE may have been raised by the program). */
void sl_trigger_limits(void);
struct sl_trigger_info {
    long open_fds, nofile_soft, nofile_hard, threshold_fds;
    int last_errno;
};
void sl_trigger_info(struct sl_trigger_info *out);
extern struct sl_counters sl_count;

/* fork support: lock everything the child must inherit consistent, then unlock. */
void sl_fdtable_lock_all(void);
void sl_fdtable_unlock_all(void);
/* In a fork child: every record is the parent's socket too. */
void sl_fdtable_mark_forked(void);

/* ---- stacks.c ---- */
#define SL_MAX_DEPTH 64
struct sl_stack {
    uint64_t hash;
    uint32_t id;
    uint16_t depth;
    uint16_t flags;
    uintptr_t ip[]; /* return addresses, frame 0 = first frame outside the shim */
};
int sl_stacks_init(void);
/* Capture the caller's stack and return its id (0 = none: depth 0, reentrant call,
 * capture failure or table full). Safe in signal handlers; never allocates with malloc. */
uint32_t sl_stack_capture(void);
const struct sl_stack *sl_stack_get(uint32_t id);
uint32_t sl_stack_max_id(void);
/* Which unwinder is in use ("libunwind", "backtrace", "none"). */
const char *sl_stack_unwinder(void);
/* Intern an already captured array (for tests and imports). */
uint32_t sl_stack_intern(const uintptr_t *ip, int depth);
/* Is ip inside the shim itself (frames to skip)? */
bool sl_stack_ip_is_ours(uintptr_t ip);
long sl_stack_overflow(void);     /* stacks not stored because the table was full */
/* Count a socket opened (or closed) by stack id (0 = no stack). Lock-free. */
void sl_stack_note(uint32_t id, bool opened);
void sl_stack_counts(uint32_t id, long *opened, long *closed);
void sl_stacks_lock(void);        /* fork: keep the table consistent in the child */
void sl_stacks_unlock(void);
/* Set while this thread runs the unwinder: pipes it opens belong to the shim. */
extern __thread int sl_tls_in_unwind __attribute__((tls_model("initial-exec")));

/* ---- symbolize.c: report-time only (malloc, files) ---- */
struct sl_module;
struct sl_modmap {
    struct sl_module *mods;
    size_t n;
    struct owned *owned; /* strings made while symbolizing */
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
};
/* Snapshot the loaded modules. Returns 0 or -ENOMEM. */
int sl_modmap_build(struct sl_modmap *m);
/* Describe ip; strings stay valid until sl_modmap_free. lookup_ip is ip - 1 for return
 * addresses (so a call at a function's end resolves to its caller, not the next one). */
void sl_symbolize(struct sl_modmap *m, uintptr_t ip, uintptr_t lookup_ip, struct sl_frame *out);
void sl_modmap_free(struct sl_modmap *m);
/* A path of one of glibc's own libraries (libc.so.6, ld-linux..., libpthread.so.0...):
 * their frames get no file:line (report.c). */
bool sl_module_is_glibc(const char *path);
/* Load (and keep) the symbol tables of the modules stacks first_id..last_id run in. */
void sl_symbolize_warm(uint32_t first_id, uint32_t last_id);
void sl_symbolize_after_fork_child(void);
/* Held around the shim's own dl_iterate_phdr/dladdr; the fork handlers take it too. */
void sl_dl_lock(void);
void sl_dl_unlock(void);

/* ---- suppress.c: known long-lived sockets, left out of reports ---- */
/* Read the suppressions file (once; aside). */
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

/* ---- srcline.c: file:line through elfutils' libdw, dlopened; report-time only ---- */
/* Set frames[i]->file/line for address lookup[i] (ip - 1 for return addresses) where
 * debug information says (source_lines=1 and libdw present). File names are the
 * cache's: they live as long as the set of loaded modules does not change. */
void sl_srcline_fill(struct sl_frame **frames, const uintptr_t *lookup, size_t n);
void sl_srcline_after_fork_child(void);

/* ---- probe.c: the OS seam ---- */
int sl_probe_inode(int fd, uint64_t *dev, uint64_t *ino);           /* -ENOTSOCK if not a socket */
int sl_probe_meta(int fd, int *family, int *type, int *proto);
int sl_probe_tcp_state(int fd, int *state);                          /* TCP_INFO tcpi_state */
struct sl_tcp {                    /* what TCP_INFO says, in the units we use */
    int state;
    uint32_t last_data_sent_ms, last_data_recv_ms, last_ack_recv_ms;
};
int sl_probe_tcp(int fd, struct sl_tcp *out);
/* Has the peer of this (unix stream/seqpacket) socket closed? poll(POLLRDHUP), which
 * reads nothing. */
bool sl_probe_peer_closed(int fd);
bool sl_probe_listening(int fd); /* SO_ACCEPTCONN */
/* The number of fds open in the process but the shim's own, from the size the kernel
 * gives /proc/PID/fd (Linux 6.2 on), without opening anything; -1 if not known. */
long sl_probe_count_fds(void);
struct sl_cw_entry {
    uint64_t ino;
    uint32_t last_ack_recv_ms;
};
/* Every TCP socket in CLOSE_WAIT in this network namespace, from one NETLINK_SOCK_DIAG
 * dump per address family filtered by state in the kernel (done aside): cost
 * independent of how many sockets we track. Fills out[0..cap). Returns the count,
 * -ENOBUFS if there were more than cap, or -errno. */
#define SL_DIAG_INET 1u
#define SL_DIAG_INET6 2u
long sl_probe_close_wait_inodes(struct sl_cw_entry *out, size_t cap, unsigned families);
/* Pseudo-states kept in a record's tcp_state beside the TCP ones. */
#define SL_STATE_PEER_CLOSED 100 /* unix stream socket whose peer has closed */
#define SL_STATE_OPEN 101        /* not in CLOSE_WAIT, exact state not read (sock_diag scans) */
int sl_probe_addr(int fd, bool peer, struct sockaddr_storage *ss, socklen_t *len);
/* Call fn(fd, arg) for every fd open in this process but the shim's own; stops early
 * if fn returns non-zero. Reads /proc/self/fd: in the shim's thread with a table of its
 * own, through a directory fd kept there; elsewhere aside, so the host's table never
 * holds the directory's fd. No malloc (the list is mmap'd). Returns 0. */
int sl_probe_each_fd(int (*fn)(int fd, void *arg), void *arg);
/* Format an address as "127.0.0.1:80", "[::1]:80", "/path", "@abstract"; "" if none. */
void sl_format_sockaddr(const struct sockaddr *sa, socklen_t len, char *out, size_t outlen);
void sl_addr_from_sockaddr(struct sl_addr *a, const struct sockaddr *sa, socklen_t len);
void sl_addr_to_sockaddr(const struct sl_addr *a, struct sockaddr_storage *ss, socklen_t *len);
const char *sl_tcp_state_name(int state);   /* "ESTABLISHED", ..., NULL for 0/unknown */
const char *sl_family_name(int family);     /* "inet", "inet6", "unix", "netlink", "other" */
const char *sl_type_name(int type);         /* "stream", "dgram", ... */
const char *sl_proto_name(int family, int type, int proto); /* "tcp", "udp", ... or NULL */

/* ---- scanner.c ---- */
void sl_scanner_start(void);      /* idempotent; starts the background thread if allowed */
void sl_scanner_after_fork_child(void);
/* Async-signal-safe: ask the background thread for a report. */
void sl_scanner_request_dump(void);
/* Async-signal-safe: ask the background thread for a report with this reason. */
void sl_scanner_request(int reason);
/* Write the reports asked for and not written yet, in the calling thread. */
void sl_scanner_flush(void);
/* One scan (the thread's every scan_interval, full=false: the fd walk may be skipped
 * when nothing suggests an fd appeared behind our back; see scanner.c). */
void sl_scan(bool full);
#define sl_scan_once() sl_scan(false)

/* ---- syslog.c ---- */
/* With option syslog set: make the private datagram socket the summaries go through
 * (called when the background thread starts, so no scan can see it half-made). */
void sl_syslog_open(void);

/* ---- report.c ---- */
enum sl_reason { SL_REASON_EXIT, SL_REASON_SIGNAL, SL_REASON_EMFILE, SL_REASON_THRESHOLD,
                 SL_REASON_API, SL_REASON_INTERVAL };
const char *sl_reason_name(int reason);
/* Collect, format and write a report now (serialized). Returns 0 or -errno. */
int sl_report_write(int reason);
/* Has any socket ever been seen (exit reports are skipped for socket-free processes)? */
bool sl_report_worthwhile(void);
void sl_report_note_start(void);  /* remember start-up time for uptime */
void sl_report_after_fork_child(bool locked); /* locked: the fork handlers held the work lock */
/* The work lock: held by every report and by each unit of the report thread's work;
 * the fork handlers take it first. */
void sl_work_lock(void);
void sl_work_unlock(void);
/* Read now what a report needs: the TCP knobs, the symbol tables behind new stacks.
 * The scanner calls it after each scan. */
void sl_report_warm(void);

/* ---- signals.c ---- */
int sl_signals_install(void);     /* install the dump signal handler (chained) */
bool sl_signal_is_ours(int sig);  /* is sig the installed dump signal? */
/* The host's sigaction() for the dump signal: record act as the host's disposition,
 * report the previous one in old. Returns 0 or -1 with errno (as sigaction). */
int sl_signal_host_sigaction(const struct sigaction *act, struct sigaction *old);

/* ---- procs.c ---- */
void sl_procs_init(void);         /* atfork handlers */
/* clone(CLONE_VM) children share the host's memory but not always its fds: while any
 * may be alive, wrappers ask the kernel who they are. */
extern _Atomic int sl_vm_children;
bool sl_vm_child_check(void);     /* is the calling task such a child? */
static inline bool sl_in_foreign_vm_child(void)
{
    return SL_UNLIKELY(atomic_load_explicit(&sl_vm_children, memory_order_relaxed) != 0) && sl_vm_child_check();
}

/* ---- init.c ---- */
/* Make the shim usable: resolve real functions, read options, set up the registry and
 * the unwinder. Idempotent and cheap after the first call; safe from any wrapper,
 * including before the shim's own constructor ran. */
void sl_init_core(void);
extern _Atomic int sl_core_state; /* 0 = not yet, 1 = in progress, 2 = ready */
static inline void sl_ensure(void)
{
    if (SL_UNLIKELY(atomic_load_explicit(&sl_core_state, memory_order_acquire) != 2))
        sl_init_core();
}
/* Should a wrapper record what it sees? False inside the shim, in vfork/clone children
 * and before the core is ready. */
static inline bool sl_recording(void)
{
    return SL_LIKELY(sl_tls_guard == 0) && SL_LIKELY(atomic_load_explicit(&sl_core_state, memory_order_relaxed) == 2)
        && !sl_in_foreign_vm_child();
}
pid_t sl_gettid(void);
extern pid_t sl_pid;           /* this process, refreshed after fork */
extern char sl_program[256];   /* basename of the executable */

#endif
