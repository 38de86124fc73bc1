/*
 * sockleak.h - the public API of libsockleak.so.
 *
 * sockleak finds code that leaks sockets. It is normally preloaded
 * (LD_PRELOAD=libsockleak.so, or `sockleak -- CMD`) and needs no code changes; this
 * header lets a program talk to it when it is there.
 *
 * Three ways to reach it:
 *   - Preloaded, program not linked with it (the usual case). Every function is
 *     declared weak: without the shim its address is NULL, so check before calling,
 *     and the same binary runs unchanged with and without it:
 *
 *         if (sockleak_report) sockleak_report();
 *         int r = SOCKLEAK_CALL(sockleak_ignore, listen_fd);   (-ENOSYS without the shim)
 *
 *   - Linked (`cc app.c $(pkg-config --cflags --libs sockleak)`): the shim is then a
 *     dependency, loaded (and tracking) in every run; the program no longer starts
 *     where libsockleak.so is missing.
 *   - dlopen("libsockleak.so", RTLD_NOW | RTLD_LOCAL) and dlsym() each function. The
 *     weak declarations stay NULL (they were bound at start-up). Loaded late, the shim
 *     does not see the program's socket calls (they are bound to libc already): sockets
 *     open at dlopen are listed as "inherited", later ones as "unseen" once a scan
 *     (every scan_interval, or sockleak_scan()) finds them; neither has a stack, but
 *     CLOSE_WAIT detection, reports, stats and metrics work.
 *
 * Every function returns 0 (or a count) on success and a negative errno value on
 * failure; none changes errno. All may be called from any thread, not from a signal
 * handler.
 */
#ifndef SOCKLEAK_H
#define SOCKLEAK_H

#include <errno.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef SOCKLEAK_API /* (the shim itself defines them: strong, exported) */
#define SOCKLEAK_API __attribute__((weak))
#endif

/* Call a sockleak function if the shim is there, else evaluate to -ENOSYS:
 * SOCKLEAK_CALL(sockleak_ignore, fd). For functions taking arguments. */
#define SOCKLEAK_CALL(fn, ...) ((fn) ? (fn)(__VA_ARGS__) : -ENOSYS)

/* Write a report now (reason "api") to the configured log_path, in the configured
 * format. Returns 0, or a negative errno value if it could not be written. */
SOCKLEAK_API int sockleak_report(void);

/* Run one scan now, in the calling thread: what the background thread does every
 * scan_interval (TCP states, peers gone, sockets open but never seen created, fd
 * triggers). Returns 0, or a negative errno value. */
SOCKLEAK_API int sockleak_scan(void);

/* The shim's version, e.g. "0.1.0". */
SOCKLEAK_API const char *sockleak_version(void);

/* Mark fd's socket as long-lived on purpose (a listener, a pooled connection kept for
 * the process lifetime): it stays in reports, with "ignored": true, but is never counted
 * as leaked, in reports, stats or metrics. The mark belongs to the socket: dup()s of
 * fd made afterwards carry it; a socket later created on the same number does not. A
 * socket the shim has not recorded (opened before a dlopen) is recorded first.
 * Returns 0, -EBADF (fd not open), -ENOTSOCK (not a socket) or -ENOMEM. */
SOCKLEAK_API int sockleak_ignore(int fd);

/* Counts, for a health check or a test. Fields marked "now" are read when called;
 * the others come from the last scan or report, whichever is later (the background
 * thread scans every scan_interval, 1s by default; call sockleak_scan() first for
 * fresh ones). If there was none yet, the call runs one scan on the calling thread;
 * otherwise it only copies counters and never blocks for long. */
struct sockleak_stats {
    long live;             /* now: sockets open that the shim tracks */
    long close_wait;       /* TCP sockets in CLOSE_WAIT */
    long leaked;           /* sockets counted as leaked (close_wait_after, peer gone,
                              idle_after, max_age; ignored sockets never count) */
    long ignored;          /* sockets marked with sockleak_ignore() */
    long listening;
    long opened, closed;   /* now: sockets seen created / closed since start */
    long reports_written;  /* now: reports written since start */
    long untracked;        /* now: sockets created but not recorded (coverage gap) */
    long unseen;           /* now: sockets found open that were never seen created */
    long open_fds;         /* file descriptors open, all kinds */
    long fd_limit;         /* soft RLIMIT_NOFILE (-1: unlimited) */
    long long age_ms;      /* how old close_wait..open_fds are (ms since that scan) */
};

/* Fill *out (size: sizeof *out, so programs built against an older or newer header
 * keep working: fields the library does not know are zeroed). Returns 0, -EINVAL
 * (out is NULL) or -EAGAIN (the shim is still starting up). */
SOCKLEAK_API int sockleak_stats(struct sockleak_stats *out, size_t size);

/* For attach tools (`sockleak attach PID` calls it in the process, through gdb, after
 * dlopen-ing the library), not for programs: start recording in a process that was not
 * started under the shim. options is a SOCKLEAK_OPTIONS string (the environment's is
 * ignored). It returns once the shim's thread is started; that thread, as soon as no
 * debugger is attached to the process, routes the program's calls to the shim by
 * rewriting the GOT of every loaded module and lists the sockets open then with origin
 * "pre-attach"; the request "attach" on the control socket answers when that is done,
 * and what it did. msg (len bytes, may be NULL) gets one line: what was done, or why
 * not. Returns 0, -EINVAL (bad options, named in msg), -EEXIST (preloaded: recording
 * already), -EALREADY (attached already), or another negative errno value. A detach
 * request on the control socket (`sockleak detach PID`) undoes it. */
SOCKLEAK_API int sockleak_attach(const char *options, char *msg, size_t len);

/* ---- Leak checks scoped to a test (goleak's VerifyNone) ----
 *
 *     unsigned long cp = sockleak_checkpoint ? sockleak_checkpoint() : 0;
 *     run_one_test();
 *     if (SOCKLEAK_CALL(sockleak_open_since, cp) > 0)    the test left sockets open:
 *         sockleak_report_since(cp, NULL, 0);            which, and the code that opened them
 *
 * <sockleak_test.h> wraps this for C test suites, with a short retry for programs that
 * close asynchronously; python/pytest_sockleak.py (in the source tree) does it for pytest. */

/* A point in the history of the program's sockets: the sockets made after it are "since"
 * it. One atomic load. */
SOCKLEAK_API unsigned long sockleak_checkpoint(void);

/* How many sockets made after checkpoint cp are still open now (each checked against the
 * kernel), listening sockets and those marked with sockleak_ignore() left out: sockets
 * opened before cp, or closed since, never count. Returns the count, or -EAGAIN (the shim
 * is still starting up). */
SOCKLEAK_API int sockleak_open_since(unsigned long cp);

/* A report of the sockets sockleak_open_since(cp) counts, with the stacks that opened
 * them and, for those that read end-of-file, the stacks that did. With buf, the report
 * is written there as text, cut to size - 1 bytes and NUL-terminated (nothing is written
 * when size is 0), and the call returns its whole length, as snprintf does: a result of
 * size or more means it was cut. With buf NULL it goes where sockleak_report() writes
 * (log_path, in the configured format, reason "api"; the JSON object carries
 * "checkpoint"), and the call returns 0. Or a negative errno value. */
SOCKLEAK_API long sockleak_report_since(unsigned long cp, char *buf, size_t size);

#ifdef __cplusplus
}
#endif

#endif
