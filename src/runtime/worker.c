/*
 * worker.c - the background thread: scans, requested and periodic reports.
 *
 * One thread per process, started when the first socket is tracked (processes that
 * never touch a socket never get it): the core asks for it through its need_worker
 * hook. It sleeps on the futex word of core/requests.c. Anything may ask it for a
 * report (the dump-signal handler, a trigger in a wrapper) by setting the reason's bit
 * and waking it; it writes one report per pending reason, so a storm of signals gives
 * reports, never a lost request. Every scan_interval it scans (scan.c); every
 * report_interval it writes a report (reason "interval").
 *
 * The thread blocks every signal, so it never steals one meant for the host, and runs
 * with the guard held, so nothing it does is recorded. It gives up the program's fd
 * table for one of its own as it starts (fd/owntable.c), and listens there on its
 * control socket (control.c). It sleeps in poll() on that socket and on an eventfd
 * every request also writes to (one of the shim's fds in the program's table, which
 * the worker reaches through a copy); without an eventfd, on the futex word alone.
 *
 * Attached to a running process (`sockleak attach`), the thread also patches the GOT of
 * modules loaded since its last scan (got.c), and it ends when asked: by attach, to
 * start again with the attach's options, or by a detach request on the control socket.
 * Attach starts it with a first job (sl_worker_start_job): the attaching thread, which
 * a debugger has stopped, only creates the thread. The thread waits until the debugger
 * has detached (every I/O child is a vfork the debugger would stop the whole process to
 * follow), makes its own wake fd (moving an fd high grows the fd table: in a process
 * with threads the kernel waits an RCU grace period for that, ~10 ms, during which the
 * debugger could not stop the thread), and then does the job: the attach's work, done
 * while the program runs.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>

#include "runtime.h"

static _Atomic int stop_asked;
static int shared_ctl = -1; /* the control socket, when it is in the program's table */
static _Atomic int shared_only; /* the process's main thread exited: no table of our own */

/* ---- the thread ---- */

static int64_t next_after(int64_t from, int64_t every)
{
    return every > 0 ? from + every : INT64_MAX;
}

static _Atomic uint32_t running; /* the thread has started: sl_worker_start waits for it */
static void (*_Atomic pending_job)(void); /* sl_worker_start_job's, until the thread takes it */

#define TRACER_WAIT_MS 10000

/* Wait until no debugger is attached (bounded: one that never leaves only makes the
 * job slower for the process, not wrong). While the thread still shares the program's
 * fd table, each look is an I/O child, a vfork the debugger would stop the whole
 * process to follow: the first one after the debugger has most likely gone (it detaches
 * a millisecond or two after its call returns), the next ones seldom. */
static void wait_for_debugger(void)
{
    int64_t deadline = sl_now_ns() + TRACER_WAIT_MS * SL_MS;
    struct timespec first = { 0, 10 * SL_MS }, step = { 0, 20 * SL_MS };
    SL_SYS(SYS_nanosleep, &first, NULL);
    while (sl_probe_tracer() > 0 && sl_now_ns() < deadline && !atomic_load(&stop_asked))
        SL_SYS(SYS_nanosleep, &step, NULL);
}

static void make_wake_fd(void);

/* The thread is about to return: a new one may start, sl_worker_stop may return. */
static void ended(void)
{
    atomic_store(&sl_worker_started, 0);
    SL_SYS(SYS_futex, &sl_worker_started, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

/* The thread cannot reach the host's fds from its own table any more (the process's
 * main thread exited): end it, and let the next socket start one that shares the
 * table. Requests pending stay pending for it. */
static void hand_over(void)
{
    atomic_store(&shared_only, 1); /* the next thread says so: this one cannot reach stderr */
    ended();
}

static void said_running(void)
{
    atomic_store(&running, 1);
    SL_SYS(SYS_futex, &running, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void *loop(void *arg)
{
    (void)arg;
    sl_tls_guard = 1; /* this thread is the shim: never record what it does */
    void (*job)(void) = atomic_exchange(&pending_job, NULL);
    if (job) { /* the starter is stopped by a debugger: it waits for none of this */
        said_running();
        /* nothing that waits in the kernel while the debugger is there: it stops every
         * thread after each of its calls, and one in an uninterruptible wait (the fd
         * table grown for a high fd: an RCU grace period) makes it wait too */
        wait_for_debugger();
        sl_work_lock(); /* the fork handlers take it: no fork sees half a wake fd */
        if (!sl_opt.own_fd_table || atomic_load(&shared_only))
            sl_syslog_open();
        make_wake_fd();
        sl_work_unlock();
    }
    /* a table of its own (fd/owntable.c), before anything it opens lands in the host's */
    if (sl_opt.own_fd_table && !atomic_load(&shared_only) && sl_owntable_leave() == 0)
        sl_syslog_open(); /* its own socket, in its own table */
    if (atomic_load(&shared_only) == 1 && atomic_exchange(&shared_only, 2) == 1)
        sl_log("the program's main thread has exited: the background thread now shares the fd table");
    if (job) {
        job();
    } else {
        /* Sharing the program's table, load libdw (the unwinder's rules, file:line) while
         * the thread that made the first socket waits for this one to run: the dlopen's
         * files, opened and closed, cannot then take a number that thread expects next. */
        if (!sl_tls_own_table)
            sl_libdw();
        said_running();
    }
    sl_work_lock();
    sl_unwind_fill(); /* first: until their rules are made, the first stacks cost libunwind's price */
    sl_report_warm(); /* symbol tables behind the first stacks */
    sl_work_unlock();
    int ctl = sl_control_open();
    if (!sl_tls_own_table)
        shared_ctl = ctl;
    int efd = sl_owntable_get(sl_requests_wake_fd()); /* this thread's number for the eventfd */
    int64_t now = sl_now_ns();
    int64_t next_scan = next_after(now, sl_opt.scan_interval);
    int64_t next_report = next_after(now, sl_opt.report_interval);
    bool got_checked = false;
    for (;;) {
        uint32_t w = atomic_load(&sl_wake_word);
        if (SL_UNLIKELY(atomic_load(&stop_asked)))
            break;
        if (SL_UNLIKELY(sl_owntable_lost())) {
            hand_over(); /* the fds of this thread's own table go with it */
            return NULL;
        }
        if (SL_UNLIKELY((job = atomic_exchange(&pending_job, NULL)) != NULL)) { /* it was running already */
            wait_for_debugger();
            job();
        }
        sl_work_lock();
        sl_unwind_fill(); /* rules for the return addresses new stacks met */
        sl_work_unlock();
        if (sl_requests_pending()) {
            sl_worker_flush(); /* trouble first: its report should show the moment */
            continue;
        }
        now = sl_now_ns();
        if (now >= next_scan) {
            sl_work_lock();
            sl_scan(false);
            sl_report_warm();
            sl_work_unlock();
            sl_got_refresh(!got_checked); /* attached: modules loaded since, and lazy bindings that raced it */
            got_checked = true;
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
        if (efd < 0) {
            SL_SYS(SYS_futex, &sl_wake_word, FUTEX_WAIT_PRIVATE, w, tsp, NULL, 0);
            continue;
        }
        struct pollfd p[2] = { { .fd = efd, .events = POLLIN }, { .fd = ctl, .events = POLLIN } };
        if (SL_SYS(SYS_ppoll, p, ctl >= 0 ? 2 : 1, tsp, NULL, 8) > 0) {
            uint64_t count;
            if (p[0].revents & POLLIN)
                SL_SYS(SYS_read, efd, &count, sizeof(count));
            if (ctl >= 0 && (p[1].revents & POLLIN) && sl_control_serve(ctl))
                break; /* detached */
        }
    }
    sl_control_close(ctl);
    if (ctl == shared_ctl)
        shared_ctl = -1;
    sl_owntable_put(efd);
    atomic_store(&stop_asked, 0);
    ended();
    return NULL;
}

/* The eventfd requests write to, in the program's table, moved high (ownfd.c). */
static void make_wake_fd(void)
{
    if (sl_requests_wake_fd() >= 0)
        return;
    int e = (int)SL_SYS(SYS_eventfd2, 0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (e >= 0 && (e = sl_ownfd_adopt(e, true)) >= 0)
        sl_requests_set_wake_fd(e);
}

static void start(bool for_job)
{
    if (atomic_load_explicit(&sl_worker_started, memory_order_relaxed) || atomic_exchange(&sl_worker_started, 1))
        return;
    SL_KEEP_ERRNO(); /* pthread_create, sigmask */
    /* A thread sharing the table (own_fd_table=0, or no pidfd_getfd) sends syslog
     * lines through a socket in the host's table: make it now, in this thread, so it
     * never races this thread's next socket() or closefrom() for a low number. With a
     * job (attach), the thread makes both, not the stopped thread that starts it. */
    if (!for_job && (!sl_opt.own_fd_table || atomic_load(&shared_only)))
        sl_syslog_open();
    if (!for_job)
        make_wake_fd();
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
            SL_SYS(SYS_futex, &running, FUTEX_WAIT_PRIVATE, 0, &step, NULL, 0);
        if (!atomic_load(&running))
            sl_log("the background thread has not started after 3 s; going on without waiting for it");
    } else {
        atomic_store(&sl_worker_started, 0);
    }
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void sl_worker_start(void)
{
    start(false);
}

int sl_worker_start_job(void (*job)(void))
{
    atomic_store(&pending_job, job);
    start(true);
    sl_wake_worker(); /* one that ran already takes the job at its next turn */
    if (atomic_load(&sl_worker_started))
        return 0;
    atomic_store(&pending_job, NULL);
    return -EAGAIN;
}

int sl_worker_stop(void)
{
    if (!atomic_load(&sl_worker_started))
        return 0;
    atomic_store(&stop_asked, 1);
    sl_wake_worker();
    struct timespec step = { 0, 10 * 1000 * 1000 };
    for (int n = 0; atomic_load(&sl_worker_started) && n < 300; n++)
        SL_SYS(SYS_futex, &sl_worker_started, FUTEX_WAIT_PRIVATE, 1, &step, NULL, 0);
    return atomic_load(&sl_worker_started) ? -ETIMEDOUT : 0;
}

void sl_worker_flush(void)
{
    unsigned want = sl_requests_take();
    static const int order[] = { SL_REASON_EMFILE, SL_REASON_THRESHOLD, SL_REASON_SIGNAL, SL_REASON_API };
    for (size_t k = 0; k < SL_ARRAY_LEN(order); k++)
        if (want & (1u << order[k]))
            sl_report_write(order[k]);
}

void sl_worker_after_fork_child(void)
{
    /* the thread did not survive the fork; its eventfd and a control socket in the
     * program's table are the parent's: the child's worker makes its own */
    int wake = sl_requests_wake_fd();
    sl_requests_after_fork_child();
    if (wake >= 0)
        sl_ownfd_close(wake);
    if (shared_ctl >= 0)
        sl_control_close(shared_ctl);
    shared_ctl = -1;
    atomic_store(&sl_worker_started, 0);
    atomic_store(&shared_only, 0); /* the forking thread is this process's main thread */
}
