/*
 * children.c - fork, vfork and clone children.
 *
 * fork: pthread_atfork handlers take every registry and stack-table lock before the
 * fork and release them on both sides, so the child inherits consistent tables even
 * while other threads create and close sockets. The child then refreshes its pid and
 * thread id, forgets any report the parent was writing, and restarts the background
 * thread if it holds sockets (a fork-per-connection server's child must still see its
 * sockets go to CLOSE_WAIT). Its reports go to its own %p file.
 *
 * vfork: see vfork_x86_64.S; the child is marked through the shared TLS guard word.
 *
 * clone(CLONE_VM) without CLONE_THREAD: the child shares our memory but usually not our
 * fd table, and also shares the parent thread's TLS, so neither TLS nor the registry
 * may be trusted from it. The clone wrapper starts the child through a trampoline that
 * records its kernel tid in a slot; while any slot is in use, sl_recording() asks the
 * kernel for the caller's tid (one cheap system call) and forwards without recording
 * for such a child. A slot is freed when the child's function returns or, when we
 * could add CLONE_CHILD_CLEARTID, as soon as the kernel clears the tid (exit or exec).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime.h"

_Atomic int sl_vm_children;

#define CLONE_SLOTS 32
struct clone_slot {
    _Atomic int used;
    int (*fn)(void *);
    void *arg;
    _Atomic pid_t tid;     /* the child's tid: set by the trampoline and by the parent */
    bool kernel_clears;    /* we added CLONE_CHILD_SETTID|CLEARTID on alive */
    _Atomic pid_t alive;   /* -1 before the child runs, its tid while it runs, 0 once gone */
};
static struct clone_slot clone_slots[CLONE_SLOTS];

int sl_vfork_failed(int err)
{
    errno = err;
    return -1;
}

static void release_slot(struct clone_slot *s)
{
    if (atomic_exchange(&s->used, 0))
        atomic_fetch_sub(&sl_vm_children, 1);
}

bool sl_vm_child_check(void)
{
    pid_t me = (pid_t)SL_SYS(SYS_gettid);
    bool child = false;
    for (int i = 0; i < CLONE_SLOTS; i++) {
        struct clone_slot *s = &clone_slots[i];
        if (!atomic_load(&s->used))
            continue;
        if (s->kernel_clears && atomic_load(&s->alive) == 0) {
            release_slot(s); /* the child exited or exec'd: the kernel cleared alive */
            continue;
        }
        if (atomic_load(&s->tid) == me)
            child = true;
    }
    return child;
}

static int trampoline(void *p)
{
    struct clone_slot *s = p;
    atomic_store(&s->tid, (pid_t)SL_SYS(SYS_gettid));
    int (*fn)(void *) = s->fn;
    void *arg = s->arg;
    int r = fn(arg);
    if (!s->kernel_clears)
        release_slot(s);
    return r;
}

int sl_clone(int (*real)(int (*)(void *), void *, int, void *, ...), int (*fn)(void *), void *stack, int flags,
             void *arg, pid_t *ptid, void *tls, pid_t *ctid)
{
    if (!(flags & CLONE_VM) || (flags & CLONE_THREAD) || !fn)
        return real(fn, stack, flags, arg, ptid, tls, ctid);
    struct clone_slot *s = NULL;
    for (int i = 0; i < CLONE_SLOTS && !s; i++) {
        int expect = 0;
        if (atomic_compare_exchange_strong(&clone_slots[i].used, &expect, 1))
            s = &clone_slots[i];
    }
    if (!s) /* too many at once: the child may touch the registry; reports re-check it */
        return real(fn, stack, flags, arg, ptid, tls, ctid);
    s->fn = fn;
    s->arg = arg;
    atomic_store(&s->tid, 0);
    s->kernel_clears = !(flags & (CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID));
    atomic_fetch_add(&sl_vm_children, 1);
    atomic_store(&s->alive, -1);
    if (s->kernel_clears) {
        flags |= CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID;
        ctid = (pid_t *)&s->alive;
    }
    int r = real(trampoline, stack, flags, s, ptid, tls, ctid);
    if (r < 0) {
        int e = errno;
        release_slot(s);
        errno = e;
    } else {
        pid_t zero = 0;
        atomic_compare_exchange_strong(&s->tid, &zero, r);
    }
    return r;
}

/* ---- fork ---- */

static __thread int fork_locked __attribute__((tls_model("initial-exec")));

static void before_fork(void)
{
    /* fork() from a signal handler that interrupted the shim on this thread: taking our
     * locks would deadlock; the child's reports will re-check everything anyway */
    fork_locked = sl_tls_guard == 0;
    if (!fork_locked)
        return;
    sl_guard_enter();
    sl_work_lock(); /* first: the report thread finishes what it is doing */
    sl_dl_lock();
    sl_stacks_lock();
    sl_registry_lock_all();
}

static void after_fork_parent(void)
{
    if (!fork_locked)
        return;
    sl_registry_unlock_all();
    sl_stacks_unlock();
    sl_dl_unlock();
    sl_work_unlock();
    sl_guard_leave();
}

static void after_fork_child(void)
{
    sl_self_after_fork();
    atomic_store(&sl_vm_children, 0);
    for (int i = 0; i < CLONE_SLOTS; i++)
        atomic_store(&clone_slots[i].used, 0);
    sl_work_after_fork_child();
    sl_group_after_fork_child();
    sl_iochild_after_fork_child();
    sl_srcline_after_fork_child();
    sl_worker_after_fork_child();
    if (fork_locked) {
        sl_registry_unlock_all();
        sl_stacks_unlock();
        sl_dl_unlock();
        sl_guard_leave(); /* the work lock: reset by sl_work_after_fork_child */
    } else {
        sl_symbolize_after_fork_child();
    }
    sl_registry_mark_forked();
    if (sl_fd_live() > 0)
        sl_worker_start();
}

void sl_children_init(void)
{
    pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}
