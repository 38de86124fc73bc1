/*
 * scanner.c - the background thread: CLOSE_WAIT scans and dump requests.
 *
 * One thread per process, started when the first socket is tracked (processes that
 * never touch a socket never get it). It sleeps on a futex word; the dump-signal
 * handler only bumps a counter and wakes the futex (two atomic ops and one system
 * call: async-signal-safe), and the thread writes the report. Every scan_interval it
 * makes one pass over the registry: it fills in what creation left out to stay cheap
 * (inode, and family/type of sockets accepted from untracked listeners), drops entries
 * closed behind the shim's back, and reads the TCP state of each TCP socket, starting
 * the CLOSE_WAIT clock the first time a socket is seen there.
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

#include "internal.h"

static _Atomic uint32_t wake_word;
static _Atomic long dump_requests, dumps_done;
static _Atomic int started;

void sl_scanner_request_dump(void)
{
    int saved = errno;
    atomic_fetch_add(&dump_requests, 1);
    atomic_fetch_add(&wake_word, 1);
    syscall(SYS_futex, &wake_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    errno = saved;
}

static bool is_tcp(const struct sl_rec_info *i)
{
    return (i->family == AF_INET || i->family == AF_INET6) && i->type == SOCK_STREAM
        && (i->proto == 0 || i->proto == IPPROTO_TCP || i->proto == 262);
}

void sl_scan_once(void)
{
    struct sl_rec_info *snap;
    long n = sl_fd_snapshot(&snap);
    if (n <= 0) {
        if (n == 0)
            free(snap);
        return;
    }
    int64_t now = sl_now_ns();
    for (long k = 0; k < n; k++) {
        struct sl_rec_info *i = &snap[k];
        if (!i->ino) {
            uint64_t dev, ino;
            if (sl_probe_inode(i->fd, &dev, &ino) != 0) {
                sl_fd_drop_stale(i->fd, i->gen);
                continue;
            }
            sl_fd_set_inode(i->fd, i->gen, dev, ino);
        }
        if (!i->family || !i->type) {
            int fam, type, proto;
            if (sl_probe_meta(i->fd, &fam, &type, &proto) == 0) {
                sl_fd_set_meta(i->fd, i->gen, fam, type, proto);
                i->family = (uint16_t)fam, i->type = (uint8_t)type, i->proto = (uint16_t)proto;
            }
        }
        struct sl_tcp t;
        if (is_tcp(i) && sl_probe_tcp(i->fd, &t) == 0)
            sl_fd_observe(i->fd, i->gen, t.state, now - (int64_t)t.last_ack_recv_ms * SL_MS, now, NULL);
    }
    free(snap);
}

static void *loop(void *arg)
{
    (void)arg;
    sl_tls_guard = 1; /* this thread is the shim: never record what it does */
    int64_t interval = sl_opt.scan_interval;
    int64_t next_scan = sl_now_ns() + interval;
    for (;;) {
        uint32_t w = atomic_load(&wake_word);
        long want = atomic_load(&dump_requests);
        if (want != atomic_load(&dumps_done)) {
            sl_report_write(SL_REASON_SIGNAL);
            atomic_store(&dumps_done, want); /* requests that arrived meanwhile get the next report */
            continue;
        }
        int64_t now = sl_now_ns();
        if (interval > 0 && now >= next_scan) {
            sl_scan_once();
            now = sl_now_ns();
            next_scan = now + interval;
        }
        struct timespec ts, *tsp = NULL;
        if (interval > 0) {
            int64_t d = next_scan - now;
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
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    pthread_t t;
    if (pthread_create(&t, &attr, loop, NULL) == 0)
        pthread_setname_np(t, "sockleak");
    else
        atomic_store(&started, 0);
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = saved;
}

bool sl_scanner_running(void)
{
    return atomic_load(&started) != 0;
}

void sl_scanner_after_fork_child(void)
{
    /* the thread did not survive the fork; requests made in the parent are the parent's */
    atomic_store(&started, 0);
    atomic_store(&dump_requests, 0);
    atomic_store(&dumps_done, 0);
}
