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
 * Reports are serialized by report_lock, built whole in memory and handed to
 * sl_report_output(), which appends them to log_path with one write() per chunk.
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
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "report.h"

static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;
_Atomic long sl_reports_written;
static int64_t start_ns;

const char *sl_reason_name(int reason)
{
    static const char *names[] = { "exit", "signal", "emfile", "threshold", "api", "interval" };
    return reason >= 0 && (size_t)reason < SL_ARRAY_LEN(names) ? names[reason] : "api";
}

const char *sl_leak_name(int leak)
{
    return leak == SL_LEAK_CLOSE_WAIT ? "close_wait" : NULL;
}

const char *sl_origin_name(int origin)
{
    switch (origin) {
    case SL_ORIGIN_SOCKET: return "socket";
    case SL_ORIGIN_SOCKETPAIR: return "socketpair";
    case SL_ORIGIN_ACCEPT: return "accept";
    case SL_ORIGIN_DUP: return "dup";
    case SL_ORIGIN_INHERITED: return "inherited";
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
    struct sl_rec_info *snap = NULL;
    long n = sl_fd_snapshot(&snap);
    if (n < 0) {
        r->truncated = true;
        n = 0;
    }
    if (n > 1)
        qsort(snap, (size_t)n, sizeof(*snap), cmp_fd);
    r->socks = calloc((size_t)(n ? n : 1), sizeof(*r->socks));
    if (!r->socks || r->truncated) {
        /* no memory for the sockets: the totals still come from the registry
         * (unchecked against the kernel) and the counters, never a false 0 */
        free(snap);
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
        uint64_t dev, ino;
        if (sl_probe_inode(i->fd, &dev, &ino) != 0 || (i->ino && (i->ino != ino || i->dev != dev))) {
            sl_fd_drop_stale(i->fd, i->gen); /* closed (and maybe reused) behind our back */
            r->dropped_now++;
            continue;
        }
        if (!i->ino) {
            i->dev = dev, i->ino = ino;
            sl_fd_set_inode(i->fd, i->gen, dev, ino);
        }
        if (!i->family || !i->type) {
            int fam = 0, type = 0, proto = 0;
            if (sl_probe_meta(i->fd, &fam, &type, &proto) == 0) {
                i->family = (uint16_t)fam, i->type = (uint8_t)type, i->proto = (uint16_t)proto;
                sl_fd_set_meta(i->fd, i->gen, fam, type, proto);
            }
        }
        struct sl_rsock *s = &r->socks[r->nsocks];
        s->rec = *i;
        s->close_wait_ns = -1;
        s->age_ns = r->mono_ns - i->created_ns;
        if (is_tcp(i)) {
            struct sl_tcp t;
            int64_t cw = 0;
            if (sl_probe_tcp(i->fd, &t) == 0) {
                int state = t.state;
                int64_t since = r->mono_ns - (int64_t)t.last_ack_recv_ms * SL_MS;
                if (!sl_fd_observe(i->fd, i->gen, state, since, r->mono_ns, &cw)) {
                    r->dropped_now++; /* closed while we looked */
                    continue;
                }
                s->state = state;
                if (state == TCP_CLOSE_WAIT) {
                    s->close_wait_ns = r->mono_ns - cw;
                    if (s->close_wait_ns >= sl_opt.close_wait_after)
                        s->leak = SL_LEAK_CLOSE_WAIT;
                }
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
        r->live++;
        if (s->state == TCP_CLOSE_WAIT)
            r->close_wait++;
        if (s->leak)
            r->leaked++;
        if (s->state == TCP_LISTEN)
            r->listening++;
        r->nsocks++;
    }
    free(snap);
    sl_fd_stats(&r->stats);
    r->untracked = atomic_load(&sl_count.untracked);
    r->nomem = atomic_load(&sl_count.nomem);
    r->reentrant = atomic_load(&sl_count.reentrant);
    r->stack_overflow = sl_stack_overflow();
    if (r->strings.failed)
        r->truncated = true;
    int g = sl_report_group(r);
    return g;
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

/* Index in r->stacks of internal stack sid, symbolizing it on first use. map[sid] is
 * the index + 1 (0 = not yet). Returns SL_NO_STR if memory ran out. */
static uint32_t intern_rstack(struct sl_report *r, uint32_t *map, uint32_t sid)
{
    if (map[sid])
        return map[sid] - 1;
    struct sl_rstack tmp = { .nframes = 0 };
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
        g->stack = (uint32_t)idx;
        g->first = UINT32_MAX;
        g->cw_min_ns = g->cw_max_ns = -1;
    }
    map[sid] = (uint32_t)idx + 1;
    return (uint32_t)idx;
}

int sl_report_group(struct sl_report *r)
{
    if (!r->mods.mods && r->nsocks)
        sl_modmap_build(&r->mods);
    uint32_t maxid = 0;
    for (size_t k = 0; k < r->nsocks; k++) {
        if (r->socks[k].rec.stack > maxid)
            maxid = r->socks[k].rec.stack;
        if (r->socks[k].rec.orig_stack > maxid)
            maxid = r->socks[k].rec.orig_stack;
    }
    /* at most two stacks per socket (its own and, for dups, the original's) */
    uint32_t *map = calloc((size_t)maxid + 1, sizeof(uint32_t));
    r->stacks = calloc(2 * r->nsocks + 1, sizeof(*r->stacks));
    r->groups = calloc(2 * r->nsocks + 1, sizeof(*r->groups));
    if (!map || !r->stacks || !r->groups) {
        free(map);
        r->truncated = true;
        r->nsocks = 0;
        return -ENOMEM;
    }
    for (size_t k = 0; k < r->nsocks; k++) {
        struct sl_rsock *s = &r->socks[k];
        uint32_t gi = intern_rstack(r, map, s->rec.stack);
        s->orig_stack = s->rec.origin == SL_ORIGIN_DUP && s->rec.orig_stack
                            ? intern_rstack(r, map, s->rec.orig_stack) : SL_NO_STR;
        struct sl_rgroup *g = &r->groups[gi];
        s->group = gi;
        if (g->first == UINT32_MAX) {
            g->first = (uint32_t)k;
            g->origin = s->rec.origin;
        }
        g->count++;
        if (s->leak)
            g->leaked++;
        g->states[s->state > 0 && s->state < SL_TCP_STATES ? s->state : 0]++;
        if (s->age_ns > g->oldest_ns)
            g->oldest_ns = s->age_ns;
        if (s->close_wait_ns >= 0) {
            g->close_wait++;
            if (g->cw_min_ns < 0 || s->close_wait_ns < g->cw_min_ns)
                g->cw_min_ns = s->close_wait_ns;
            if (s->close_wait_ns > g->cw_max_ns)
                g->cw_max_ns = s->close_wait_ns;
        }
    }
    free(map);
    /* most leaked first, stacks without sockets (dup originals) last and not listed;
     * then remap sockets to the sorted order */
    r->ngroups = r->nstacks;
    uint32_t *perm = malloc((r->ngroups + 1) * sizeof(uint32_t));
    if (!perm)
        return 0; /* unsorted but correct */
    qsort(r->groups, r->ngroups, sizeof(*r->groups), cmp_group);
    for (size_t j = 0; j < r->ngroups; j++)
        perm[r->groups[j].stack] = (uint32_t)j;
    for (size_t k = 0; k < r->nsocks; k++)
        r->socks[k].group = perm[r->socks[k].group];
    free(perm);
    while (r->ngroups && r->groups[r->ngroups - 1].count == 0)
        r->ngroups--;
    return 0;
}

void sl_report_free(struct sl_report *r)
{
    for (size_t j = 0; j < r->nstacks; j++)
        free(r->stacks[j].frames);
    free(r->stacks);
    free(r->groups);
    free(r->socks);
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
    while (n > 0) {
        ssize_t w = (ssize_t)syscall(SYS_write, fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? -errno : -EIO;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Expand %p (pid) and %% in log_path. */
static void expand_path(const char *tmpl, char *out, size_t len)
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

/* Open path for appending, refusing symlinks and files of other users. Returns a
 * private fd or -errno; *why explains a refusal. O_NONBLOCK for the open only: a FIFO
 * that nobody reads fails (ENXIO) instead of blocking the host's exit forever; it is
 * given a second for its reader to turn up. Writes then block as usual. */
static int open_log(const char *path, const char **why)
{
    int fd = -1;
    for (int tries = 0; tries < 100; tries++) {
        fd = (int)syscall(SYS_openat, AT_FDCWD, path,
                          O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0600);
        if (fd >= 0 || errno != ENXIO)
            break;
        struct timespec ts = { 0, 10 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    if (fd < 0) {
        int e = errno;
        *why = e == ELOOP ? "it is a symbolic link" : e == ENXIO ? "it is a FIFO nobody reads" : strerror(e);
        return -e;
    }
    syscall(SYS_fcntl, fd, F_SETFL, O_WRONLY | O_APPEND);
    fd = sl_privfd_adopt(fd);
    struct stat st;
    if (fstat(fd, &st) != 0 || (S_ISREG(st.st_mode) && st.st_uid != geteuid())) {
        *why = "it belongs to another user";
        sl_privfd_close(fd);
        return -EPERM;
    }
    return fd;
}

static int fallback_fd(bool *close_it)
{
    *close_it = false;
    if (sl_fd_safe_for_text(2))
        return 2;
    /* stderr is gone or is a network socket: never write there; use a file instead */
    char path[256];
    const char *tmp = getenv("TMPDIR");
    snprintf(path, sizeof(path), "%s/sockleak.%d.log", tmp && *tmp == '/' ? tmp : "/tmp", (int)getpid());
    const char *why;
    int fd = open_log(path, &why);
    if (fd >= 0)
        *close_it = true;
    return fd;
}

int sl_report_output(const char *data, size_t len)
{
    static _Atomic int warned;
    int saved = errno, fd = -1, r;
    bool close_it = false;
    const char *lp = sl_opt.log_path;
    if (!strcmp(lp, "stderr") || !strcmp(lp, "-")) {
        fd = fallback_fd(&close_it);
    } else if (!strcmp(lp, "stdout")) {
        if (sl_fd_safe_for_text(1))
            fd = 1;
        else
            fd = fallback_fd(&close_it);
    } else {
        char path[sizeof(sl_opt.log_path) + 32];
        const char *why = "";
        expand_path(lp, path, sizeof(path));
        fd = open_log(path, &why);
        if (fd >= 0) {
            close_it = true;
        } else {
            if (!atomic_exchange(&warned, 1))
                sl_log("cannot write reports to '%s' (%s); writing them to stderr", path, why);
            fd = fallback_fd(&close_it);
        }
    }
    if (fd < 0) {
        errno = saved;
        return fd;
    }
    r = write_all(fd, data, len);
    if (close_it)
        sl_privfd_close(fd);
    if (r == 0)
        atomic_fetch_add(&sl_reports_written, 1);
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
    sl_buf_free(&out);
    sl_report_free(&r);
    pthread_mutex_unlock(&report_lock);
    sl_guard_leave();
    errno = saved;
    return ret;
}

void sl_report_lock_reset(void)
{
    pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
    report_lock = fresh;
}
