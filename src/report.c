/*
 * report.c - collecting a report and delivering it.
 *
 * Collecting never trusts the registry alone. Each entry of a snapshot is checked
 * against the kernel before it is reported: fstat must still show a socket with the
 * inode recorded (otherwise the fd was closed behind the shim's back, by fclose() or a
 * raw syscall, and the entry is dropped from the report and from the table), and the
 * TCP state is read again, so a report never lists a socket that is not open at that
 * moment and never says CLOSE_WAIT about a socket that left it. Probes run without
 * locks; write-backs are matched by generation number.
 *
 * A socket counts as leaked (unless the program marked it long-lived with
 * sockleak_ignore), most telling reason first: CLOSE_WAIT for
 * close_wait_after; a unix stream socket whose peer closed, as long; a TCP socket idle
 * (no data either way) for idle_after; any socket but a listener open for max_age.
 * Leaked sockets are marked in the registry, so that closing one later is reported as
 * a late close ("closed_late": a slow path, not a leak) in the next report.
 *
 * Between reports the collector remembers each stack's opened/closed counters, so every
 * report says what each stack added and removed since the previous one ("growth").
 * Sockets matching a suppression rule (suppress.c) are left out and only counted.
 *
 * Reports are serialized by report_lock, built whole in memory and handed to
 * sl_report_output(), which appends them to log_path with one write() per chunk, the
 * file opened aside (aside.c): never in the host's fd table. Then the report's counts
 * become the latest metrics (metrics.c) and, with option syslog, its summary line goes
 * to syslog (syslog.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "metrics.h"

/* Serializes reports, and all the report thread's work (scans too): the fork handlers
 * take it, so a fork never copies the shim in the middle of a report, with its
 * allocations, symbol loading and loader walks half done. Recursive: a scan may write
 * a report. */
static pthread_mutex_t report_lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;

void sl_work_lock(void)
{
    pthread_mutex_lock(&report_lock);
}

void sl_work_unlock(void)
{
    pthread_mutex_unlock(&report_lock);
}
_Atomic long sl_reports_written;
static int64_t start_ns;

/* what the previous report saw, for growth (under report_lock) */
static struct {
    bool done;
    int64_t at_ns;
    uint32_t n;               /* stacks known then */
    long *opened, *closed;    /* by stack id, 0..n */
} prev;

const char *sl_reason_name(int reason)
{
    static const char *names[] = { "exit", "signal", "emfile", "threshold", "api", "interval" };
    return reason >= 0 && (size_t)reason < SL_ARRAY_LEN(names) ? names[reason] : "api";
}

const char *sl_leak_name(int leak)
{
    static const char *names[] = { NULL, "close_wait", "peer_closed", "idle", "max_age" };
    return leak > 0 && leak < SL_LEAKS ? names[leak] : NULL;
}

const char *sl_origin_name(int origin)
{
    switch (origin) {
    case SL_ORIGIN_SOCKET: return "socket";
    case SL_ORIGIN_SOCKETPAIR: return "socketpair";
    case SL_ORIGIN_ACCEPT: return "accept";
    case SL_ORIGIN_DUP: return "dup";
    case SL_ORIGIN_INHERITED: return "inherited";
    case SL_ORIGIN_SCM_RIGHTS: return "scm_rights";
    case SL_ORIGIN_UNSEEN: return "unseen";
    default: return "unknown";
    }
}

bool sl_report_worthwhile(void)
{
    struct sl_fd_stats st;
    sl_fd_stats(&st);
    return st.opened > 0 || st.live > 0 || atomic_load(&sl_count.untracked) > 0;
}

void sl_report_note_start(void)
{
    start_ns = sl_now_ns();
}

static uint32_t keep_str(struct sl_report *r, const char *s)
{
    if (!s || !*s)
        return SL_NO_STR;
    uint32_t off = (uint32_t)r->strings.len;
    sl_buf_put(&r->strings, s, strlen(s) + 1);
    return r->strings.failed ? SL_NO_STR : off;
}

static int cmp_fd(const void *a, const void *b)
{
    const struct sl_rec_info *x = a, *y = b;
    return (x->fd > y->fd) - (x->fd < y->fd);
}

static bool is_tcp(const struct sl_rec_info *i)
{
    return (i->family == AF_INET || i->family == AF_INET6) && i->type == SOCK_STREAM
        && (i->proto == 0 || i->proto == IPPROTO_TCP || i->proto == 262 /* MPTCP */);
}

static bool is_unix_stream(const struct sl_rec_info *i)
{
    return i->family == AF_UNIX && (i->type == SOCK_STREAM || i->type == SOCK_SEQPACKET);
}

static int count_fd(int fd, void *arg)
{
    (void)fd;
    (*(long *)arg)++;
    return 0;
}

/* What a ticket needs besides the sockets: kernel, limits, the TCP knobs that decide
 * how long leaked connections linger. */
/* the TCP knobs, read once per process (the first report, or sl_report_warm) */
static struct sl_renv knobs_cache;
static bool knobs_read;

static void collect_env(struct sl_renv *env)
{
    struct utsname u;
    if (uname(&u) == 0) {
        snprintf(env->kernel, sizeof(env->kernel), "%s %s %s", u.sysname, u.release, u.machine);
        snprintf(env->hostname, sizeof(env->hostname), "%s", u.nodename);
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        env->nofile_soft = rl.rlim_cur == RLIM_INFINITY ? -1 : (long)rl.rlim_cur;
        env->nofile_hard = rl.rlim_max == RLIM_INFINITY ? -1 : (long)rl.rlim_max;
    }
    env->open_fds = sl_probe_count_fds(); /* the kernel's count; else a walk of /proc/PID/fd */
    if (env->open_fds < 0) {
        env->open_fds = 0;
        sl_probe_each_fd(count_fd, &env->open_fds);
    }
    struct sl_trigger_info t;
    sl_trigger_info(&t);
    env->threshold_fds = t.threshold_fds;
    if (knobs_read) {
        env->nsysctl = knobs_cache.nsysctl;
        memcpy(env->sysctl, knobs_cache.sysctl, sizeof(env->sysctl));
        return;
    }
    static const char *const knobs[] = {
        "/proc/sys/net/ipv4/tcp_fin_timeout",    "/proc/sys/net/ipv4/tcp_keepalive_time",
        "/proc/sys/net/ipv4/tcp_keepalive_intvl", "/proc/sys/net/ipv4/tcp_keepalive_probes",
        "/proc/sys/net/ipv4/tcp_max_orphans",     "/proc/sys/net/ipv4/tcp_tw_reuse",
        "/proc/sys/net/ipv4/ip_local_port_range", "/proc/sys/net/core/somaxconn",
        "/proc/sys/fs/file-max",
    };
    char bufs[SL_ARRAY_LEN(knobs)][64];
    long lens[SL_ARRAY_LEN(knobs)];
    sl_aside_read_many(knobs, SL_ARRAY_LEN(knobs), bufs, lens);
    for (size_t k = 0; k < SL_ARRAY_LEN(knobs) && env->nsysctl < (int)SL_ARRAY_LEN(env->sysctl); k++) {
        if (lens[k] <= 0)
            continue;
        /* "32768\t60999\n" -> "32768 60999" */
        char *o = env->sysctl[env->nsysctl].value;
        size_t w = 0;
        for (char *p = bufs[k]; *p && w + 1 < sizeof(env->sysctl[0].value); p++) {
            bool space = *p == '\t' || *p == ' ' || *p == '\n';
            if (space && (w == 0 || o[w - 1] == ' '))
                continue;
            o[w++] = space ? ' ' : *p;
        }
        while (w && o[w - 1] == ' ')
            w--;
        o[w] = '\0';
        const char *name = strrchr(knobs[k], '/');
        env->sysctl[env->nsysctl++].name = name ? name + 1 : knobs[k];
    }
    if (env->nsysctl) {
        knobs_cache.nsysctl = env->nsysctl;
        memcpy(knobs_cache.sysctl, env->sysctl, sizeof(env->sysctl));
        knobs_read = true;
    }
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

int sl_report_collect(struct sl_report *r, int reason)
{
    memset(r, 0, sizeof(*r));
    r->reason = reason;
    r->pid = getpid();
    r->ppid = getppid();
    sl_buf_init(&r->strings);
    r->mono_ns = sl_now_ns();
    clock_gettime(CLOCK_REALTIME, &r->wall);
    r->uptime_ns = start_ns ? r->mono_ns - start_ns : 0;
    r->since_previous_ns = prev.done ? r->mono_ns - prev.at_ns : -1;
    struct sl_rec_info *snap = NULL;
    long n = sl_fd_snapshot(&snap);
    if (n < 0) {
        r->truncated = true;
        n = 0;
    }
    if (n > 1)
        qsort(snap, (size_t)n, sizeof(*snap), cmp_fd);
    r->socks = sl_big_calloc((size_t)(n ? n : 1), sizeof(*r->socks));
    if (!r->socks || r->truncated) {
        /* no memory for the sockets: the totals still come from the registry
         * (unchecked against the kernel) and the counters, never a false 0 */
        sl_big_free(snap);
        r->truncated = true;
        sl_fd_stats(&r->stats);
        r->live = r->stats.live;
        r->untracked = atomic_load(&sl_count.untracked);
        r->nomem = atomic_load(&sl_count.nomem);
        r->reentrant = atomic_load(&sl_count.reentrant);
        r->stack_overflow = sl_stack_overflow();
        return -ENOMEM;
    }

    for (long k = 0; k < n; k++) {
        struct sl_rec_info *i = &snap[k];
        uint64_t dev = 0, ino = 0;
        int pr = sl_probe_inode(i->fd, &dev, &ino);
        if (pr == -EBADF || pr == -ENOTSOCK || (pr == 0 && i->ino && (i->ino != ino || i->dev != dev))) {
            sl_fd_drop_stale(i->fd, i->gen); /* closed (and maybe reused) behind our back */
            r->dropped_now++;
            continue;
        }
        /* any other failure (the shim's thread out of fds, say) proves nothing: the
         * socket is reported as the registry knows it */
        if (pr == 0 && !i->ino) {
            i->dev = dev, i->ino = ino;
            sl_fd_set_inode(i->fd, i->gen, dev, ino);
        }
        sl_fd_learn_meta(i);
        struct sl_rsock *s = &r->socks[r->nsocks];
        s->rec = *i;
        s->close_wait_ns = s->peer_closed_ns = s->idle_ns = -1;
        s->age_ns = r->mono_ns - i->created_ns;
        int64_t since = 0;
        if (is_tcp(i)) {
            struct sl_tcp t;
            if (sl_probe_tcp(i->fd, &t) == 0) {
                if (!sl_fd_observe(i->fd, i->gen, t.state, r->mono_ns - (int64_t)t.last_ack_recv_ms * SL_MS,
                                   r->mono_ns, &since)) {
                    r->dropped_now++; /* closed while we looked */
                    continue;
                }
                s->state = t.state;
                s->listening = t.state == TCP_LISTEN;
                if (t.state == TCP_CLOSE_WAIT)
                    s->close_wait_ns = r->mono_ns - since;
                if (!s->listening)
                    s->idle_ns = (int64_t)(t.last_data_recv_ms < t.last_data_sent_ms ? t.last_data_recv_ms
                                                                                       : t.last_data_sent_ms)
                               * SL_MS;
            }
        } else {
            s->listening = sl_probe_listening(i->fd);
            if (is_unix_stream(i) && !s->listening) {
                bool closed = sl_probe_peer_closed(i->fd);
                if (!sl_fd_observe(i->fd, i->gen, closed ? SL_STATE_PEER_CLOSED : SL_STATE_OPEN, r->mono_ns,
                                   r->mono_ns, &since)) {
                    r->dropped_now++;
                    continue;
                }
                if (closed)
                    s->peer_closed_ns = r->mono_ns - since;
            }
        }
        struct sockaddr_storage ss;
        socklen_t len;
        char text[256];
        s->local = s->peer = SL_NO_STR;
        if (sl_probe_addr(i->fd, false, &ss, &len) == 0) {
            sl_format_sockaddr((struct sockaddr *)&ss, len, text, sizeof(text));
            s->local = keep_str(r, text);
        }
        if (sl_probe_addr(i->fd, true, &ss, &len) == 0) {
            sl_format_sockaddr((struct sockaddr *)&ss, len, text, sizeof(text));
            s->peer = keep_str(r, text);
        } else if (i->peer.family) { /* connect() failed or is in progress: the address it was aimed at */
            sl_addr_to_sockaddr(&i->peer, &ss, &len);
            sl_format_sockaddr((struct sockaddr *)&ss, len, text, sizeof(text));
            s->peer = keep_str(r, text);
        }
        s->leak = sl_report_classify(s);
        r->nsocks++;
    }
    sl_big_free(snap);
    sl_fd_stats(&r->stats);
    r->untracked = atomic_load(&sl_count.untracked);
    r->nomem = atomic_load(&sl_count.nomem);
    r->reentrant = atomic_load(&sl_count.reentrant);
    r->unseen_found = atomic_load(&sl_count.unseen_found);
    r->unseen_closed = atomic_load(&sl_count.unseen_closed);
    r->scm_rights = atomic_load(&sl_count.scm_rights);
    r->late_total = atomic_load(&sl_count.closed_late);
    r->dclose_total = atomic_load(&sl_count.double_closes);
    r->stack_overflow = sl_stack_overflow();
    sl_trigger_limits(); /* the program may have changed RLIMIT_NOFILE */
    sl_trigger_info(&r->trigger);
    collect_env(&r->env);
    if (r->strings.failed)
        r->truncated = true;
    return sl_report_group(r);
}

/* ---- grouping ---- */

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++) {
        h ^= c[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

/* A stack's fingerprint: where each frame is inside its module (build-id, or the
 * module's file name when it has none, and the module offset). Independent of ASLR,
 * of the host and of the install path, so the same leak has the same id everywhere. */
static void fingerprint(const struct sl_frame *f, int n, char *out)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (int i = 0; i < n; i++) {
        const char *mod = f[i].build_id;
        if (!mod && f[i].module) {
            mod = strrchr(f[i].module, '/');
            mod = mod ? mod + 1 : f[i].module;
        }
        if (!mod)
            mod = "?";
        h = fnv(h, mod, strlen(mod) + 1);
        uint64_t off = f[i].module ? (uint64_t)f[i].module_offset : (uint64_t)f[i].ip;
        h = fnv(h, &off, sizeof(off));
    }
    snprintf(out, 24, "%016llx", (unsigned long long)h);
}

static int cmp_group(const void *a, const void *b)
{
    const struct sl_rgroup *x = a, *y = b;
    if ((x->count == 0) != (y->count == 0))
        return x->count == 0 ? 1 : -1;
    if (x->leaked != y->leaked)
        return x->leaked > y->leaked ? -1 : 1;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return (x->first > y->first) - (x->first < y->first);
}

struct interner {
    struct sl_report *r;
    uint32_t *map;  /* stack id -> rstack index + 1 (0 = not yet) */
    uint32_t maxid;
    size_t cap;     /* room in r->stacks / r->groups */
};

/* Index in r->stacks of internal stack sid, symbolizing it on first use. Returns
 * SL_NO_STR if memory ran out. */
static uint32_t intern_rstack(struct interner *in, uint32_t sid)
{
    struct sl_report *r = in->r;
    if (sid > in->maxid)
        sid = 0;
    if (in->map[sid])
        return in->map[sid] - 1;
    if (r->nstacks == in->cap) {
        size_t ncap = in->cap * 2 + 8;
        struct sl_rstack *ns = sl_big_realloc(r->stacks, ncap * sizeof(*ns));
        if (!ns)
            return SL_NO_STR;
        r->stacks = ns;
        struct sl_rgroup *ng = sl_big_realloc(r->groups, ncap * sizeof(*ng));
        if (!ng)
            return SL_NO_STR;
        r->groups = ng;
        in->cap = ncap;
    }
    struct sl_rstack tmp = { .nframes = 0, .suppressed_by = -2 };
    const struct sl_stack *st = sl_stack_get(sid);
    if (st) {
        tmp.frames = calloc(st->depth, sizeof(struct sl_frame));
        if (tmp.frames) {
            tmp.nframes = st->depth;
            for (int f = 0; f < st->depth; f++)
                sl_symbolize(&r->mods, st->ip[f], st->ip[f] - 1, &tmp.frames[f]);
        }
        fingerprint(tmp.frames, tmp.nframes, tmp.id);
    } else {
        strcpy(tmp.id, "none");
    }
    size_t idx = r->nstacks;
    for (size_t j = 0; j < r->nstacks; j++)
        if (!strcmp(r->stacks[j].id, tmp.id)) { /* same code loaded twice: one stack */
            idx = j;
            free(tmp.frames);
            break;
        }
    if (idx == r->nstacks) {
        r->stacks[r->nstacks++] = tmp;
        struct sl_rgroup *g = &r->groups[idx];
        memset(g, 0, sizeof(*g));
        g->stack = (uint32_t)idx;
        g->first = UINT32_MAX;
        g->cw_min_ns = g->cw_max_ns = -1;
    }
    in->map[sid] = (uint32_t)idx + 1;
    return (uint32_t)idx;
}

static int cmp_growth(const void *a, const void *b)
{
    const struct sl_rgrowth *x = a, *y = b;
    long nx = x->added - x->removed, ny = y->added - y->removed;
    if (nx != ny)
        return nx > ny ? -1 : 1;
    nx = x->added_total - x->removed_total, ny = y->added_total - y->removed_total;
    return (nx < ny) - (nx > ny);
}

/* growth per stack since the previous report, from the stack table's counters */
static void group_growth(struct interner *in)
{
    struct sl_report *r = in->r;
    uint32_t n = sl_stack_max_id();
    long *o = calloc((size_t)n + 1, sizeof(long)), *c = calloc((size_t)n + 1, sizeof(long));
    r->growth = calloc((size_t)n + 1, sizeof(*r->growth));
    if (!o || !c || !r->growth) {
        free(o);
        free(c);
        r->truncated = true;
        return;
    }
    for (uint32_t id = 0; id <= n; id++) {
        sl_stack_counts(id, &o[id], &c[id]);
        long po = prev.done && id <= prev.n ? prev.opened[id] : 0;
        long pc = prev.done && id <= prev.n ? prev.closed[id] : 0;
        /* stacks that did something since the previous report, or still hold sockets */
        if (o[id] == po && c[id] == pc && o[id] <= c[id])
            continue;
        uint32_t st = intern_rstack(in, id);
        if (st == SL_NO_STR)
            continue;
        /* the same fingerprint twice (code loaded twice): add up */
        struct sl_rgrowth *g = NULL;
        for (size_t k = 0; k < r->ngrowth; k++)
            if (r->growth[k].stack == st)
                g = &r->growth[k];
        if (!g) {
            g = &r->growth[r->ngrowth++];
            g->stack = st;
        }
        g->added += o[id] - po;
        g->removed += c[id] - pc;
        g->added_total += o[id];
        g->removed_total += c[id];
    }
    qsort(r->growth, r->ngrowth, sizeof(*r->growth), cmp_growth);
    free(prev.opened);
    free(prev.closed);
    prev.opened = o;
    prev.closed = c;
    prev.n = n;
    prev.done = true;
    prev.at_ns = r->mono_ns;
}

static void group_events(struct interner *in)
{
    struct sl_report *r = in->r;
    struct sl_late late[256];
    size_t nl = sl_fd_take_closed_late(late, SL_ARRAY_LEN(late), &r->late_lost);
    r->late = calloc(nl + 1, sizeof(*r->late));
    for (size_t k = 0; r->late && k < nl; k++) {
        uint32_t st = intern_rstack(in, late[k].stack);
        if (st == SL_NO_STR)
            continue;
        r->late[r->nlate].ev = late[k];
        r->late[r->nlate++].stack = st;
    }
    struct sl_dclose dc[256];
    size_t nd = sl_fd_take_double_closes(dc, SL_ARRAY_LEN(dc), &r->dclose_lost);
    r->dclose = calloc(nd + 1, sizeof(*r->dclose));
    for (size_t k = 0; r->dclose && k < nd; k++) {
        uint32_t st = intern_rstack(in, dc[k].stack);
        if (st == SL_NO_STR)
            continue;
        struct sl_rdclose *d = NULL;
        for (size_t j = 0; j < r->ndclose; j++)
            if (r->dclose[j].stack == st)
                d = &r->dclose[j];
        if (!d) {
            d = &r->dclose[r->ndclose++];
            d->stack = st;
            d->fd = dc[k].fd;
        }
        d->count++;
    }
}

/* glibc's own libraries (libc, the dynamic loader, and the libraries folded into libc
 * since 2.34): their frames start every stack (__libc_start_main, start_thread) and
 * are never where a socket leaks, while their debug information, when installed
 * (libc6-dbg), takes some 40 ms and 17 MB to decompress. Function names suffice. */
bool sl_module_is_glibc(const char *path)
{
    if (!path)
        return false;
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    static const char *const names[] = { "libc.so.", "ld-linux", "libpthread.so.", "libdl.so.", "librt.so.",
                                         "libm.so.", "libresolv.so.", "libanl.so.", "libutil.so." };
    for (size_t i = 0; i < SL_ARRAY_LEN(names); i++)
        if (!strncmp(b, names[i], strlen(names[i])))
            return true;
    return false;
}

/* file:line for every frame of the report (glibc's aside), in one batch */
static void add_source_lines(struct sl_report *r)
{
    size_t n = 0;
    for (size_t j = 0; j < r->nstacks; j++)
        n += (size_t)r->stacks[j].nframes;
    struct sl_frame **frames = malloc((n + 1) * sizeof(*frames));
    uintptr_t *addr = malloc((n + 1) * sizeof(*addr));
    if (frames && addr) {
        size_t k = 0;
        for (size_t j = 0; j < r->nstacks; j++)
            for (int f = 0; f < r->stacks[j].nframes; f++) {
                if (sl_module_is_glibc(r->stacks[j].frames[f].module))
                    continue;
                frames[k] = &r->stacks[j].frames[f];
                addr[k++] = r->stacks[j].frames[f].ip - 1;
            }
        sl_srcline_fill(frames, addr, k);
    }
    free(frames);
    free(addr);
}

int sl_report_group(struct sl_report *r)
{
    if (!r->mods.mods) {
        sl_modmap_build(&r->mods);
    }
    struct interner in = { .r = r, .maxid = sl_stack_max_id() };
    for (size_t k = 0; k < r->nsocks; k++) {
        if (r->socks[k].rec.stack > in.maxid)
            in.maxid = r->socks[k].rec.stack;
        if (r->socks[k].rec.orig_stack > in.maxid)
            in.maxid = r->socks[k].rec.orig_stack;
    }
    /* every stack interned is one of 0..maxid: room for all, or for two per socket if
     * that is less (the arrays grow if events bring more) */
    in.cap = 2 * r->nsocks + 16 < (size_t)in.maxid + 2 ? 2 * r->nsocks + 16 : (size_t)in.maxid + 2;
    in.map = sl_big_calloc((size_t)in.maxid + 1, sizeof(uint32_t));
    r->stacks = sl_big_calloc(in.cap, sizeof(*r->stacks));
    r->groups = sl_big_calloc(in.cap, sizeof(*r->groups));
    if (!in.map || !r->stacks || !r->groups) {
        sl_big_free(in.map);
        r->truncated = true;
        r->nsocks = 0;
        return -ENOMEM;
    }
    /* suppressions first: suppressed sockets leave the report, and are only counted */
    sl_suppress_load();
    size_t nrules = sl_suppress_count();
    if (nrules && !r->suppressed_by)
        r->suppressed_by = calloc(nrules, sizeof(long));
    size_t kept = 0;
    for (size_t k = 0; k < r->nsocks; k++) {
        struct sl_rsock *s = &r->socks[k];
        uint32_t gi = intern_rstack(&in, s->rec.stack);
        if (gi == SL_NO_STR) {
            r->truncated = true;
            break;
        }
        int rule = -1;
        if (nrules) {
            struct sl_rstack *st = &r->stacks[gi];
            if (st->suppressed_by == -2)
                st->suppressed_by = sl_suppress_stack(st->frames, st->nframes, st->id);
            rule = st->suppressed_by >= 0 ? st->suppressed_by
                                          : sl_suppress_addr(sl_rstr(r, s->local), sl_rstr(r, s->peer));
        }
        if (rule >= 0) {
            r->suppressed++;
            if (r->suppressed_by)
                r->suppressed_by[rule]++;
            continue;
        }
        r->socks[kept++] = *s;
    }
    r->nsocks = kept;
    r->live = r->close_wait = r->peer_closed = r->leaked = r->listening = r->unseen_live = r->ignored = 0;
    memset(r->leaks, 0, sizeof(r->leaks));
    for (size_t k = 0; k < r->nsocks; k++) {
        struct sl_rsock *s = &r->socks[k];
        uint32_t gi = intern_rstack(&in, s->rec.stack);
        r->live++;
        r->close_wait += s->state == TCP_CLOSE_WAIT;
        r->peer_closed += s->peer_closed_ns >= 0;
        r->leaked += s->leak != SL_LEAK_NONE;
        r->leaks[s->leak]++;
        r->listening += s->listening;
        r->ignored += s->rec.ignored;
        r->unseen_live += s->rec.origin == SL_ORIGIN_UNSEEN;
        if (s->leak && s->leak != s->rec.reported_leak) /* a later close will be a late close */
            sl_fd_mark_reported(s->rec.fd, s->rec.gen, s->leak, r->mono_ns);
        s->orig_stack = s->rec.origin == SL_ORIGIN_DUP && s->rec.orig_stack ? intern_rstack(&in, s->rec.orig_stack)
                                                                            : SL_NO_STR;
        struct sl_rgroup *g = &r->groups[gi];
        s->group = gi;
        if (g->first == UINT32_MAX) {
            g->first = (uint32_t)k;
            g->origin = s->rec.origin;
        }
        g->count++;
        g->ignored += s->rec.ignored;
        if (s->leak) {
            g->leaked++;
            g->leaks[s->leak]++;
        }
        g->states[s->state > 0 && s->state < SL_TCP_STATES ? s->state : 0]++;
        if (s->age_ns > g->oldest_ns)
            g->oldest_ns = s->age_ns;
        int64_t half = s->close_wait_ns >= 0 ? s->close_wait_ns : s->peer_closed_ns;
        if (half >= 0) {
            if (s->close_wait_ns >= 0)
                g->close_wait++;
            else
                g->peer_closed++;
            if (g->cw_min_ns < 0 || half < g->cw_min_ns)
                g->cw_min_ns = half;
            if (half > g->cw_max_ns)
                g->cw_max_ns = half;
        }
    }
    group_growth(&in);
    group_events(&in);
    sl_big_free(in.map);
    add_source_lines(r);
    /* most leaked first, stacks without live sockets last and not listed as groups;
     * then remap sockets to the sorted order */
    r->ngroups = r->nstacks;
    uint32_t *perm = sl_big_alloc((r->ngroups + 1) * sizeof(uint32_t));
    if (!perm)
        return 0; /* unsorted but correct */
    qsort(r->groups, r->ngroups, sizeof(*r->groups), cmp_group);
    for (size_t j = 0; j < r->ngroups; j++)
        perm[r->groups[j].stack] = (uint32_t)j;
    for (size_t k = 0; k < r->nsocks; k++)
        r->socks[k].group = perm[r->socks[k].group];
    sl_big_free(perm);
    while (r->ngroups && r->groups[r->ngroups - 1].count == 0)
        r->ngroups--;
    return 0;
}

void sl_report_free(struct sl_report *r)
{
    for (size_t j = 0; j < r->nstacks; j++)
        free(r->stacks[j].frames);
    sl_big_free(r->stacks);
    sl_big_free(r->groups);
    sl_big_free(r->socks);
    free(r->growth);
    free(r->late);
    free(r->dclose);
    free(r->suppressed_by);
    sl_buf_free(&r->strings);
    sl_modmap_free(&r->mods);
    memset(r, 0, sizeof(*r));
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

/* ---- delivery ---- */

static int write_all(int fd, const char *p, size_t n)
{
    int l = sl_hostfd_get(fd); /* the host's stderr or stdout */
    if (l < 0)
        return l;
    int r = 0;
    while (n > 0) {
        ssize_t w = (ssize_t)syscall(SYS_write, l, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            r = w < 0 ? -errno : -EIO;
            break;
        }
        p += w;
        n -= (size_t)w;
    }
    sl_hostfd_put(l);
    return r;
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

static int write_fd(int fd, const char *data, size_t len)
{
    int r = write_all(fd, data, len);
    if (r == 0)
        atomic_fetch_add(&sl_reports_written, 1);
    return r;
}

/* Append to a file (aside: no fd of ours), refusing links and other users' files. */
static int append_file(const char *path, const char *data, size_t len, const char **why)
{
    int r = sl_aside_append(path, data, len);
    if (r == 0)
        atomic_fetch_add(&sl_reports_written, 1);
    else
        *why = r == -ELOOP   ? "it is a symbolic link"
             : r == -EPERM ? "it belongs to another user"
             : r == -ENXIO ? "it is a FIFO nobody reads"
                           : strerror(-r);
    return r;
}

/* stderr, unless it is gone or a network socket (never write there): then a file */
static int to_stderr(const char *data, size_t len)
{
    if (sl_fd_safe_for_text(2))
        return write_fd(2, data, len);
    char path[256];
    const char *tmp = getenv("TMPDIR"), *why;
    snprintf(path, sizeof(path), "%s/sockleak.%d.log", tmp && *tmp == '/' ? tmp : "/tmp", (int)getpid());
    return append_file(path, data, len, &why);
}

int sl_report_output(const char *data, size_t len)
{
    static _Atomic int warned;
    int saved = errno, r;
    const char *lp = sl_opt.log_path;
    if (!strcmp(lp, "stderr") || !strcmp(lp, "-")) {
        r = to_stderr(data, len);
    } else if (!strcmp(lp, "stdout")) {
        r = sl_fd_safe_for_text(1) ? write_fd(1, data, len) : to_stderr(data, len);
    } else {
        char path[sizeof(sl_opt.log_path) + 32];
        const char *why = "";
        sl_expand_path(lp, path, sizeof(path));
        r = append_file(path, data, len, &why);
        if (r != 0) {
            if (!atomic_exchange(&warned, 1))
                sl_log("cannot write reports to '%s' (%s); writing them to stderr", path, why);
            r = to_stderr(data, len);
        }
    }
    errno = saved;
    return r;
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
                     "\"timestamp\":\"%s\",\"summary\":{\"live\":%ld,\"close_wait\":%ld,\"leaked\":%ld,"
                     "\"listening\":%ld,\"opened\":%ld,\"closed\":%ld},\"coverage\":{\"untracked\":%ld,"
                     "\"untracked_nomem\":%ld,\"closed_behind_back\":%ld,\"truncated\":true},"
                     "\"sockets\":[],\"stacks\":[],\"groups\":[]}\n",
                     SL_VERSION, (int)r->pid, (int)r->ppid, sl_reason_name(r->reason), ts, (long)r->live,
                     (long)r->close_wait, (long)r->leaked, (long)r->listening, r->stats.opened, r->stats.closed,
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

int sl_report_write(int reason)
{
    int saved = errno;
    sl_guard_enter();
    pthread_mutex_lock(&report_lock);
    struct sl_report r;
    sl_report_collect(&r, reason);
    struct sl_buf out;
    sl_buf_init(&out);
    if (sl_opt.format == SL_FMT_JSON)
        sl_report_format_json(&r, &out);
    else
        sl_report_format_text(&r, &out);
    int ret;
    if (out.failed || !out.data) {
        /* never write half a report (a torn JSON line): its totals instead */
        char small[1024];
        r.truncated = true;
        ret = sl_report_output(small, format_minimal(&r, small, sizeof(small)));
    } else {
        ret = sl_report_output(out.data, out.len);
    }
    sl_metrics_report(&r);
    sl_syslog_report(&r);
    sl_buf_free(&out);
    sl_report_free(&r);
    pthread_mutex_unlock(&report_lock);
    sl_guard_leave();
    errno = saved;
    return ret;
}

/* ---- getting ready: load now what a report written when the process is out of fds
 * would otherwise have to read then (files are read aside, so that works anyway; but
 * earlier is cheaper, and the TCP knobs are read once) ---- */

static uint32_t warmed_stacks;

void sl_report_warm(void)
{
    pthread_mutex_lock(&report_lock);
    if (!knobs_read) {
        struct sl_renv env;
        memset(&env, 0, sizeof(env));
        collect_env(&env);
    }
    uint32_t n = sl_stack_max_id();
    if (n > warmed_stacks) {
        sl_symbolize_warm(warmed_stacks + 1, n); /* symbol tables of the modules new stacks run in */
        warmed_stacks = n;
    }
    pthread_mutex_unlock(&report_lock);
}

void sl_report_after_fork_child(bool locked)
{
    /* The lock is recursive, so it knows its owner, the parent's forking thread: the
     * child's thread cannot unlock it, it starts afresh. If the fork could not wait for
     * it (a fork from a signal handler inside the shim), a report the parent was
     * writing is abandoned here. The parent's notion of "previous" is not ours. */
    (void)locked;
    pthread_mutex_t fresh = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
    report_lock = fresh;
    prev.done = false;
}
