/*
 * scanner.c - the background thread: scans, triggered and periodic reports.
 *
 * One thread per process, started when the first socket is tracked (processes that
 * never touch a socket never get it). It sleeps on a futex word. Anything may ask it
 * for a report: the dump-signal handler, a trigger in a wrapper (triggers.c), by
 * setting the reason's bit in `pending` and waking the futex (atomic ops and one
 * system call: async-signal-safe); the thread writes one report per pending reason,
 * so a storm of signals gives reports, never a lost request.
 *
 * Every scan_interval it scans (sl_scan_once):
 *   - the fd table: counts open fds for the triggers (the size the kernel gives
 *     /proc/PID/fd, from Linux 6.2), and walks /proc/PID/fd to adopt sockets that are
 *     open but were never seen created (origin "unseen"). The walk is the dearest part
 *     of a scan (the kernel looks up a cache entry per fd: 1 to 2 us each), so with more
 *     than WALK_ALWAYS fds open it is done when the number of open fds nobody tracks
 *     changed since the last walk, and every WALK_EVERY scans anyway (sockleak_scan()
 *     too: it is the same scan);
 *   - the registry: fills in what creation left out to stay cheap (inode; family and
 *     type of sockets accepted from untracked listeners), drops entries closed behind
 *     the shim's back, and reads the state of each TCP socket: with TCP_INFO per
 *     socket, or, from 1000 TCP sockets on (scan_method), with one NETLINK_SOCK_DIAG
 *     dump of the sockets in CLOSE_WAIT matched by inode; unix stream sockets are
 *     polled for POLLRDHUP (peer closed).
 * Each scan leaves a summary (metrics.c) for sockleak_stats() and metrics_path.
 * Every report_interval it writes a report (reason "interval").
 *
 * The thread blocks every signal, so it never steals one meant for the host, and runs
 * with the guard held, so nothing it does is recorded.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "metrics.h"

static _Atomic uint32_t wake_word;
static _Atomic unsigned pending; /* bit per enum sl_reason */
static _Atomic int started;
static _Atomic int shared_only; /* the process's main thread exited: no table of our own */

#define SOCK_DIAG_FROM 1000 /* TCP sockets from which auto scans use sock_diag */

void sl_scanner_request(int reason)
{
    int saved = errno;
    atomic_fetch_or(&pending, 1u << reason);
    atomic_fetch_add(&wake_word, 1);
    syscall(SYS_futex, &wake_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    errno = saved;
}

void sl_scanner_request_dump(void)
{
    sl_scanner_request(SL_REASON_SIGNAL);
}

static bool is_tcp(const struct sl_rec_info *i)
{
    return (i->family == AF_INET || i->family == AF_INET6) && i->type == SOCK_STREAM
        && (i->proto == 0 || i->proto == IPPROTO_TCP || i->proto == 262);
}

static bool is_unix_stream(const struct sl_rec_info *i)
{
    return i->family == AF_UNIX && (i->type == SOCK_STREAM || i->type == SOCK_SEQPACKET);
}

/* ---- the fd table ---- */

static int visit_fd(int fd, void *arg)
{
    long *open_fds = arg;
    (*open_fds)++;
    if (sl_fd_busy(fd))
        return 0; /* tracked (or ours, or being closed) */
    uint64_t dev, ino;
    int family, type, proto;
    if (sl_probe_inode(fd, &dev, &ino) != 0)
        return 0; /* not a socket */
    if (sl_probe_meta(fd, &family, &type, &proto) != 0)
        family = type = proto = 0;
    sl_fd_unseen(fd, family, type, proto, dev, ino);
    return 0;
}

/* ---- CLOSE_WAIT by sock_diag ---- */

struct ino_set {
    struct sl_cw_entry *v;
    size_t mask;
};

static struct sl_cw_entry *set_find(const struct ino_set *s, uint64_t ino)
{
    for (size_t i = (ino * 0x9e3779b97f4a7c15ull) & s->mask;; i = (i + 1) & s->mask) {
        if (s->v[i].ino == ino)
            return &s->v[i];
        if (!s->v[i].ino)
            return NULL;
    }
}

/* Hash the CLOSE_WAIT sockets of the namespace by inode. false if sock_diag failed. */
static bool close_wait_set(struct ino_set *set, long tracked_tcp, unsigned families)
{
    size_t cap = tracked_tcp * 2 > 4096 ? (size_t)tracked_tcp * 2 : 4096;
    struct sl_cw_entry *list = NULL;
    long n = -ENOBUFS;
    for (int tries = 0; tries < 3 && n == -ENOBUFS; tries++, cap *= 8) {
        sl_big_free(list);
        list = sl_big_alloc(cap * sizeof(*list));
        n = list ? sl_probe_close_wait_inodes(list, cap, families) : -ENOMEM;
    }
    if (n < 0) {
        sl_big_free(list);
        return false;
    }
    size_t slots = 16;
    while (slots < (size_t)n * 2)
        slots *= 2;
    set->v = sl_big_calloc(slots, sizeof(*set->v));
    set->mask = slots - 1;
    if (!set->v) {
        sl_big_free(list);
        return false;
    }
    for (long k = 0; k < n; k++) {
        if (!list[k].ino)
            continue;
        size_t i = (list[k].ino * 0x9e3779b97f4a7c15ull) & set->mask;
        while (set->v[i].ino && set->v[i].ino != list[k].ino)
            i = (i + 1) & set->mask;
        set->v[i] = list[k];
    }
    sl_big_free(list);
    return true;
}

#define WALK_ALWAYS 256
#define WALK_EVERY 10

void sl_scan(bool full)
{
    static long untracked_then = -1; /* open fds not tracked at the last walk */
    static unsigned since_walk;
    long open_fds = sl_probe_count_fds();
    if (full || open_fds < WALK_ALWAYS || open_fds - sl_fd_live() != untracked_then || ++since_walk >= WALK_EVERY) {
        open_fds = 0;
        sl_probe_each_fd(visit_fd, &open_fds);
        untracked_then = open_fds - sl_fd_live();
        since_walk = 0;
    }
    sl_trigger_scan(open_fds, sl_fd_live());

    struct sl_rec_info *snap;
    long n = sl_fd_snapshot(&snap);
    if (n < 0)
        return;
    int64_t now = sl_now_ns();
    long tcp = 0;
    unsigned families = 0; /* dump only the families tracked: each dump walks the whole table */
    for (long k = 0; k < n; k++)
        if (is_tcp(&snap[k])) {
            tcp++;
            families |= snap[k].family == AF_INET6 ? SL_DIAG_INET6 : SL_DIAG_INET;
        }
    struct ino_set cw = { NULL, 0 };
    bool diag = sl_opt.scan_method == SL_SCAN_SOCK_DIAG || (sl_opt.scan_method == SL_SCAN_AUTO && tcp >= SOCK_DIAG_FROM);
    if (diag && !close_wait_set(&cw, tcp, families))
        diag = false; /* no sock_diag here (seccomp, old kernel): one probe per socket */
    struct sl_metrics m;
    sl_metrics_begin(&m, now);

    for (long k = 0; k < n; k++) {
        struct sl_rec_info *i = &snap[k];
        if (!i->ino) {
            uint64_t dev, ino;
            int pr = sl_probe_inode(i->fd, &dev, &ino);
            if (pr != 0) {
                if (pr == -EBADF || pr == -ENOTSOCK) /* closed behind our back */
                    sl_fd_drop_stale(i->fd, i->gen);
                continue;
            }
            sl_fd_set_inode(i->fd, i->gen, dev, ino);
            i->dev = dev, i->ino = ino;
        }
        sl_fd_learn_meta(i);
        /* what this scan learned, for the metrics: state, since when, idle time */
        int state = 0;
        int64_t since = 0, idle = -1;
        bool open = true;
        if (is_tcp(i)) {
            if (diag) {
                struct sl_cw_entry *e = set_find(&cw, i->ino);
                if (e) {
                    state = TCP_CLOSE_WAIT;
                    open = sl_fd_observe(i->fd, i->gen, state, now - (int64_t)e->last_ack_recv_ms * SL_MS, now, &since);
                } else {
                    state = i->tcp_state == TCP_CLOSE_WAIT ? 0 : i->tcp_state; /* last state read, if any */
                    /* Not in CLOSE_WAIT, nor was it: the record needs no write-back but
                     * its "last seen open" time, which only bounds a CLOSE_WAIT start
                     * that the peer's last ACK dates anyway: refreshed every few
                     * seconds, not at every scan (a lock and a lookup per socket). */
                    if (i->close_wait_ns || i->tcp_state == TCP_CLOSE_WAIT || now - i->open_seen_ns >= 5 * SL_SEC)
                        open = sl_fd_observe(i->fd, i->gen, SL_STATE_OPEN, now, now, NULL);
                }
            } else {
                struct sl_tcp t;
                if (sl_probe_tcp(i->fd, &t) == 0) {
                    state = t.state;
                    idle = (int64_t)(t.last_data_recv_ms < t.last_data_sent_ms ? t.last_data_recv_ms : t.last_data_sent_ms)
                         * SL_MS;
                    open = sl_fd_observe(i->fd, i->gen, t.state, now - (int64_t)t.last_ack_recv_ms * SL_MS, now, &since);
                }
            }
        } else if (is_unix_stream(i)) {
            state = sl_probe_peer_closed(i->fd) ? SL_STATE_PEER_CLOSED : SL_STATE_OPEN;
            open = sl_fd_observe(i->fd, i->gen, state, now, now, &since);
        }
        if (open)
            sl_metrics_scan_sock(&m, i, state, since, state == TCP_LISTEN ? -1 : idle);
    }
    sl_big_free(cw.v);
    sl_big_free(snap);
    sl_metrics_publish(&m, open_fds);
}

/* ---- the thread ---- */

static int64_t next_after(int64_t from, int64_t every)
{
    return every > 0 ? from + every : INT64_MAX;
}

static _Atomic uint32_t running; /* the thread has started: sl_scanner_start waits for it */

/* The thread cannot reach the host's fds from its own table any more (the process's
 * main thread exited): end it, and let the next socket start one that shares the
 * table. Requests pending stay pending for it. */
static void hand_over(void)
{
    atomic_store(&shared_only, 1); /* the next thread says so: this one cannot reach stderr */
    atomic_store(&started, 0);
}

static void *loop(void *arg)
{
    (void)arg;
    sl_tls_guard = 1; /* this thread is the shim: never record what it does */
    /* a table of its own (hostfd.c), before anything it opens lands in the host's */
    if (sl_opt.own_fd_table && !atomic_load(&shared_only) && sl_hostfd_leave_table() == 0)
        sl_syslog_open(); /* its own socket, in its own table */
    if (atomic_load(&shared_only) == 1 && atomic_exchange(&shared_only, 2) == 1)
        sl_log("the program's main thread has exited: the background thread now shares the fd table");
    atomic_store(&running, 1);
    syscall(SYS_futex, &running, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    sl_work_lock();
    sl_report_warm(); /* symbol tables behind the first stacks */
    sl_work_unlock();
    int64_t now = sl_now_ns();
    int64_t next_scan = next_after(now, sl_opt.scan_interval);
    int64_t next_report = next_after(now, sl_opt.report_interval);
    for (;;) {
        uint32_t w = atomic_load(&wake_word);
        if (SL_UNLIKELY(sl_hostfd_lost())) {
            hand_over();
            return NULL;
        }
        if (atomic_load(&pending)) {
            sl_scanner_flush(); /* trouble first: its report should show the moment */
            continue;
        }
        now = sl_now_ns();
        if (now >= next_scan) {
            sl_work_lock();
            sl_scan(false);
            sl_report_warm();
            sl_work_unlock();
            now = sl_now_ns();
            next_scan = next_after(now, sl_opt.scan_interval);
        }
        if (now >= next_report) {
            sl_report_write(SL_REASON_INTERVAL);
            now = sl_now_ns();
            next_report = next_after(now, sl_opt.report_interval);
        }
        int64_t wake = next_scan < next_report ? next_scan : next_report;
        struct timespec ts, *tsp = NULL;
        if (wake != INT64_MAX) {
            int64_t d = wake > now ? wake - now : 0;
            ts.tv_sec = d / SL_SEC;
            ts.tv_nsec = d % SL_SEC;
            tsp = &ts;
        }
        syscall(SYS_futex, &wake_word, FUTEX_WAIT_PRIVATE, w, tsp, NULL, 0);
    }
    return NULL;
}

void sl_scanner_start(void)
{
    if (atomic_load_explicit(&started, memory_order_relaxed) || atomic_exchange(&started, 1))
        return;
    int saved = errno;
    /* A thread sharing the table (own_fd_table=0, or no pidfd_getfd) sends syslog
     * lines through a socket in the host's table: make it now, in this thread, so it
     * never races this thread's next socket() or closefrom() for a low number. */
    if (!sl_opt.own_fd_table || atomic_load(&shared_only))
        sl_syslog_open();
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    /* room for work done in place when it cannot be done aside (libdw recurses deeply):
     * address space only, untouched pages cost nothing */
    pthread_attr_setstacksize(&attr, 2 * 1024 * 1024);
    pthread_t t;
    atomic_store(&running, 0);
    if (pthread_create(&t, &attr, loop, NULL) == 0) {
        pthread_setname_np(t, "sockleak");
        /* Wait until it runs: a thread still being set up (by libc, or a sanitizer
         * runtime) holds allocator locks that a fork right now would leave locked
         * in the child for good. Once in loop(), it works under the work lock, which
         * the fork handlers take. Bounded: a thread that never gets there (a fork
         * child of a sanitizer runtime without fork handlers can inherit one of its
         * allocator locks held) must not hang the program's thread with it. */
        struct timespec step = { 0, 10 * 1000 * 1000 };
        for (int n = 0; !atomic_load(&running) && n < 300; n++)
            syscall(SYS_futex, &running, FUTEX_WAIT_PRIVATE, 0, &step, NULL, 0);
        if (!atomic_load(&running))
            sl_log("the background thread has not started after 3 s; going on without waiting for it");
    } else {
        atomic_store(&started, 0);
    }
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = saved;
}

void sl_scanner_flush(void)
{
    unsigned want = atomic_exchange(&pending, 0);
    static const int order[] = { SL_REASON_EMFILE, SL_REASON_THRESHOLD, SL_REASON_SIGNAL, SL_REASON_API };
    for (size_t k = 0; k < SL_ARRAY_LEN(order); k++)
        if (want & (1u << order[k]))
            sl_report_write(order[k]);
}

void sl_scanner_after_fork_child(void)
{
    /* the thread did not survive the fork; requests made in the parent are the parent's */
    atomic_store(&started, 0);
    atomic_store(&pending, 0);
    atomic_store(&shared_only, 0); /* the forking thread is this process's main thread */
}
