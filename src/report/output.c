/*
 * output.c - delivering a formatted report.
 *
 * log_path says where: stderr (the default), stdout, or a file appended to. A file is
 * opened in the I/O child (fd/iochild.c), never in the program's fd table: mode 0600,
 * never through a symbolic link, never another user's file. stderr and stdout are
 * written only while they are the files the program started with and not a network
 * socket (fd/stdfd.c); otherwise, and when the log file cannot be written, the report
 * goes to $TMPDIR/sockleak.PID.log. Each chunk is one write(), so two processes
 * appending to one file never interleave inside a report.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report.h"

_Atomic long sl_reports_written;

/* stdout or stderr, if it is still the program's (stdfd.c). */
static int write_fd(int fd, const char *data, size_t len)
{
    int l = sl_stdfd_get(fd);
    if (l < 0)
        return l;
    int r = sl_write_all(l, data, len);
    sl_owntable_put(l);
    if (r == 0)
        atomic_fetch_add(&sl_reports_written, 1);
    return r;
}

/* Append to a file (in the I/O child: no fd of ours), refusing links and other users' files. */
static int append_file(const char *path, const char *data, size_t len, const char **why)
{
    int r = sl_iochild_append(path, data, len);
    if (r == 0)
        atomic_fetch_add(&sl_reports_written, 1);
    else
        *why = r == -ELOOP   ? "it is a symbolic link"
             : r == -EPERM ? "it belongs to another user"
             : r == -ENXIO ? "it is a FIFO nobody reads"
                           : strerror(-r);
    return r;
}

/* stderr, unless it is gone or a network socket (never write there): then a file */
static int to_stderr(const char *data, size_t len)
{
    if (write_fd(2, data, len) == 0)
        return 0;
    char path[256];
    const char *tmp = getenv("TMPDIR"), *why;
    snprintf(path, sizeof(path), "%s/sockleak.%d.log", tmp && *tmp == '/' ? tmp : "/tmp", (int)getpid());
    return append_file(path, data, len, &why);
}

int sl_report_output(const char *data, size_t len)
{
    static _Atomic int warned;
    int saved = errno, r;
    const char *lp = sl_opt.log_path;
    if (!strcmp(lp, "stderr") || !strcmp(lp, "-")) {
        r = to_stderr(data, len);
    } else if (!strcmp(lp, "stdout")) {
        r = write_fd(1, data, len) == 0 ? 0 : to_stderr(data, len);
    } else {
        char path[sizeof(sl_opt.log_path) + 32];
        const char *why = "";
        sl_expand_path(lp, path, sizeof(path));
        r = append_file(path, data, len, &why);
        if (r != 0) {
            if (!atomic_exchange(&warned, 1))
                sl_log("cannot write reports to '%s' (%s); writing them to stderr", path, why);
            r = to_stderr(data, len);
        }
    }
    errno = saved;
    return r;
}

