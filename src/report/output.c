/*
 * output.c - delivering a formatted report.
 *
 * log_path says where: stderr (the default), stdout, or a file appended to. A file is
 * opened in the I/O child (fd/iochild.c), never in the program's fd table: mode 0600,
 * never through a symbolic link, never another user's file. stderr and stdout are
 * written only while they are the files the program started with and not a network
 * socket (fd/stdfd.c); otherwise, and when the log file cannot be written, the report
 * goes to $TMPDIR/sockleak.PID.log ($TMPDIR as the program started: base/self.c). Each chunk is one write(), so two processes
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

static void said(struct sl_delivery *d, const char *where)
{
    snprintf(d->where, sizeof(d->where), "%s", where);
}

/* stdout or stderr, if it is still the program's (stdfd.c). */
static int write_fd(int fd, const char *data, size_t len, struct sl_delivery *d)
{
    int l = sl_stdfd_get(fd);
    if (l < 0)
        return l;
    int r = sl_write_all(l, data, len);
    sl_owntable_put(l);
    if (r == 0) {
        atomic_fetch_add(&sl_reports_written, 1);
        said(d, fd == 1 ? "stdout" : "stderr");
    }
    return r;
}

static const char *why(int r)
{
    return r == -ELOOP    ? "it is a symbolic link"
         : r == -EPERM  ? "it belongs to another user"
         : r == -ENXIO  ? "it is a FIFO nobody reads"
         : r == -ESTALE ? "the program replaced it since it started"
         : r == -ENOTCONN ? "it is a network socket"
                          : strerror(-r);
}

/* Append to a file (in the I/O child: no fd of ours), refusing links and other users' files. */
static int append_file(const char *path, const char *data, size_t len, struct sl_delivery *d)
{
    int r = sl_iochild_append(path, data, len);
    if (r == 0) {
        atomic_fetch_add(&sl_reports_written, 1);
        said(d, path);
    }
    return r;
}

/* $TMPDIR/sockleak.PID.log: where reports go when their place cannot take them. Its
 * first lines say why, once per process. */
static int to_fallback(const char *data, size_t len, struct sl_delivery *d)
{
    static pid_t noted;
    char path[sizeof(sl_tmpdir) + 32];
    snprintf(path, sizeof(path), "%s/sockleak.%d.log", sl_tmpdir, (int)getpid());
    if (noted != getpid()) {
        char note[1024];
        int n = snprintf(note, sizeof(note), "sockleak: %s (pid %d): reports go to this file: %s cannot take them (%s)\n",
                         sl_program, (int)getpid(), d->intended, why(d->err));
        if (n > 0 && sl_iochild_append(path, note, (size_t)n < sizeof(note) ? (size_t)n : sizeof(note) - 1) == 0)
            noted = getpid();
    }
    return append_file(path, data, len, d);
}

/* stderr or stdout (fd), unless it is gone, replaced or a network socket: then a file */
static int to_std(int fd, const char *data, size_t len, struct sl_delivery *d)
{
    int r = write_fd(fd, data, len, d);
    if (r == 0)
        return 0;
    snprintf(d->intended, sizeof(d->intended), "%s", fd == 1 ? "stdout" : "stderr");
    d->err = r;
    return to_fallback(data, len, d);
}

int sl_report_output(const char *data, size_t len, struct sl_delivery *delivery)
{
    static _Atomic int warned;
    SL_KEEP_ERRNO();
    struct sl_delivery mine;
    struct sl_delivery *d = delivery ? delivery : &mine;
    memset(d, 0, sizeof(*d));
    const char *lp = sl_opt.log_path;
    if (!strcmp(lp, "stderr") || !strcmp(lp, "-"))
        return to_std(2, data, len, d);
    if (!strcmp(lp, "stdout"))
        return to_std(1, data, len, d);
    char path[sizeof(sl_opt.log_path) + 32];
    sl_expand_path(lp, path, sizeof(path));
    int r = append_file(path, data, len, d);
    if (r == 0)
        return 0;
    snprintf(d->intended, sizeof(d->intended), "%s", path);
    d->err = r;
    r = write_fd(2, data, len, d);
    if (r != 0)
        r = to_fallback(data, len, d);
    if (!atomic_exchange(&warned, 1))
        sl_log("cannot write reports to '%s' (%s); writing them to %s", path, why(d->err),
               d->where[0] ? d->where : "nowhere");
    return r;
}
