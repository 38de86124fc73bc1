/*
 * collect.c - a report's model, from the registry checked against the kernel.
 *
 * Collecting never trusts the registry alone. Each entry of a snapshot is checked
 * against the kernel before it is reported: fstat must still show a socket with the
 * inode recorded (otherwise the fd was closed behind the shim's back, by fclose() or a
 * raw syscall, and the entry is dropped from the report and from the table), and the
 * TCP state is read again, so a report never lists a socket that is not open at that
 * moment and never says CLOSE_WAIT about a socket that left it. Probes run without
 * locks; write-backs are matched by generation number.
 *
 * Each connected stream socket also says how many bytes it received that were never
 * read (SIOCINQ). A scoped report (sockleak_report_since) takes only the records made
 * since a checkpoint, and keeps the sockets sockleak_open_since counts.
 *
 * A socket counts as leaked (model.c, sl_report_classify) unless the program marked it
 * long-lived with sockleak_ignore. Leaked sockets are marked in the registry (group.c),
 * so that closing one later is reported as a late close.
 *
 * Besides the sockets, the environment a ticket needs: kernel, limits, open fds and
 * the TCP knobs that decide how long leaked connections linger (read once).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "report.h"

void sl_report_begin(struct sl_report *r, int reason)
{
    memset(r, 0, sizeof(*r));
    r->reason = reason;
    r->pid = getpid();
    r->ppid = getppid();
    r->opt = sl_opt;
    snprintf(r->program, sizeof(r->program), "%s", sl_program);
    r->unwinder = sl_stack_unwinder();
    sl_buf_init(&r->strings);
    r->mono_ns = sl_now_ns();
    clock_gettime(CLOCK_REALTIME, &r->wall);
    r->uptime_ns = sl_start_ns ? r->mono_ns - sl_start_ns : 0;
    r->attached = sl_attached;
    r->since_previous_ns = -1;
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
    sl_iochild_read_many(knobs, SL_ARRAY_LEN(knobs), bufs, lens);
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


void sl_report_env_warm(void)
{
    if (!knobs_read) {
        struct sl_renv env;
        memset(&env, 0, sizeof(env));
        collect_env(&env);
    }
}

static int collect(struct sl_report *r, int reason, bool scoped, uint64_t cp)
{
    sl_report_begin(r, reason);
    r->scoped = scoped;
    r->checkpoint = cp;
    struct sl_rec_info *snap = NULL;
    long n = sl_fd_snapshot_since(scoped ? cp : 0, &snap);
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
        r->late_total = atomic_load(&sl_count.closed_late);
        return -ENOMEM;
    }

    for (long k = 0; k < n; k++) {
        struct sl_rec_info *i = &snap[k];
        uint64_t dev = 0, ino = 0;
        int pr = sl_fd_recheck(i, &dev, &ino);
        if (pr == -ESTALE) { /* closed (and maybe reused) behind our back: dropped */
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
        s->close_wait_ns = s->peer_closed_ns = s->idle_ns = s->unread = -1;
        s->eof = SL_NO_STR;
        s->age_ns = r->mono_ns - i->created_ns;
        int64_t since = 0;
        if (sl_rec_is_tcp(i)) {
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
                s->idle_ns = sl_tcp_idle_ns(&t, s->age_ns);
            }
        } else {
            s->listening = sl_probe_listening(i->fd);
            if (sl_rec_is_unix_stream(i) && !s->listening) {
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
        if (scoped && (s->listening || i->ignored))
            continue; /* not what sockleak_open_since counts */
        long unread;
        if (i->type == SOCK_STREAM && !s->listening && sl_probe_unread(i->fd, &unread) == 0)
            s->unread = unread;
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
    sl_unwind_stats(&r->unwind_fast, &r->unwind_fallback, &r->unwind_mismatch);
    sl_trigger_limits(); /* the program may have changed RLIMIT_NOFILE */
    sl_trigger_info(&r->trigger);
    collect_env(&r->env);
    if (r->strings.failed)
        r->truncated = true;
    return sl_report_group(r);
}

int sl_report_collect(struct sl_report *r, int reason)
{
    return collect(r, reason, false, 0);
}

int sl_report_collect_since(struct sl_report *r, int reason, uint64_t cp)
{
    return collect(r, reason, true, cp);
}
