/*
 * options.c - SOCKLEAK_OPTIONS, sanitizer style.
 *
 * The input is key=value pairs separated by ':' or whitespace; a value may be quoted
 * with '...' or "..." to hold separators. Every setting is one row of `table` below,
 * with its default written as the user would write it: sl_options_defaults() parses
 * those strings, so a default can never disagree with the parser. A problem (unknown
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

enum kind { K_BOOL, K_INT, K_LONG, K_DURATION, K_PATH, K_FORMAT, K_SIGNAL, K_SCAN, K_FILE, K_SYSLOG };

struct opt_def {
    const char *name;
    enum kind kind;
    size_t offset;
    const char *def;  /* default, in the user's syntax */
    long min, max;    /* K_INT / K_LONG */
};

#define OFF(field) offsetof(struct sl_options, field)
static const struct opt_def table[] = {
    /* where reports go: stderr, stdout, or a file appended to (%p = pid) */
    { "log_path", K_PATH, OFF(log_path), "stderr", 0, 0 },
    /* text for people, json for tools (JSON Lines: one report per line) */
    { "format", K_FORMAT, OFF(format), "text", 0, 0 },
    /* write a report when the process exits (only if it ever had a socket) */
    { "report_at_exit", K_BOOL, OFF(report_at_exit), "1", 0, 1 },
    /* signal that asks for a report; 0 or none disables */
    { "dump_signal", K_SIGNAL, OFF(dump_signal), "SIGUSR2", 0, 0 },
    /* a socket in CLOSE_WAIT this long counts as leaked */
    { "close_wait_after", K_DURATION, OFF(close_wait_after), "5s", 0, 0 },
    /* how often live sockets are checked for CLOSE_WAIT; 0 = only when reporting */
    { "scan_interval", K_DURATION, OFF(scan_interval), "1s", 0, 0 },
    /* frames kept per allocation stack; 0 records none */
    { "stack_depth", K_INT, OFF(stack_depth), "16", 0, SL_MAX_DEPTH },
    /* 1: one line when the shim loads; 2: also its decisions */
    { "verbose", K_INT, OFF(verbose), "0", 0, 2 },
    /* most sockets tracked at once; beyond it sockets are counted, not recorded (0 = no limit) */
    { "max_tracked", K_LONG, OFF(max_tracked), "0", 0, 1L << 30 },
    /* report (reason threshold) when open fds reach this % of RLIMIT_NOFILE; 0 = off */
    { "fd_threshold", K_INT, OFF(fd_threshold), "80", 0, 100 },
    /* report (reason threshold) when this many sockets are live; 0 = off */
    { "max_sockets", K_LONG, OFF(max_sockets), "0", 0, 1L << 30 },
    /* write a report (reason interval) this often; 0 = off */
    { "report_interval", K_DURATION, OFF(report_interval), "0", 0, 0 },
    /* sockets open longer than this count as leaked (leak "max_age"); 0 = off */
    { "max_age", K_DURATION, OFF(max_age), "0", 0, 0 },
    /* TCP sockets with no data either way for this long count as leaked (leak "idle"); 0 = off */
    { "idle_after", K_DURATION, OFF(idle_after), "0", 0, 0 },
    /* how scans read TCP states: auto (sock_diag from 1000 TCP sockets), tcp_info, sock_diag */
    { "scan_method", K_SCAN, OFF(scan_method), "auto", 0, 0 },
    /* the shim's thread keeps an fd table of its own, so a single-threaded host's keeps one user */
    { "own_fd_table", K_BOOL, OFF(own_fd_table), "1", 0, 1 },
    /* file:line in report frames, read in-process with elfutils' libdw when installed */
    { "source_lines", K_BOOL, OFF(source_lines), "1", 0, 1 },
    /* a file of suppressions (kind:pattern per line): sockets left out of reports */
    { "suppressions", K_PATH, OFF(suppressions), "", 0, 0 },
    /* Prometheus textfile (node_exporter) rewritten every scan and report (%p = pid); none = off */
    { "metrics_path", K_FILE, OFF(metrics_path), "none", 0, 0 },
    /* one line per report to syslog: 0, 1 (/dev/log) or the path of a syslog datagram socket */
    { "syslog", K_SYSLOG, OFF(syslog_path), "0", 0, 0 },
};
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

static const char *kind_expect(const struct opt_def *d, char *buf, size_t len)
{
    switch (d->kind) {
    case K_BOOL: return "0 or 1";
    case K_INT:
    case K_LONG: snprintf(buf, len, "an integer %ld..%ld", d->min, d->max); return buf;
    case K_DURATION: return "a duration such as 500ms, 5s or 2m";
    case K_PATH: return "a path shorter than 1024 bytes (log_path: or stderr, stdout)";
    case K_FORMAT: return "text or json";
    case K_SIGNAL: return "a catchable signal name or number (SIGUSR2, USR2, 12), or none";
    case K_SCAN: return "auto, tcp_info or sock_diag";
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
    case K_SCAN:
        if (!strcasecmp(v, "auto"))
            *(int *)field = SL_SCAN_AUTO;
        else if (!strcasecmp(v, "tcp_info"))
            *(int *)field = SL_SCAN_TCP_INFO;
        else if (!strcasecmp(v, "sock_diag"))
            *(int *)field = SL_SCAN_SOCK_DIAG;
        else
            return -EINVAL;
        return 0;
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

