/*
 * stripelock.h - the registry's stripe locks.
 *
 * Held for a table operation of a few dozen nanoseconds, never across a system call or
 * malloc, so a test-and-set lock serves: one compare-and-swap to take it, a plain store
 * to give it back (pthread_mutex costs four times the instructions, and an atomic
 * exchange to unlock, on a path that runs twice per socket). A contended locker spins
 * briefly, then yields its CPU, then sleeps in short naps, so a holder that was
 * preempted runs again even when the waiter has a real-time priority.
 */
#ifndef SOCKLEAK_STRIPELOCK_H
#define SOCKLEAK_STRIPELOCK_H

struct sl_lock {
    _Atomic int v;
};

static __attribute__((noinline, unused)) void lock_slow(struct sl_lock *l)
{
    for (unsigned i = 0;; i++) {
        int c = 0;
        if (atomic_load_explicit(&l->v, memory_order_relaxed) == 0
            && atomic_compare_exchange_weak_explicit(&l->v, &c, 1, memory_order_acquire, memory_order_relaxed))
            return;
        if (i < 128) {
            __builtin_ia32_pause();
        } else if (i < 160) {
            SL_SYS(SYS_sched_yield);
        } else {
            struct timespec nap = { 0, 50 * 1000 };
            SL_SYS(SYS_nanosleep, &nap, NULL);
        }
    }
}

static inline void lock(struct sl_lock *l)
{
    int c = 0;
    if (SL_UNLIKELY(!atomic_compare_exchange_strong_explicit(&l->v, &c, 1, memory_order_acquire, memory_order_relaxed)))
        lock_slow(l);
}

static inline bool trylock(struct sl_lock *l)
{
    int c = 0;
    return atomic_compare_exchange_strong_explicit(&l->v, &c, 1, memory_order_acquire, memory_order_relaxed);
}

static inline void unlock(struct sl_lock *l)
{
    atomic_store_explicit(&l->v, 0, memory_order_release);
}


#endif
