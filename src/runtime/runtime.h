/*
 * runtime.h - the runtime layer: the shim's life inside the process. Uses report,
 * core, fd and base.
 *
 *   scan.c          one scan: sockets found open behind the shim's back, TCP states
 *                   (CLOSE_WAIT), triggers, metrics
 *   worker.c        the background thread: scans, requested and periodic reports
 *   control.c       the control socket: reports asked for by `sockleak dump`, no signal
 *   signals.c       the dump signal, shared with the program's own handler
 *   children.c      fork, vfork and clone children (vfork_x86_64.S: vfork itself)
 */
#ifndef SOCKLEAK_RUNTIME_H
#define SOCKLEAK_RUNTIME_H

#include "report/report.h"

/* ---- scan.c ---- */
/* One scan (the worker's every scan_interval, full=false: the fd walk may be skipped
 * when nothing suggests an fd appeared behind our back; see scan.c). Under the work
 * lock. */
void sl_scan(bool full);

/* ---- worker.c ---- */
void sl_worker_start(void);   /* idempotent; starts the background thread if allowed */
void sl_worker_after_fork_child(void);
/* Write the reports asked for and not written yet, in the calling thread. */
void sl_worker_flush(void);

/* ---- control.c ---- */
/* In the worker: listen on the abstract socket "sockleak.PID". Returns the fd or -errno. */
int sl_control_open(void);
void sl_control_close(int fd);
/* Serve the clients waiting on listen_fd (a few at most), without blocking for long. */
void sl_control_serve(int listen_fd);

/* ---- signals.c ---- */
int sl_signals_install(void);     /* install the dump signal handler (chained) */
bool sl_signal_is_ours(int sig);  /* is sig the installed dump signal? */
/* The host's sigaction() for the dump signal: record act as the host's disposition,
 * report the previous one in old. Returns 0 or -1 with errno (as sigaction). */
int sl_signal_host_sigaction(const struct sigaction *act, struct sigaction *old);

/* ---- children.c ---- */
void sl_children_init(void);      /* atfork handlers */
/* clone(CLONE_VM) children share the host's memory but not always its fds: while any
 * may be alive, wrappers ask the kernel who they are. */
extern _Atomic int sl_vm_children;
bool sl_vm_child_check(void);     /* is the calling task such a child? */
static inline bool sl_in_foreign_vm_child(void)
{
    return SL_UNLIKELY(atomic_load_explicit(&sl_vm_children, memory_order_relaxed) != 0) && sl_vm_child_check();
}
/* The clone wrapper's work: CLONE_VM children start through a trampoline that marks
 * them. */
int sl_clone(int (*real)(int (*)(void *), void *, int, void *, ...), int (*fn)(void *), void *stack, int flags,
             void *arg, pid_t *ptid, void *tls, pid_t *ctid);
/* vfork_x86_64.S: sets errno, returns -1. */
int sl_vfork_failed(int err);

#endif
