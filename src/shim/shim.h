/*
 * shim.h - the top layer: the interposed libc functions, the public API and start-up.
 * Uses every layer below; nothing below names anything here.
 *
 *   wrappers.c  the interposed functions: call the real one, tell the core
 *   api.c       the public API (include/sockleak.h)
 *   init.c      start-up (wires the hooks of the layers below, once) and exit
 *   attach.c    `sockleak attach`: the shim started in a running process, and undone
 *   lang.c      what language runtimes call: the JVMTI agent, the Node-API addon
 */
#ifndef SOCKLEAK_SHIM_H
#define SOCKLEAK_SHIM_H

#include "runtime/runtime.h"

/* ---- init.c ---- */
/* Make the shim usable: resolve real functions, read options, set up the registry and
 * the unwinder, wire the hooks. Idempotent and cheap after the first call; safe from
 * any wrapper, including before the shim's own constructor ran. */
void sl_init_core(void);
extern _Atomic int sl_core_state;
/* The process is about to end without exit() (a fatal signal it sends itself): write
 * the exit report now, once, as exit() would have. */
void sl_exit_report_now(void); /* 0 = not yet, 1 = in progress, 2 = ready, 3 = detached */
/* Record the sockets open now that are not recorded: as inherited (start-up), or as
 * pre-attach (attach; a record of the same socket that has a stack keeps it, and so
 * does one created through the wrappers at since_ns or later). Returns how many were
 * recorded so. */
long sl_adopt_open_sockets(bool attach, int64_t since_ns);
/* Do the program's calls reach the wrappers (preloaded, or linked before libc)? */
bool sl_interposed(void);
/* Start-up the constructor left pending (a debugger was loading the shim): done now,
 * or, for attach, dropped (the attach does its own). Idempotent. */
void sl_startup_finish(bool attach);
static inline void sl_ensure(void)
{
    if (SL_UNLIKELY(atomic_load_explicit(&sl_core_state, memory_order_acquire) != 2))
        sl_init_core();
}
/* Not inside the shim, and the core is ready: what both tests below start with. */
static inline bool sl_recording_here(void)
{
    return SL_LIKELY(sl_tls_guard == 0) && SL_LIKELY(atomic_load_explicit(&sl_core_state, memory_order_relaxed) == 2);
}
/* Should a wrapper record what it sees? False inside the shim, in vfork/clone children
 * and before the core is ready. */
static inline bool sl_recording(void)
{
    return sl_recording_here() && !sl_in_foreign_vm_child();
}
/* The usual case of sl_recording(), without a call: true means recording; false, ask
 * sl_recording() (a vfork/clone(CLONE_VM) child may exist, or not recording). */
static inline bool sl_recording_plainly(void)
{
    return sl_recording_here() && SL_LIKELY(atomic_load_explicit(&sl_vm_children, memory_order_relaxed) == 0);
}

#endif
