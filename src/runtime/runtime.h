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
 *   got.c           attach mode: the GOT slots of loaded modules routed to the shim
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
/* Start the thread for attach: the caller, stopped by a debugger, waits only for the
 * thread to exist. The thread waits until no debugger is attached (at most 10 s),
 * makes its wake fd, runs job, then works as usual. A thread running already runs job
 * at its next turn, once no debugger is attached. Returns 0, or -EAGAIN when no
 * thread could be started (job will not run). */
int sl_worker_start_job(void (*job)(void));
/* End the background thread (it finishes the work at hand first) and wait up to 3 s
 * for it. Returns 0 (none runs now) or -ETIMEDOUT. Not from the thread itself. */
int sl_worker_stop(void);
void sl_worker_after_fork_child(void);
/* Write the reports asked for and not written yet, in the calling thread. */
void sl_worker_flush(void);

/* ---- control.c ---- */
/* In the worker: listen on the abstract socket "sockleak.PID". Returns the fd or -errno. */
int sl_control_open(void);
void sl_control_close(int fd);
/* Serve the clients waiting on listen_fd (a few at most), without blocking for long.
 * Returns true when one asked to detach and was answered: the worker ends. */
bool sl_control_serve(int listen_fd);
/* What the requests "attach" and "detach" do (shim/attach.c sets them when attaching):
 * say how the attach went, undo it; each describes it in msg and returns 0, or -ENOENT
 * when the shim was not attached (preloaded). */
void sl_control_set_attach(int (*attached)(char *msg, size_t len), int (*detach)(char *msg, size_t len));

/* ---- got.c: attach mode (`sockleak attach`) ---- */
struct sl_got_hook { /* a function routed to the shim beside its exports (dlopen...) */
    const char *name;
    void *fn;
};
struct sl_got_stats {
    long targets;  /* function names routed */
    long slots;    /* slots rewritten (detach: that were rewritten) */
    long modules;  /* modules with a slot rewritten */
    long restored; /* detach: slots put back */
    long foreign;  /* slots bound elsewhere than the program's lookup says: left alone */
    long failed;   /* slots whose page could not be made writable */
    long bad;      /* relocations out of bounds of the module's tables: skipped */
};
/* Rewrite the GOT slots (JUMP_SLOT, GLOB_DAT) of every loaded module of the base
 * namespace but the shim for its exported functions and extra[], in each module that
 * binds them where the program's lookup does. Returns 0 (counts in *st), -EALREADY
 * (attached already) or -ENOMEM (some slots rewritten: sl_got_detach puts them back). */
int sl_got_attach(const struct sl_got_hook *extra, size_t nextra, struct sl_got_stats *st);
/* Attached: patch the modules loaded since the last pass (cheap when none was); full:
 * also rewrite slots set back meanwhile (a lazy binding that raced the attach). */
void sl_got_refresh(bool full);
/* Put back every slot still holding the shim's function. Returns 0, or -ENOENT when
 * not attached. */
int sl_got_detach(struct sl_got_stats *st);
bool sl_got_active(void);

/* ---- signals.c ---- */
int sl_signals_install(void);     /* install the dump signal handler (chained) */
/* Give the dump signal back to the program (detach, or attach with other options):
 * the disposition it set while the signal was the shim's. */
void sl_signals_uninstall(void);
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
