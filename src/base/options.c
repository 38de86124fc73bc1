/*
 * options.c - SOCKLEAK_OPTIONS, sanitizer style.
 *
 * The input is key=value pairs separated by ':' or whitespace; a value may be quoted
 * with '...' or "..." to hold separators. Every setting is one row of `table` below,
 * with its default written as the user would write it: sl_options_defaults() parses
 * those strings, so a default can never disagree with the parser. The row also holds
 * what the setting means: README.md, `sockleak --help` and sockleak-options(7) are
 * written from the table (scripts/gen-docs.py reads it through sl_option_info(); make
 * docs), and tests/check_docs.py checks they still say the same. A problem (unknown
 * key, missing '=', bad value) is reported as one line naming the key and the offending
 * text, made printable and cut short, and the key keeps its default: the host always
 * runs. At most MAX_WARNINGS lines are printed per parse, then one line with the rest.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base.h"

struct sl_options sl_opt;

enum kind { K_BOOL, K_INT, K_LONG, K_DURATION, K_PATH, K_FORMAT, K_SIGNAL, K_SCAN, K_FILE, K_SYSLOG, K_UNWINDER,
            K_NATIVE };

struct opt_def {
    const char *name;
    enum kind kind;
    size_t offset;
    const char *def;  /* default, in the user's syntax */
    long min, max;    /* K_INT / K_LONG */
    const char *doc;  /* what it means: the README, --help and man page say this (make docs) */
};

/* The meanings are the documentation's text: `...` marks literal text (code in the
 * README, bold in the man page), the rest is plain; no numbers the row already holds. */
#define OFF(field) offsetof(struct sl_options, field)
static const struct opt_def table[] = {
    { "log_path", K_PATH, OFF(log_path), "stderr", 0, 0,
      "where reports go: `stderr`, `stdout`, or a file, appended to, created mode 0600; `%p` becomes the pid. "
      "A symbolic link or another user's file is refused (one warning; the report goes to stderr). Reports never "
      "go into a network socket, nor into a stderr the program has replaced since it started (a daemon's data "
      "file on fd 2): then they go to `$TMPDIR/sockleak.PID.log` ($TMPDIR as the program started), whose first line says why" },
    { "format", K_FORMAT, OFF(format), "text", 0, 0,
      "`text` for people, `json` for tools (JSON Lines: one report object per line)" },
    { "report_at_exit", K_BOOL, OFF(report_at_exit), "1", 0, 1,
      "write a report when the process exits (processes that never had a socket write none)" },
    { "dump_signal", K_SIGNAL, OFF(dump_signal), "SIGUSR2", 0, 0,
      "signal (`SIGUSR2`, `USR2`, `12`, `SIGRTMIN+3`) that asks for a report (`sockleak dump --signal`; "
      "without it, `sockleak dump` asks through the shim's control socket and sends no signal); `0` or `none` "
      "disables. Only while the program leaves that signal at its default action: a program that ignores it or "
      "handles it itself (a JVM, nginx) keeps it, and the shim says so once" },
    { "close_wait_after", K_DURATION, OFF(close_wait_after), "5s", 0, 0,
      "a socket in CLOSE_WAIT this long counts as leaked" },
    { "scan_interval", K_DURATION, OFF(scan_interval), "1s", 0, 0,
      "how often live TCP sockets are checked for CLOSE_WAIT; `0` checks only when reporting" },
    { "stack_depth", K_INT, OFF(stack_depth), "16", 0, SL_MAX_DEPTH,
      "frames kept per allocation stack; `0` records none" },
    { "verbose", K_INT, OFF(verbose), "0", 0, 2,
      "`1`: one line on stderr when the shim loads, so you can see it is active; `2`: also its decisions" },
    { "max_tracked", K_LONG, OFF(max_tracked), "0", 0, 1L << 30,
      "most sockets recorded at once; beyond it sockets are counted in the report's coverage, not recorded "
      "(`0`: no limit)" },
    { "fd_threshold", K_INT, OFF(fd_threshold), "80", 0, 100,
      "write a report (reason `threshold`) when open fds reach this % of the soft `RLIMIT_NOFILE`; `0` "
      "disables. Independently, a report (reason `emfile`) is written the first time `socket()`, `accept()`, "
      "`socketpair()` or `dup()` fails with `EMFILE` or `ENFILE`" },
    { "max_sockets", K_LONG, OFF(max_sockets), "0", 0, 1L << 30,
      "write a report (reason `threshold`) when this many sockets are live; `0` disables" },
    { "report_interval", K_DURATION, OFF(report_interval), "0", 0, 0,
      "write a report (reason `interval`) this often; `0` disables" },
    { "max_age", K_DURATION, OFF(max_age), "0", 0, 0,
      "sockets open this long count as leaked (`leak: \"max_age\"`); listeners never do; `0` disables" },
    { "idle_after", K_DURATION, OFF(idle_after), "0", 0, 0,
      "TCP sockets with no data sent or received for this long count as leaked (`leak: \"idle\"`); `0` "
      "disables" },
    { "scan_method", K_SCAN, OFF(scan_method), "auto", 0, 0,
      "how scans read TCP states: `tcp_info` (one `getsockopt()` per socket), `sock_diag` (one "
      "`NETLINK_SOCK_DIAG` dump of the sockets in CLOSE_WAIT, matched by inode), `auto` (sock_diag from 1000 "
      "TCP sockets on)" },
    { "own_fd_table", K_BOOL, OFF(own_fd_table), "1", 0, 1,
      "the shim's background thread gives up the program's fd table for one of its own and reaches the "
      "program's sockets through a pidfd (`pidfd_getfd()`), so that a single-threaded server keeps the "
      "kernel's fast path for fd system calls; `0` keeps the table shared. Without pidfd_getfd and "
      "close_range's unshare flag (Linux 5.6, 5.9), or under a seccomp policy that refuses them, the table "
      "stays shared" },
    { "source_lines", K_BOOL, OFF(source_lines), "1", 0, 1,
      "frames carry `file` and `line` when the program has debug information, read in-process with elfutils' "
      "libdw (`libdw1`) if it is installed, by each process's first report that meets them (a fork child keeps "
      "what its parent read); glibc's own frames (`__libc_start_main`...) keep their function names only; `0` "
      "skips the lookup (`sockleak report symbolize` can add them later)" },
    { "suppressions", K_FILE, OFF(suppressions), "none", 0, 0,
      "a file of suppression rules, one per line (`function:GLOB`, `module:GLOB`, `stack:ID`, `peer:ADDR`, "
      "`local:ADDR`): sockets they match are left out of reports and counted as suppressed; `none`: no file" },
    { "metrics_path", K_FILE, OFF(metrics_path), "none", 0, 0,
      "a Prometheus textfile (node_exporter's textfile collector) rewritten every scan and every report, "
      "atomically, mode 0644; `%p` becomes the pid; removed when the process exits normally; `none` disables" },
    { "syslog", K_SYSLOG, OFF(syslog_path), "0", 0, 0,
      "`1`: also send one line per report to syslog (`/dev/log`): the counts, where the worst leak was opened, "
      "and where the report went; or the absolute path of another syslog datagram socket; `0` disables" },
    { "unwinder", K_UNWINDER, OFF(unwinder), "fast", 0, 0,
      "how allocation stacks are captured: `fast` (a rule cached per return address, read once from the "
      "module's `.eh_frame` with elfutils' libdw; stacks through frames the rules cannot express, and the "
      "first ones through new code, are taken by libunwind), `libunwind` (libunwind for every stack), "
      "`verify` (both, the report counting each stack where they differ: a check for tests)" },
    { "default_suppressions", K_BOOL, OFF(default_suppressions), "1", 0, 1,
      "apply the built-in suppression rules, for sockets language runtimes keep open on purpose: `" SL_SUPP_JDK_NIO
      "` (the JDK's NIO socketpair, whose other end it closes at start-up); `0` applies only the `suppressions` "
      "file" },
    { "follow_children", K_BOOL, OFF(follow_children), "1", 0, 1,
      "programs this one executes run under the shim too (`LD_PRELOAD` is inherited); `0` takes the shim out of "
      "`LD_PRELOAD` at start-up, so only this process is watched (valgrind's `--trace-children=no`)" },
    { "python_frames", K_BOOL, OFF(python_frames), "1", 0, 1,
      "stacks of sockets made by Python code begin with its Python frames (function, file, line; CPython 3.11, "
      "3.12, 3.13), read from the interpreter's memory by the thread that makes the socket, without the GIL; "
      "an interpreter whose memory does not have the layout of its version keeps native frames only; `0`: "
      "native frames only" },
    { "java_frames", K_BOOL, OFF(java_frames), "1", 0, 1,
      "stacks of sockets made by Java code begin with its Java frames (`Class.method`, file, line), taken with "
      "JVMTI's `GetStackTrace` from the running VM (no agent flag needed) and named when reporting; `0`: native "
      "frames only" },
    { "node_frames", K_BOOL, OFF(node_frames), "1", 0, 1,
      "a Node program (`node`, `nodejs`) loads sockleak's hook (`sockleak-node.js`, next to the library) with "
      "`--require`, added to `NODE_OPTIONS` at start-up: sockets get the JavaScript stack of the code that asked "
      "for them (`net`, `tls`, `http` clients and servers, `dgram`), though the fd is made on a later tick; `0`: "
      "native frames only" },
    { "native_frames", K_NATIVE, OFF(native_frames), "below", 0, 0,
      "what a stack with language frames (Python, Java, JavaScript) shows of its native frames: `below` (after "
      "the language frames; below Python frames, the first 6: the C code between the interpreter and the "
      "socket call), `none` (the language frames only; Python's native frames are not even captured), "
      "`spliced` (Python: the whole native stack, each interpreter loop's frame replaced by the Python frames "
      "it ran, as memray's `--native`; the headline still names a language frame). Stack ids and headlines do "
      "not change" },
};

const char *const sl_default_suppressions[] = { SL_SUPP_JDK_NIO, NULL };
#undef OFF

#define MAX_WARNINGS 8
#define MAX_ECHO 48

/* ---- value parsers ---- */

static int parse_long(const char *s, long min, long max, long *out)
{
    if (!*s)
        return -EINVAL;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*end || errno)
        return -EINVAL;
    if (v < min || v > max)
        return -ERANGE;
    *out = v;
    return 0;
}

static int parse_bool(const char *s, int *out)
{
    static const char *yes[] = { "1", "true", "yes", "on" }, *no[] = { "0", "false", "no", "off" };
    for (size_t i = 0; i < SL_ARRAY_LEN(yes); i++) {
        if (!strcasecmp(s, yes[i]))
            return *out = 1, 0;
        if (!strcasecmp(s, no[i]))
            return *out = 0, 0;
    }
    return -EINVAL;
}

int sl_parse_duration(const char *s, int64_t *out_ns)
{
    /* digits[.digits][ms|s|m|h]; bare numbers are seconds */
    const char *p = s;
    if (!isdigit((unsigned char)*p))
        return -EINVAL;
    int64_t whole = 0, frac = 0, frac_scale = 1;
    while (isdigit((unsigned char)*p)) {
        if (whole > 100000000LL)
            return -ERANGE;
        whole = whole * 10 + (*p++ - '0');
    }
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return -EINVAL;
        while (isdigit((unsigned char)*p)) {
            if (frac_scale < 1000000000LL)
                frac = frac * 10 + (*p - '0'), frac_scale *= 10;
            p++;
        }
    }
    int64_t unit;
    if (!strcmp(p, "") || !strcmp(p, "s"))
        unit = SL_SEC;
    else if (!strcmp(p, "ms"))
        unit = SL_MS;
    else if (!strcmp(p, "m"))
        unit = 60 * SL_SEC;
    else if (!strcmp(p, "h"))
        unit = 3600 * SL_SEC;
    else
        return -EINVAL;
    /* cap at 30 days: longer is a typo, and it keeps the arithmetic far from overflow */
    if (whole > 30LL * 86400 * SL_SEC / unit)
        return -ERANGE;
    int64_t ns = whole * unit + (int64_t)((__int128)frac * unit / frac_scale);
    if (ns > 30LL * 86400 * SL_SEC)
        return -ERANGE;
    *out_ns = ns;
    return 0;
}

static const struct {
    const char *name;
    int num;
} signames[] = {
    { "HUP", SIGHUP },   { "INT", SIGINT },     { "QUIT", SIGQUIT }, { "ILL", SIGILL },
    { "TRAP", SIGTRAP }, { "ABRT", SIGABRT },   { "BUS", SIGBUS },   { "FPE", SIGFPE },
    { "KILL", SIGKILL }, { "USR1", SIGUSR1 },   { "SEGV", SIGSEGV }, { "USR2", SIGUSR2 },
    { "PIPE", SIGPIPE }, { "ALRM", SIGALRM },   { "TERM", SIGTERM }, { "STKFLT", SIGSTKFLT },
    { "CHLD", SIGCHLD }, { "CONT", SIGCONT },   { "STOP", SIGSTOP }, { "TSTP", SIGTSTP },
    { "TTIN", SIGTTIN }, { "TTOU", SIGTTOU },   { "URG", SIGURG },   { "XCPU", SIGXCPU },
    { "XFSZ", SIGXFSZ }, { "VTALRM", SIGVTALRM }, { "PROF", SIGPROF }, { "WINCH", SIGWINCH },
    { "IO", SIGIO },     { "POLL", SIGPOLL },   { "PWR", SIGPWR },   { "SYS", SIGSYS },
};

const char *sl_signal_name(int sig)
{
    static char rt[4][16];
    for (size_t i = 0; i < SL_ARRAY_LEN(signames); i++)
        if (signames[i].num == sig) {
            static char buf[SL_ARRAY_LEN(signames)][12];
            snprintf(buf[i], sizeof(buf[i]), "SIG%s", signames[i].name);
            return buf[i];
        }
    if (sig >= SIGRTMIN && sig <= SIGRTMAX) {
        char *b = rt[sig & 3];
        snprintf(b, sizeof(rt[0]), "SIGRTMIN+%d", sig - SIGRTMIN);
        return b;
    }
    return "SIG?";
}

/* Signals that cannot be caught, or that report a fault in the current instruction:
 * borrowing them for dumps would break the host. */
static bool dump_signal_allowed(int sig)
{
    switch (sig) {
    case SIGKILL: case SIGSTOP: case SIGSEGV: case SIGBUS: case SIGFPE: case SIGILL:
    case SIGTRAP: case SIGSYS:
        return false;
    default:
        return sig > 0 && sig < NSIG;
    }
}

int sl_parse_signal(const char *s, int *out)
{
    if (!strcmp(s, "0") || !strcasecmp(s, "none")) {
        *out = 0;
        return 0;
    }
    long num;
    if (isdigit((unsigned char)*s)) {
        if (parse_long(s, 1, NSIG - 1, &num) != 0 || !dump_signal_allowed((int)num))
            return -EINVAL;
        *out = (int)num;
        return 0;
    }
    const char *name = s;
    if (!strncasecmp(name, "SIG", 3))
        name += 3;
    int sig = 0;
    if (!strncasecmp(name, "RTMIN", 5) || !strncasecmp(name, "RTMAX", 5)) {
        bool max = !strncasecmp(name, "RTMAX", 5);
        long off = 0;
        const char *rest = name + 5;
        if (*rest) {
            if ((max && *rest != '-') || (!max && *rest != '+'))
                return -EINVAL;
            if (parse_long(rest + 1, 0, SIGRTMAX - SIGRTMIN, &off) != 0)
                return -EINVAL;
        }
        sig = max ? SIGRTMAX - (int)off : SIGRTMIN + (int)off;
    } else {
        for (size_t i = 0; i < SL_ARRAY_LEN(signames); i++)
            if (!strcasecmp(name, signames[i].name))
                sig = signames[i].num;
    }
    if (!sig || !dump_signal_allowed(sig))
        return -EINVAL;
    *out = sig;
    return 0;
}

/* ---- the parse loop ---- */

struct parse_ctx {
    void (*warn)(const char *msg);
    int problems;
};

/* Printable, shortened copy of untrusted text for a message. */
static void echo(char *out, size_t outlen, const char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 8 < outlen; i++) {
        unsigned char c = (unsigned char)s[i];
        if (i >= MAX_ECHO) {
            o += (size_t)snprintf(out + o, outlen - o, "...");
            break;
        }
        if (c >= 0x20 && c < 0x7f)
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
    }
    out[o] = '\0';
}

static void problem(struct parse_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(struct parse_ctx *ctx, const char *fmt, ...)
{
    ctx->problems++;
    if (!ctx->warn || ctx->problems > MAX_WARNINGS)
        return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    ctx->warn(msg);
}

/* The values of the options that take one of a few words, each kind's in one list: what
 * set_value accepts and what kind_expect says, in this order. */
struct word {
    const char *name;
    int value;
};
static const struct word scan_words[] = { { "auto", SL_SCAN_AUTO }, { "tcp_info", SL_SCAN_TCP_INFO },
                                          { "sock_diag", SL_SCAN_SOCK_DIAG }, { NULL, 0 } };
static const struct word unwinder_words[] = { { "fast", SL_UNWIND_FAST }, { "libunwind", SL_UNWIND_LIBUNWIND },
                                              { "verify", SL_UNWIND_VERIFY }, { NULL, 0 } };
static const struct word native_words[] = { { "below", SL_NATIVE_BELOW }, { "none", SL_NATIVE_NONE },
                                            { "spliced", SL_NATIVE_SPLICED }, { NULL, 0 } };

static const struct word *words_of(enum kind k)
{
    return k == K_SCAN ? scan_words : k == K_UNWINDER ? unwinder_words : k == K_NATIVE ? native_words : NULL;
}

/* "a, b or c" */
static const char *words_expect(const struct word *w, char *buf, size_t len)
{
    size_t n = 0, at = 0;
    while (w[n].name)
        n++;
    buf[0] = '\0';
    for (size_t i = 0; i < n && at < len; i++)
        at += (size_t)snprintf(buf + at, len - at, "%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ", w[i].name);
    return buf;
}

static int parse_word(const char *v, const struct word *w, int *out)
{
    for (; w->name; w++)
        if (!strcasecmp(v, w->name)) {
            *out = w->value;
            return 0;
        }
    return -EINVAL;
}

static const char *kind_expect(const struct opt_def *d, char *buf, size_t len)
{
    switch (d->kind) {
    case K_BOOL: return "0 or 1";
    case K_INT:
    case K_LONG: snprintf(buf, len, "an integer %ld..%ld", d->min, d->max); return buf;
    case K_DURATION: return "a duration such as 500ms, 5s or 2m";
    case K_PATH: return "stderr, stdout or a path shorter than 1024 bytes";
    case K_FORMAT: return "text or json";
    case K_SIGNAL: return "a catchable signal name or number (SIGUSR2, USR2, 12), or none";
    case K_SCAN:
    case K_UNWINDER:
    case K_NATIVE: return words_expect(words_of(d->kind), buf, len);
    case K_FILE: return "a path shorter than 1024 bytes, or none";
    case K_SYSLOG: return "0, 1 or the absolute path of a socket (shorter than 108 bytes)";
    }
    return "?";
}

/* Set one option from its text value; -errno if the value is bad. */
static int set_value(struct sl_options *o, const struct opt_def *d, const char *v)
{
    char *field = (char *)o + d->offset;
    long l;
    int i, r;
    int64_t ns;
    switch (d->kind) {
    case K_BOOL:
        if ((r = parse_bool(v, &i)) == 0)
            *(int *)field = i;
        return r;
    case K_INT:
        if ((r = parse_long(v, d->min, d->max, &l)) == 0)
            *(int *)field = (int)l;
        return r;
    case K_LONG:
        if ((r = parse_long(v, d->min, d->max, &l)) == 0)
            *(long *)field = l;
        return r;
    case K_DURATION:
        if ((r = sl_parse_duration(v, &ns)) == 0)
            *(int64_t *)field = ns;
        return r;
    case K_PATH: /* every path field is char[1024] */
        if (strlen(v) >= sizeof(o->log_path) || (!*v && d->offset == offsetof(struct sl_options, log_path)))
            return -EINVAL;
        strcpy(field, v);
        return 0;
    case K_FORMAT:
        if (!strcasecmp(v, "text"))
            *(int *)field = SL_FMT_TEXT;
        else if (!strcasecmp(v, "json") || !strcasecmp(v, "jsonl"))
            *(int *)field = SL_FMT_JSON;
        else
            return -EINVAL;
        return 0;
    case K_SIGNAL:
        if ((r = sl_parse_signal(v, &i)) == 0)
            *(int *)field = i;
        return r;
    case K_FILE: /* like K_PATH, with "none" (or "") for off */
        if (strlen(v) >= sizeof(o->metrics_path))
            return -EINVAL;
        strcpy(field, strcasecmp(v, "none") ? v : "");
        return 0;
    case K_SYSLOG:
        if ((r = parse_bool(v, &i)) == 0) {
            strcpy(field, i ? "/dev/log" : "");
            return 0;
        }
        if (v[0] != '/' || strlen(v) >= sizeof(o->syslog_path))
            return -EINVAL;
        strcpy(field, v);
        return 0;
    case K_NATIVE:
    case K_SCAN:
    case K_UNWINDER:
        return parse_word(v, words_of(d->kind), (int *)field);
    }
    return -EINVAL;
}

void sl_options_defaults(struct sl_options *o)
{
    memset(o, 0, sizeof(*o));
    for (size_t i = 0; i < SL_ARRAY_LEN(table); i++)
        set_value(o, &table[i], table[i].def);
}

static bool is_sep(char c)
{
    return c == ':' || c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void apply(struct sl_options *o, struct parse_ctx *ctx, const char *key, size_t klen, const char *val,
                  size_t vlen)
{
    char kshow[MAX_ECHO * 4 + 8], vshow[MAX_ECHO * 4 + 8], expect[64];
    echo(kshow, sizeof(kshow), key, klen);
    const struct opt_def *d = NULL;
    for (size_t i = 0; i < SL_ARRAY_LEN(table); i++)
        if (strlen(table[i].name) == klen && !memcmp(table[i].name, key, klen))
            d = &table[i];
    if (!d) {
        problem(ctx, "SOCKLEAK_OPTIONS: unknown option '%s' (ignored)", kshow);
        return;
    }
    echo(vshow, sizeof(vshow), val, vlen);
    char *v = strndup(val, vlen);
    int r = v && memchr(val, '\0', vlen) == NULL ? set_value(o, d, v) : -EINVAL;
    free(v);
    if (r != 0)
        problem(ctx, "SOCKLEAK_OPTIONS: bad value '%s' for %s (expected %s; default %s): ignored", vshow, d->name,
                kind_expect(d, expect, sizeof(expect)), d->def);
}

int sl_options_parse(struct sl_options *o, const char *text, void (*warn)(const char *msg))
{
    struct parse_ctx ctx = { warn, 0 };
    sl_options_defaults(o);
    if (!text)
        return 0;
    const char *p = text;
    while (*p) {
        while (*p && is_sep(*p))
            p++;
        if (!*p)
            break;
        const char *key = p;
        while (*p && *p != '=' && !is_sep(*p))
            p++;
        size_t klen = (size_t)(p - key);
        if (*p != '=') {
            char show[MAX_ECHO * 4 + 8];
            echo(show, sizeof(show), key, klen);
            problem(&ctx, "SOCKLEAK_OPTIONS: '%s' is not key=value (ignored)", show);
            continue;
        }
        p++; /* '=' */
        const char *val;
        size_t vlen;
        if (*p == '\'' || *p == '"') {
            char q = *p++;
            val = p;
            while (*p && *p != q)
                p++;
            vlen = (size_t)(p - val);
            if (*p == q)
                p++;
            else {
                char show[MAX_ECHO * 4 + 8];
                echo(show, sizeof(show), key, klen);
                problem(&ctx, "SOCKLEAK_OPTIONS: unterminated quote in the value of '%s' (ignored)", show);
                continue;
            }
        } else {
            val = p;
            while (*p && !is_sep(*p))
                p++;
            vlen = (size_t)(p - val);
        }
        apply(o, &ctx, key, klen, val, vlen);
    }
    if (ctx.problems > MAX_WARNINGS && warn) {
        char msg[128];
        snprintf(msg, sizeof(msg), "SOCKLEAK_OPTIONS: %d more problems not shown", ctx.problems - MAX_WARNINGS);
        warn(msg);
    }
    return ctx.problems;
}

/* For tests and documentation checks: the option names, NULL-terminated walk. */
const char *sl_option_name(size_t i)
{
    return i < SL_ARRAY_LEN(table) ? table[i].name : NULL;
}
void sl_expand_path(const char *tmpl, char *out, size_t len)
{
    size_t o = 0;
    for (const char *p = tmpl; *p && o + 1 < len; p++) {
        if (p[0] == '%' && p[1] == 'p') {
            o += (size_t)snprintf(out + o, len - o, "%d", (int)getpid());
            p++;
        } else if (p[0] == '%' && p[1] == '%') {
            out[o++] = '%';
            p++;
        } else {
            out[o++] = *p;
        }
        if (o >= len)
            o = len - 1;
    }
    out[o] = '\0';
}


/* The placeholder the documentation writes for a value of this kind. */
static const char *kind_meta(enum kind k)
{
    static const char *meta[] = { [K_BOOL] = "BOOL", [K_INT] = "N", [K_LONG] = "N", [K_DURATION] = "DUR",
                                  [K_PATH] = "PATH", [K_FORMAT] = "FORMAT", [K_SIGNAL] = "SIG",
                                  [K_SCAN] = "METHOD", [K_FILE] = "PATH", [K_SYSLOG] = "VALUE",
                                  [K_UNWINDER] = "UNWINDER", [K_NATIVE] = "WHICH" };
    return meta[k];
}

/* The i-th row of the table, for the documentation (scripts/gen-docs.py): its name,
 * default (as the user writes it), meaning, the placeholder for its value ("DUR") and
 * the values the parser takes (the text of its error messages). Any pointer may be
 * NULL. Returns 0, or -ENOENT past the last row. Static storage, overwritten by the
 * next call; not thread-safe (documentation and tests only). */
int sl_option_info(size_t i, const char **name, const char **def, const char **doc, const char **meta,
                   const char **values)
{
    static char buf[64];
    if (i >= SL_ARRAY_LEN(table))
        return -ENOENT;
    const struct opt_def *d = &table[i];
    if (name)
        *name = d->name;
    if (def)
        *def = d->def;
    if (doc)
        *doc = d->doc;
    if (meta)
        *meta = kind_meta(d->kind);
    if (values)
        *values = kind_expect(d, buf, sizeof(buf));
    return 0;
}
