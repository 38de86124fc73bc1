/*
 * requests.c - reports asked for, the work lock, and the hooks to the layers above.
 *
 * A request is a bit per reason in `pending` and a wake-up of the futex word the
 * worker thread sleeps on: atomic operations and one system call, so a signal handler
 * or a wrapper in trouble may ask. The worker (runtime/worker.c) takes the bits and
 * writes one report per reason, so a storm of requests gives reports, never a lost one.
 *
 * The core never names the worker: when it needs one (the first socket, a trigger),
 * it calls the need_worker hook that start-up set (shim/init.c).
 *
 * The work lock serializes reports and each unit of the worker's work (scans too); the
 * fork handlers take it first, so a fork never copies the shim in the middle of a
 * report, with its allocations, symbol loading and loader walks half done. It is
 * recursive: a scan may write a report.
 */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <pthread.h>

#include "core.h"

_Atomic uint32_t sl_wake_word;
static _Atomic unsigned pending; /* bit per enum sl_reason */
static struct sl_core_hooks hooks;
static _Atomic int wake_fd = -1;
static pthread_mutex_t work_lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;

void sl_core_set_hooks(const struct sl_core_hooks *h)
{
    hooks = *h;
}

_Atomic int sl_worker_started;

void sl_need_worker_call(void)
{
    if (hooks.need_worker)
        hooks.need_worker();
}

void sl_request(int reason)
{
    atomic_fetch_or(&pending, 1u << reason);
    sl_wake_worker();
}

void sl_wake_worker(void)
{
    atomic_fetch_add(&sl_wake_word, 1);
    SL_SYS(SYS_futex, &sl_wake_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    int fd = atomic_load(&wake_fd);
    if (fd >= 0) {
        uint64_t one = 1;
        SL_SYS(SYS_write, fd, &one, sizeof(one));
    }
}

void sl_requests_set_wake_fd(int fd)
{
    atomic_store(&wake_fd, fd);
}

int sl_requests_wake_fd(void)
{
    return atomic_load(&wake_fd);
}

unsigned sl_requests_take(void)
{
    return atomic_exchange(&pending, 0);
}

bool sl_requests_pending(void)
{
    return atomic_load(&pending) != 0;
}

void sl_requests_after_fork_child(void)
{
    atomic_store(&pending, 0); /* requests made in the parent are the parent's */
    atomic_store(&wake_fd, -1); /* and so is its worker's eventfd (children.c closes it) */
}

void sl_work_lock(void)
{
    pthread_mutex_lock(&work_lock);
}

void sl_work_unlock(void)
{
    pthread_mutex_unlock(&work_lock);
}

void sl_work_after_fork_child(void)
{
    /* The lock is recursive, so it knows its owner, the parent's forking thread: the
     * child's thread cannot unlock it, it starts afresh. If the fork could not wait for
     * it (a fork from a signal handler inside the shim), work the parent was doing is
     * abandoned here. */
    pthread_mutex_t fresh = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
    work_lock = fresh;
}
