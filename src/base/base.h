/*
 * base.h - the bottom layer: what every other module may use, and which uses nothing
 * of theirs.
 *
 *   self.c      who we are: pid, program, start time, the per-thread guard words,
 *               which sanitizer runtime (if any) shares the process
 *   sys.c       raw system calls that return -errno, one write-all loop, the bounds of
 *               a loaded module (the one PT_LOAD walker), signal() as a sigaction, a
 *               read of the process's own memory that cannot fault
 *   options.c   SOCKLEAK_OPTIONS: one table of every setting
 *   buf.c       growable buffers and big arrays (malloc/mmap; never in a wrapper)
 *   json.c      a JSON writer that places its own commas
 *   names.c     names for the kernel's numbers (TCP states, families, types) and
 *               socket addresses as text
 *   log.c       the shim's one-line messages, through a sink set at start-up
 *   real.c      the libc functions behind the wrappers (real_socket, ...)
 *
 * Conventions for the whole shim: sl_ prefixes functions shared between files,
 * real_<name> the resolved libc functions; static helpers carry no prefix. Internal
 * functions return 0 (or a count) on success and -errno on failure and never touch
 * the global errno: only the wrappers do, and they hand the host back exactly what
 * libc returned.
 */
#ifndef SOCKLEAK_BASE_H
#define SOCKLEAK_BASE_H

#include <errno.h>
#include <link.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <time.h>

#define SL_EXPORT __attribute__((visibility("default")))
#define SL_LIKELY(x) __builtin_expect(!!(x), 1)
#define SL_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define SL_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
/* syscall(nr, ...)'s six argument words into long a[6] (the callee cannot know how many
 * were given; reading six is what glibc's own syscall() does) */
#define SL_VA_SYSCALL_ARGS(ap, a)                                                                          \
    do {                                                                                                   \
        for (int sl_i_ = 0; sl_i_ < 6; sl_i_++)                                                            \
            (a)[sl_i_] = va_arg(ap, long);                                                                 \
    } while (0)
#define SL_TLS __attribute__((tls_model("initial-exec")))

#ifndef SL_VERSION
#define SL_VERSION "unknown" /* the Makefile passes VERSION */
#endif

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

/* ---- errno, kept for a scope ----
 * SL_KEEP_ERRNO(); at the top of a block restores errno when the block is left, on
 * every path: what each wrapper owes the host. */
static inline void sl_errno_restore_(const int *saved)
{
    errno = *saved;
}
#define SL_KEEP_ERRNO() int sl_saved_errno_ __attribute__((cleanup(sl_errno_restore_), unused)) = errno

/* ---- self.c: identity and the per-thread guard words (initial-exec TLS: no
 * allocation, safe in any context) ----
 * sl_tls_guard non-zero means "this thread is inside the shim, or is a vfork child
 * running on its parent's stack": wrappers then forward to libc and record nothing.
 * The low bits count nesting; SL_GUARD_VFORK is set by the vfork wrapper. */
#define SL_GUARD_VFORK 0x40000000
extern __thread int sl_tls_guard SL_TLS;
extern __thread pid_t sl_tls_tid SL_TLS;
/* Set while this thread runs the unwinder: pipes it opens belong to the shim. */
extern __thread int sl_tls_in_unwind SL_TLS;
/* This thread (the shim's own) has an fd table of its own (fd/owntable.c). */
extern __thread bool sl_tls_own_table SL_TLS;

static inline void sl_guard_enter(void)
{
    sl_tls_guard++;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
}
static inline void sl_guard_leave(void)
{
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    sl_tls_guard--;
}

extern pid_t sl_pid;          /* this process, refreshed after fork */
extern char sl_program[256];  /* basename of the executable */
extern char sl_tmpdir[256];   /* $TMPDIR at start-up (absolute), else /tmp */
extern int64_t sl_start_ns;   /* CLOCK_MONOTONIC at start-up */
/* When the shim was attached to the running process (`sockleak attach`), and how many
 * of its sockets were open then; at.tv_sec == 0: it was not (preloaded, or detached). */
struct sl_attached {
    struct timespec at;
    long pre_attach;
};
extern struct sl_attached sl_attached;
/* Fill in pid, program and start time (start-up; sl_self_after_fork in a child). */
void sl_self_init(void);
void sl_self_after_fork(void);
pid_t sl_gettid_slow(void);
static inline pid_t sl_gettid(void) /* the calling thread's, cached */
{
    pid_t t = sl_tls_tid;
    return SL_LIKELY(t != 0) ? t : sl_gettid_slow();
}
/* A sanitizer runtime is in the process (the host's, or the shim's own ASan/TSan
 * build): its reports from a thread with an fd table of its own would go to a stderr
 * that thread does not have. ThreadSanitizer also cannot follow a CLONE_VM child. */
bool sl_sanitized(void);
bool sl_tsan(void);

/* FNV-1a over n bytes, from h (SL_FNV_BASIS to start): what fingerprints are made of. */
#define SL_FNV_BASIS 0xcbf29ce484222325ull
static inline uint64_t sl_fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++) {
        h ^= c[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

/* ---- sys.c ---- */
/* A raw system call: returns the result or -errno, never touches errno, and is out of
 * sight of a sanitizer runtime's interceptors (x86-64). */
static inline long sl_sys6(long n, long a, long b, long c, long d, long e, long f)
{
    register long r10 __asm__("r10") = d, r8 __asm__("r8") = e, r9 __asm__("r9") = f;
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}
#define SL_L_(x) ((long)(x))
#define SL_SYS0_(n) sl_sys6(n, 0, 0, 0, 0, 0, 0)
#define SL_SYS1_(n, a) sl_sys6(n, SL_L_(a), 0, 0, 0, 0, 0)
#define SL_SYS2_(n, a, b) sl_sys6(n, SL_L_(a), SL_L_(b), 0, 0, 0, 0)
#define SL_SYS3_(n, a, b, c) sl_sys6(n, SL_L_(a), SL_L_(b), SL_L_(c), 0, 0, 0)
#define SL_SYS4_(n, a, b, c, d) sl_sys6(n, SL_L_(a), SL_L_(b), SL_L_(c), SL_L_(d), 0, 0)
#define SL_SYS5_(n, a, b, c, d, e) sl_sys6(n, SL_L_(a), SL_L_(b), SL_L_(c), SL_L_(d), SL_L_(e), 0)
#define SL_SYS6_(n, a, b, c, d, e, f) sl_sys6(n, SL_L_(a), SL_L_(b), SL_L_(c), SL_L_(d), SL_L_(e), SL_L_(f))
#define SL_SYS_PICK_(_0, _1, _2, _3, _4, _5, _6, NAME, ...) NAME
#define SL_SYS(...)                                                                                      \
    SL_SYS_PICK_(__VA_ARGS__, SL_SYS6_, SL_SYS5_, SL_SYS4_, SL_SYS3_, SL_SYS2_, SL_SYS1_, SL_SYS0_, -)   \
    (__VA_ARGS__)

/* Write all of p to fd, retrying after EINTR. 0 or -errno (-EIO if nothing moves). */
int sl_write_all(int fd, const void *p, size_t n);
/* The address range [lo, hi) of one loaded object's PT_LOAD segments; false if none. */
bool sl_phdr_bounds(const struct dl_phdr_info *info, uintptr_t *lo, uintptr_t *hi);
/* The range of the loaded object that holds addr (found once per caller's cache).
 * Returns false if no object holds it. */
bool sl_module_bounds(const void *addr, uintptr_t *lo, uintptr_t *hi);
/* len bytes of zeroed anonymous memory (mmap, MAP_NORESERVE): no malloc, for tables
 * made in wrappers. NULL if it cannot be had. */
void *sl_map_zeroed(size_t len);
/* Copy n bytes of this process's memory at src into dst without ever faulting
 * (process_vm_readv on itself): what reading another program's data structures, whose
 * layout is only believed, needs. 0, or -EFAULT (not all of it mapped and readable),
 * or -errno (-ENOSYS, -EPERM under a seccomp policy). Async-signal-safe; no errno. */
int sl_peek(void *dst, uintptr_t src, size_t n);
/* Held around the shim's own dl_iterate_phdr/dladdr; the fork handlers take it too. */
void sl_dl_lock(void);
void sl_dl_unlock(void);
bool sl_dl_trylock(void); /* false: another walk holds it (or this thread: a signal handler) */
/* elfutils' libdw (libdw1), dlopened RTLD_LOCAL the first time it is wanted, never
 * linked: the shim must load where it is not installed. NULL if it is not. */
void *sl_libdw(void);
/* What signal()/sysv_signal() mean, as a sigaction: handler, flags, and sig itself
 * blocked during the handler when mask_self. */
void sl_signal_as_sigaction(int sig, sighandler_t handler, int flags, bool mask_self, struct sigaction *act);

/* ---- options.c: every setting is one row of the table there ---- */
enum sl_format { SL_FMT_TEXT = 0, SL_FMT_JSON = 1 };
enum sl_scan_method { SL_SCAN_AUTO = 0, SL_SCAN_TCP_INFO, SL_SCAN_SOCK_DIAG };
enum sl_native_frames { SL_NATIVE_BELOW = 0, SL_NATIVE_NONE, SL_NATIVE_SPLICED };
enum sl_unwinder { SL_UNWIND_FAST = 0, SL_UNWIND_LIBUNWIND, SL_UNWIND_VERIFY };
#define SL_MAX_DEPTH 64

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
    int own_fd_table;          /* bool: the shim's thread unshares the fd table (fd/owntable.c) */
    char suppressions[1024];   /* suppression file; "" = none */
    int unwinder;              /* enum sl_unwinder */
    int default_suppressions;  /* bool: the built-in rules (sl_default_suppressions) apply */
    int follow_children;       /* bool: programs this one executes run under the shim too */
    int python_frames;         /* bool: Python frames in stacks (core/pystack.c) */
    int java_frames;           /* bool: Java frames in stacks (core/jvmstack.c) */
    int node_frames;           /* bool: node programs load the JavaScript hook (shim/lang.c) */
    int native_frames;         /* enum sl_native_frames: what stacks with language frames show of the native ones */
};
/* The built-in suppression rules: sockets language runtimes keep open on purpose. */
#define SL_SUPP_JDK_NIO "function:Java_sun_nio_ch_FileDispatcherImpl_init"
extern const char *const sl_default_suppressions[]; /* NULL-terminated */
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
/* The i-th row of the table, for the documentation (scripts/gen-docs.py): its name,
 * default (as the user writes it), meaning, the placeholder for its value ("DUR") and
 * the values the parser takes. Any pointer may be NULL. Returns 0, or -ENOENT past the
 * last row. Static storage; not thread-safe (documentation and tests only). */
int sl_option_info(size_t i, const char **name, const char **def, const char **doc, const char **meta,
                   const char **values);
/* Name of a signal ("SIGUSR2"); "SIG?" for unknown. Static storage. */
const char *sl_signal_name(int sig);
/* Expand %p (pid) and %% in a log_path-style template. */
void sl_expand_path(const char *tmpl, char *out, size_t len);

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
/* Append s as a JSON string (quoted, escaped, invalid UTF-8 replaced by U+FFFD); NULL
 * as null. */
void sl_buf_json_str(struct sl_buf *b, const char *s);
/* Append a duration for people: "850ms", "12.4s", "3m12s", "2h05m". */
void sl_buf_duration(struct sl_buf *b, int64_t ns);

/* ---- json.c: a JSON writer ----
 * Each value is written with its key (NULL inside an array); the writer places the
 * commas. Objects and arrays nest up to SL_JSON_DEPTH deep. */
#define SL_JSON_DEPTH 16
struct sl_json {
    struct sl_buf *b;
    int depth;
    uint32_t filled; /* bit d: the container at depth d has a member already */
    uint32_t arrays; /* bit d: the container at depth d is an array (else an object) */
};
void sl_json_init(struct sl_json *j, struct sl_buf *b);
void sl_json_obj(struct sl_json *j, const char *key);   /* opens { */
void sl_json_arr(struct sl_json *j, const char *key);   /* opens [ */
void sl_json_end(struct sl_json *j);                    /* closes the innermost */
void sl_json_str(struct sl_json *j, const char *key, const char *v); /* NULL: null */
void sl_json_int(struct sl_json *j, const char *key, long long v);
void sl_json_bool(struct sl_json *j, const char *key, bool v);
void sl_json_null(struct sl_json *j, const char *key);
/* A duration in whole milliseconds, or null when ns < 0. */
void sl_json_ms(struct sl_json *j, const char *key, int64_t ns);
/* "0x1a2b" as a string. */
void sl_json_hex(struct sl_json *j, const char *key, uintptr_t v);

/* ---- names.c ---- */
const char *sl_tcp_state_name(int state);   /* "ESTABLISHED", ..., NULL for 0/unknown */
const char *sl_family_name(int family);     /* "inet", "inet6", "unix", "netlink", "other" */
const char *sl_type_name(int type);         /* "stream", "dgram", ... */
const char *sl_proto_name(int family, int type, int proto); /* "tcp", "udp", ... or NULL */
/* A TCP socket (MPTCP included), from family, type and protocol. */
static inline bool sl_is_tcp(int family, int type, int proto)
{
    return (family == AF_INET || family == AF_INET6) && type == SOCK_STREAM
        && (proto == 0 || proto == 6 /* IPPROTO_TCP */ || proto == 262 /* IPPROTO_MPTCP */);
}
/* A unix stream or seqpacket socket, whose peer's close poll(POLLRDHUP) sees. */
static inline bool sl_is_unix_stream(int family, int type)
{
    return family == AF_UNIX && (type == SOCK_STREAM || type == SOCK_SEQPACKET);
}
/* A compact socket address (inet/inet6 only; others are read when reporting). */
struct sl_addr {
    uint16_t family; /* AF_INET, AF_INET6 or 0 = none */
    uint16_t port;   /* network order */
    uint32_t scope;
    uint8_t addr[16];
};
/* Format an address as "127.0.0.1:80", "[::1]:80", "/path", "@abstract"; "" if none. */
void sl_format_sockaddr(const struct sockaddr *sa, socklen_t len, char *out, size_t outlen);
void sl_addr_from_sockaddr(struct sl_addr *a, const struct sockaddr *sa, socklen_t len);
void sl_addr_to_sockaddr(const struct sl_addr *a, struct sockaddr_storage *ss, socklen_t *len);

/* ---- log.c: the shim's own messages, one line each ----
 * Lines go to a sink set once at start-up (the program's stderr, if it is still the
 * stderr it was started with: fd/stdfd.c); until then, and when the sink refuses, they
 * are dropped. */
void sl_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void sl_warn_line(const char *msg); /* "sockleak: <program> (pid <pid>): <msg>\n" */
void sl_log_set_sink(void (*sink)(const char *line, size_t len));

/* ---- real.c ---- */
#include "real.h"

#endif
