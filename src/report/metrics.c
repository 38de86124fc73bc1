/*
 * metrics.c - counts for sockleak_stats() and the Prometheus textfile (metrics_path).
 *
 * Every scan and every report sums up what it saw into a struct sl_metrics: the live
 * sockets by family and TCP state, those in CLOSE_WAIT and the oldest of them, the
 * leaked ones by kind (classified by sl_report_classify, the report's own rule, so a
 * scan and a report never disagree about what a leak is), the ignored and listening
 * ones, the stacks that hold them, open fds. The scan feeds it from the snapshot it
 * already made (sl_metrics_scan_sock, one call per socket: a few additions), the
 * report from its model (sl_metrics_report). The result is published as the latest
 * view, which sockleak_stats() copies, and, with metrics_path set, written as a
 * node_exporter textfile-collector file: FILE.tmp.<pid> written whole, then renamed
 * over FILE, so the collector never reads half a file; the file work is done in the I/O child
 * (fd/iochild.c), never in the host's fd table. Scans and reports run under the work lock. Every sample carries the pid
 * and program labels, so one directory can hold a file per process (%p).
 *
 * The file is removed when the process exits normally (a dead process's gauges would
 * otherwise be served forever); a killed process leaves it behind, and
 * sockleak_last_update_timestamp_seconds says how old it is.
 *
 * Two locks guard the latest view and the file. They are "pid locks": they hold the
 * owner's pid, so a child forked while the parent held one takes it over instead of
 * waiting forever, and no atfork hook is needed. Both are held only for a copy or one
 * small file write.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "report.h"

/* ---- pid locks ---- */

static void plock(_Atomic pid_t *l)
{
    pid_t me = getpid();
    for (;;) {
        pid_t o = 0;
        if (atomic_compare_exchange_strong(l, &o, me))
            return;
        if (o != me && atomic_compare_exchange_strong(l, &o, me))
            return; /* held by the parent we were forked from: ours now */
        sched_yield();
    }
}

static void punlock(_Atomic pid_t *l)
{
    atomic_store(l, 0);
}

static _Atomic pid_t latest_lock, file_lock;
static struct sl_metrics latest;   /* under latest_lock */
static bool file_closed;           /* under file_lock: the process is exiting */
static pid_t file_owner;           /* under file_lock: the pid that wrote the file */
static char file_path[sizeof(sl_opt.metrics_path) + 32];

/* ---- summing up ---- */

static int family_index(int family)
{
    switch (family) {
    case AF_INET: return 0;
    case AF_INET6: return 1;
    case AF_UNIX: return 2;
    case AF_NETLINK: return 3;
    default: return 4;
    }
}
static const char *family_label[SL_M_FAMILIES] = { "inet", "inet6", "unix", "netlink", "other" };

void sl_metrics_begin(struct sl_metrics *m, int64_t now_ns)
{
    memset(m, 0, sizeof(*m));
    m->at_ns = now_ns;
    clock_gettime(CLOCK_REALTIME, &m->wall);
    m->close_wait_oldest_ns = -1;
    m->stack_seen_n = (sl_stack_max_id() + 64) & ~63u;
    m->stack_seen = calloc(m->stack_seen_n / 64, sizeof(uint64_t));
}

void sl_metrics_add(struct sl_metrics *m, const struct sl_rsock *s)
{
    const struct sl_rec_info *i = &s->rec;
    int st = SL_M_STATE_NONE;
    if (sl_rec_is_tcp(i))
        st = s->state > 0 && s->state < SL_TCP_STATES ? s->state : SL_M_STATE_UNKNOWN;
    m->live++;
    m->by_family_state[family_index(i->family)][st]++;
    m->listening += s->listening;
    m->ignored += i->ignored;
    if (s->state == TCP_CLOSE_WAIT && sl_rec_is_tcp(i)) {
        m->close_wait++;
        if (s->close_wait_ns > m->close_wait_oldest_ns)
            m->close_wait_oldest_ns = s->close_wait_ns;
    }
    if (s->leak > 0 && s->leak < SL_LEAKS) {
        m->leaked++;
        m->leaks[s->leak]++;
        m->unread += s->unread > 0 ? s->unread : 0;
    }
    uint32_t id = i->stack;
    if (id >= m->stack_seen_n && m->stack_seen) {
        /* a stack newer than the bitmap (captured since sl_metrics_begin): grow it */
        uint32_t n = (id + 64) & ~63u, words = n / 64, old = (m->stack_seen_n + 63) / 64;
        uint64_t *v = realloc(m->stack_seen, words * sizeof(uint64_t));
        if (v) {
            memset(v + old, 0, (words - old) * sizeof(uint64_t));
            m->stack_seen = v;
            m->stack_seen_n = n;
        }
    }
    if (!m->stack_seen || id >= m->stack_seen_n) {
        m->stacks++; /* no memory for the bitmap: count it, maybe twice */
    } else if (!((m->stack_seen[id / 64] >> (id % 64)) & 1)) {
        m->stack_seen[id / 64] |= (uint64_t)1 << (id % 64);
        m->stacks++;
    }
}

int sl_metrics_scan_sock(struct sl_metrics *m, const struct sl_rec_info *i, int state, int64_t since_ns,
                          int64_t idle_ns)
{
    struct sl_rsock s;
    memset(&s, 0, sizeof(s));
    s.rec = *i;
    s.close_wait_ns = s.peer_closed_ns = s.unread = -1;
    s.idle_ns = idle_ns;
    s.age_ns = m->at_ns - i->created_ns;
    if (state == SL_STATE_PEER_CLOSED) {
        s.peer_closed_ns = since_ns > 0 ? m->at_ns - since_ns : 0;
    } else if (state != SL_STATE_OPEN) {
        s.state = state;
        if (state == TCP_CLOSE_WAIT)
            s.close_wait_ns = since_ns > 0 ? m->at_ns - since_ns : 0;
    }
    s.listening = s.state == TCP_LISTEN;
    /* whether a socket listens decides max_age and idle leaks; scans read it only for
     * TCP sockets they probed one by one, so ask the kernel for the few candidates */
    if (!s.listening && s.state != TCP_LISTEN && !s.rec.ignored
        && ((sl_opt.max_age > 0 && s.age_ns >= sl_opt.max_age) || (sl_opt.idle_after > 0 && idle_ns >= sl_opt.idle_after))) {
        s.listening = sl_probe_listening(i->fd);
    }
    s.leak = sl_report_classify(&s);
    /* what a leaked half-closed socket holds unread: only for the few leaked */
    long unread;
    if (s.leak && (s.close_wait_ns >= 0 || s.peer_closed_ns >= 0) && i->type == SOCK_STREAM
        && sl_probe_unread(i->fd, &unread) == 0)
        s.unread = unread;
    sl_metrics_add(m, &s);
    return s.leak;
}

/* Counters kept elsewhere, read when a view is published. */
static void fill_counters(struct sl_metrics *m)
{
    struct sl_fd_stats st;
    sl_fd_stats(&st);
    m->opened = st.opened;
    m->closed = st.closed;
    m->reports = atomic_load(&sl_reports_written);
    m->untracked = atomic_load(&sl_count.untracked);
    m->unseen = atomic_load(&sl_count.unseen_found);
    m->double_closes = atomic_load(&sl_count.double_closes);
    struct sl_trigger_info t;
    sl_trigger_info(&t);
    m->fd_limit = t.nofile_soft;
}

/* ---- the textfile ---- */

static void label_value(struct sl_buf *b, const char *v)
{
    for (const char *p = v; *p; p++) {
        if (*p == '\\' || *p == '"')
            sl_buf_putc(b, '\\'), sl_buf_putc(b, *p);
        else if (*p == '\n')
            sl_buf_puts(b, "\\n");
        else
            sl_buf_putc(b, *p);
    }
}

struct fmt {
    struct sl_buf *b;
    const struct sl_metrics *m;
};

static void family(struct fmt *f, const char *name, const char *type, const char *help)
{
    sl_buf_printf(f->b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{pid="..",program=".."[,extra]} value */
static void sample(struct fmt *f, const char *name, const char *extra, double value)
{
    sl_buf_printf(f->b, "%s{pid=\"%d\",program=\"", name, (int)f->m->pid);
    label_value(f->b, f->m->program);
    sl_buf_printf(f->b, "\"%s%s}", extra ? "," : "", extra ? extra : "");
    if (value == (double)(long long)value)
        sl_buf_printf(f->b, " %lld\n", (long long)value);
    else
        sl_buf_printf(f->b, " %.3f\n", value);
}

static void gauge(struct fmt *f, const char *name, const char *help, double value)
{
    family(f, name, "gauge", help);
    sample(f, name, NULL, value);
}

static void counter(struct fmt *f, const char *name, const char *help, double value)
{
    family(f, name, "counter", help);
    sample(f, name, NULL, value);
}

void sl_metrics_format(const struct sl_metrics *m, struct sl_buf *b)
{
    struct fmt f = { b, m };
    char extra[96];
    family(&f, "sockleak_live_sockets", "gauge",
           "Sockets the program holds open, by address family and TCP state (none: not TCP; unknown: not read by the last scan).");
    for (int fam = 0; fam < SL_M_FAMILIES; fam++)
        for (int st = 0; st < SL_M_STATES; st++) {
            if (!m->by_family_state[fam][st])
                continue;
            const char *state = st == SL_M_STATE_NONE      ? "none"
                              : st == SL_M_STATE_UNKNOWN ? "unknown"
                                                         : sl_tcp_state_name(st);
            snprintf(extra, sizeof(extra), "family=\"%s\",state=\"%s\"", family_label[fam], state ? state : "unknown");
            sample(&f, "sockleak_live_sockets", extra, (double)m->by_family_state[fam][st]);
        }
    gauge(&f, "sockleak_listening_sockets", "Listening sockets among the live ones.", (double)m->listening);
    gauge(&f, "sockleak_close_wait_sockets", "TCP sockets in CLOSE_WAIT: the peer closed, the program did not.",
          (double)m->close_wait);
    gauge(&f, "sockleak_close_wait_oldest_seconds", "How long the oldest socket has been in CLOSE_WAIT (0: none).",
          m->close_wait_oldest_ns > 0 ? (double)m->close_wait_oldest_ns / SL_SEC : 0);
    gauge(&f, "sockleak_leaked_sockets", "Live sockets counted as leaked (CLOSE_WAIT for close_wait_after, peer gone, idle_after, max_age).",
          (double)m->leaked);
    family(&f, "sockleak_leaked_sockets_by_kind", "gauge", "Live sockets counted as leaked, by kind of leak.");
    for (int k = 1; k < SL_LEAKS; k++) {
        snprintf(extra, sizeof(extra), "kind=\"%s\"", sl_leak_name(k));
        sample(&f, "sockleak_leaked_sockets_by_kind", extra, (double)m->leaks[k]);
    }
    gauge(&f, "sockleak_leaked_unread_bytes",
          "Bytes received and never read in leaked half-closed sockets (their receive queues).", (double)m->unread);
    gauge(&f, "sockleak_ignored_sockets", "Live sockets marked long-lived with sockleak_ignore(): never leaked.",
          (double)m->ignored);
    gauge(&f, "sockleak_stacks", "Allocation stacks that hold live sockets.", (double)m->stacks);
    gauge(&f, "sockleak_open_fds", "File descriptors open in the process (all kinds).", (double)m->open_fds);
    gauge(&f, "sockleak_fd_limit", "Soft RLIMIT_NOFILE of the process (-1: unlimited).", (double)m->fd_limit);
    counter(&f, "sockleak_sockets_opened_total", "Sockets seen created since start.", (double)m->opened);
    counter(&f, "sockleak_sockets_closed_total", "Sockets seen closed since start.", (double)m->closed);
    counter(&f, "sockleak_reports_total", "Reports written since start.", (double)m->reports);
    counter(&f, "sockleak_untracked_sockets_total", "Sockets seen created but not recorded (coverage gap).",
            (double)m->untracked);
    counter(&f, "sockleak_unseen_sockets_total", "Sockets found open that were never seen created (raw syscalls, io_uring).",
            (double)m->unseen);
    counter(&f, "sockleak_double_closes_total", "close() calls on a socket number already closed.",
            (double)m->double_closes);
    gauge(&f, "sockleak_last_update_timestamp_seconds", "When this file was written (Unix time): a stale one belongs to a killed process.",
          (double)m->wall.tv_sec + (double)(m->wall.tv_nsec / 1000000) / 1000);
    family(&f, "sockleak_build_info", "gauge", "The sockleak version, as a label.");
    snprintf(extra, sizeof(extra), "version=\"%s\"", SL_VERSION);
    sample(&f, "sockleak_build_info", extra, 1);
}

extern int __cxa_atexit(void (*fn)(void *), void *arg, void *dso);

static void remove_at_exit(void *unused)
{
    (void)unused;
    plock(&file_lock);
    if (file_owner == getpid() && file_path[0])
        unlink(file_path);
    file_closed = true;
    punlock(&file_lock);
}

struct write_arg {
    const char *tmp, *path, *data;
    size_t len;
};

/* In the I/O child (fd/iochild.c, with its own fd table): tmp written whole, renamed. */
static long do_write(void *p)
{
    struct write_arg *a = p;
    SL_SYS(SYS_unlinkat, AT_FDCWD, a->tmp, 0); /* a leftover (same pid, earlier life) */
    /* 0644: node_exporter runs as another user and must read it */
    int fd = (int)SL_SYS(SYS_openat, AT_FDCWD, a->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC,
                         0644);
    if (fd < 0)
        return fd;
    int r = sl_write_all(fd, a->data, a->len);
    SL_SYS(SYS_close, fd);
    if (r == 0)
        r = (int)SL_SYS(SYS_renameat, AT_FDCWD, a->tmp, AT_FDCWD, a->path);
    if (r != 0)
        SL_SYS(SYS_unlinkat, AT_FDCWD, a->tmp, 0);
    return r;
}

int sl_metrics_write(const struct sl_metrics *m, const char *path)
{
    struct sl_buf b;
    sl_buf_init(&b);
    sl_metrics_format(m, &b);
    if (b.failed || !b.data) {
        sl_buf_free(&b);
        return -ENOMEM;
    }
    char tmp[sizeof(file_path) + 32];
    snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
    struct write_arg a = { tmp, path, b.data, b.len };
    int r = (int)sl_iochild_run(do_write, &a);
    sl_buf_free(&b);
    return r;
}

/* ---- publishing ---- */

void sl_metrics_publish(struct sl_metrics *m, long open_fds)
{
    free(m->stack_seen);
    m->stack_seen = NULL;
    m->open_fds = open_fds;
    m->pid = getpid();
    m->program = sl_program;
    fill_counters(m);
    plock(&latest_lock);
    latest = *m;
    punlock(&latest_lock);
    if (!sl_opt.metrics_path[0])
        return;
    static _Atomic int warned;
    plock(&file_lock);
    if (!file_closed) {
        sl_expand_path(sl_opt.metrics_path, file_path, sizeof(file_path));
        int r = sl_metrics_write(m, file_path);
        if (r == 0 && file_owner != m->pid) {
            __cxa_atexit(remove_at_exit, NULL, NULL); /* once per process (a forked child too) */
            file_owner = m->pid;
        }
        if (r != 0 && !atomic_exchange(&warned, 1))
            sl_log("cannot write metrics to '%s' (%s)", file_path, strerror(-r));
    }
    punlock(&file_lock);
}

bool sl_metrics_latest(struct sl_metrics *out)
{
    plock(&latest_lock);
    *out = latest;
    punlock(&latest_lock);
    return out->at_ns != 0;
}

void sl_metrics_report(const struct sl_report *r)
{
    struct sl_metrics m;
    sl_metrics_begin(&m, r->mono_ns);
    m.wall = r->wall;
    for (size_t k = 0; k < r->nsocks; k++)
        sl_metrics_add(&m, &r->socks[k]);
    sl_metrics_publish(&m, r->env.open_fds);
}
