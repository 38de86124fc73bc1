/*
 * scan.c - one scan of the process's sockets.
 *
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
 * Each scan leaves a summary (report/metrics.c) for sockleak_stats() and metrics_path.
 */
#define _GNU_SOURCE
#include <netinet/tcp.h>

#include "runtime.h"

#define SOCK_DIAG_FROM 1000 /* TCP sockets from which auto scans use sock_diag */

/* ---- the fd table ---- */

struct walk {
    long open_fds;
    uint64_t *open;  /* a bit per fd number found open; NULL: no memory, assume all are */
    size_t words;
};

static void mark_open(struct walk *w, int fd)
{
    size_t i = (size_t)fd / 64;
    if (w->open && i >= w->words) {
        size_t n = i + 1 > 2 * w->words ? i + 1 : 2 * w->words;
        uint64_t *v = sl_big_realloc(w->open, n * sizeof(uint64_t));
        if (!v) {
            sl_big_free(w->open);
            w->open = NULL;
            return;
        }
        for (size_t k = w->words; k < n; k++)
            v[k] = 0;
        w->open = v;
        w->words = n;
    }
    if (w->open)
        w->open[i] |= 1ull << (fd % 64);
}

static bool found_open(const struct walk *w, int fd)
{
    size_t i = (size_t)fd / 64;
    return !w->open || (i < w->words && (w->open[i] >> (fd % 64) & 1));
}

static int visit_fd(int fd, void *arg)
{
    struct walk *w = arg;
    w->open_fds++;
    mark_open(w, fd);
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
    struct walk w = { 0, NULL, 0 };
    bool walked = full || open_fds < WALK_ALWAYS || open_fds - sl_fd_live() != untracked_then || ++since_walk >= WALK_EVERY;
    if (walked) {
        w.words = 64;
        w.open = sl_big_calloc(w.words, sizeof(uint64_t));
        sl_probe_each_fd(visit_fd, &w);
        open_fds = w.open_fds;
        untracked_then = open_fds - sl_fd_live();
        since_walk = 0;
    }
    sl_trigger_scan(open_fds, sl_fd_live());

    struct sl_rec_info *snap;
    long n = sl_fd_snapshot(&snap);
    if (n < 0) {
        sl_big_free(w.open);
        return;
    }
    int64_t now = sl_now_ns();
    long tcp = 0;
    unsigned families = 0; /* dump only the families tracked: each dump walks the whole table */
    for (long k = 0; k < n; k++)
        if (sl_rec_is_tcp(&snap[k])) {
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
        /* the inode, read once; and again if the walk did not find the number open */
        if (!i->ino || (walked && !found_open(&w, i->fd))) {
            uint64_t dev, ino;
            if (sl_fd_recheck(i, &dev, &ino) != 0)
                continue; /* closed behind our back (and maybe reused): dropped; or could not tell */
            if (!i->ino)
                sl_fd_set_inode(i->fd, i->gen, dev, ino);
            i->dev = dev, i->ino = ino;
        }
        sl_fd_learn_meta(i);
        /* what this scan learned, for the metrics: state, since when, idle time */
        int state = 0;
        int64_t since = 0, idle = -1;
        bool open = true;
        if (sl_rec_is_tcp(i)) {
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
                    idle = sl_tcp_idle_ns(&t, now - i->created_ns);
                    open = sl_fd_observe(i->fd, i->gen, t.state, now - (int64_t)t.last_ack_recv_ms * SL_MS, now, &since);
                }
            }
        } else if (sl_rec_is_unix_stream(i)) {
            state = sl_probe_peer_closed(i->fd) ? SL_STATE_PEER_CLOSED : SL_STATE_OPEN;
            open = sl_fd_observe(i->fd, i->gen, state, now, now, &since);
        }
        int leak = open ? sl_metrics_scan_sock(&m, i, state, since, state == TCP_LISTEN ? -1 : idle) : 0;
        if (leak && leak != i->reported_leak) /* it met a leak rule: a later close is a leak closed */
            sl_fd_mark_leaked(i->fd, i->gen, leak, now);
    }
    sl_big_free(cw.v);
    sl_big_free(snap);
    sl_big_free(w.open);
    sl_metrics_publish(&m, open_fds);
}

