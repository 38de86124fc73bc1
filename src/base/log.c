/*
 * log.c - the shim's own one-line messages.
 *
 * Each message is one line, "sockleak: PROGRAM (pid PID): ...", handed whole to a sink (one write per
 * line, so concurrent lines never interleave). The sink is set once at start-up by the
 * layer that knows where text may safely go (fd/stdfd.c: the program's stderr, and
 * only while it is still the file the program was started with, never a network
 * socket). Before that, a message goes to fd 2 only if fd 2 is not a socket. This
 * module asks nobody anything: it knows no fds, no registry.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>

#include "base.h"

/* Before start-up wires the real sink: fd 2, unless it is a socket (it could be the
 * program's TCP connection, inetd style). */
static void early_sink(const char *line, size_t len)
{
    struct stat st;
    if (SL_SYS(SYS_fstat, 2, &st) == 0 && !S_ISSOCK(st.st_mode))
        sl_write_all(2, line, len);
}

static void (*_Atomic sink)(const char *line, size_t len) = early_sink;

void sl_log_set_sink(void (*s)(const char *line, size_t len))
{
    atomic_store(&sink, s ? s : early_sink);
}

void sl_warn_line(const char *msg)
{
    SL_KEEP_ERRNO();
    char line[1400];
    int n = snprintf(line, sizeof(line), "sockleak: %s (pid %d): %s\n", sl_program, (int)SL_SYS(SYS_getpid), msg);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof(line)) {
        n = sizeof(line) - 1;
        line[n - 1] = '\n';
    }
    atomic_load(&sink)(line, (size_t)n);
}

void sl_log(const char *fmt, ...)
{
    SL_KEEP_ERRNO();
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    sl_warn_line(msg);
}
