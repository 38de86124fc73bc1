/*
 * syslog.c - one line per report to syslog (option syslog=1, or the path of a socket).
 *
 * Reports are many lines (text) or one long line (JSON): too big for syslog. What goes
 * there is a summary people and log monitors can act on: the program and pid, how many
 * sockets leaked, where the worst leak was opened, and where the full report went:
 *
 *   <12>Nov 21 11:55:39 sockleak[18266]: leaky_client (pid 18266): 3 leaked sockets
 *   (close_wait 3) opened at fetch_user (leaky_client+0x1537) [2f6c0e1d9a7b4c33];
 *   3 live, 3 in CLOSE_WAIT; exit report in /var/log/sockleak/18266.jsonl
 *
 * (one line; severity warning when something leaked or fds ran short, info otherwise;
 * facility user; the RFC 3164 framing glibc's syslog() uses, which journald and
 * rsyslog parse: SYSLOG_IDENTIFIER=sockleak, the pid in _PID as the sender.)
 *
 * The shim does not call syslog(3): that would share (and reconfigure, with openlog)
 * the host's own syslog connection. It sends datagrams from a private AF_UNIX socket,
 * made with the real socket(), adopted as a private fd (fd/ownfd.c: out of the host's
 * way, never recorded) and never connected, so a syslog daemon restart costs nothing.
 * The socket is made when the background thread starts, before it can race a scan.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "report.h"

static _Atomic int sock = -1; /* in the host's table, for reports written by host threads */
static int own_sock = -1;      /* in the shim's thread's own table (fd/owntable.c) */
static pid_t own_sock_pid;

void sl_syslog_open(void)
{
    if (!sl_opt.syslog_path[0])
        return;
    int saved = errno;
    if (sl_tls_own_table) {
        if (own_sock < 0 || own_sock_pid != getpid()) {
            own_sock = real_socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
            own_sock_pid = getpid();
        }
    } else if (atomic_load(&sock) < 0) {
        int fd = real_socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd >= 0) {
            fd = sl_ownfd_adopt(fd, false);
            int none = -1;
            if (!atomic_compare_exchange_strong(&sock, &none, fd))
                sl_ownfd_close(fd);
        }
    }
    errno = saved;
}

size_t sl_syslog_format(const struct sl_report *r, const char *report_where, char *out, size_t len)
{
    static const char *months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    bool trouble = r->leaked > 0 || r->reason == SL_REASON_EMFILE || r->reason == SL_REASON_THRESHOLD;
    int pri = 1 * 8 + (trouble ? 4 : 6); /* user.warning, user.info */
    struct tm tm;
    time_t t = r->wall.tv_sec;
    if (!localtime_r(&t, &tm))
        memset(&tm, 0, sizeof(tm));
    struct sl_buf b;
    sl_buf_init(&b);
    /* month names by hand: strftime's %b follows the host's locale */
    sl_buf_printf(&b, "<%d>%s %2d %02d:%02d:%02d sockleak[%d]: %s (pid %d): ", pri,
                  months[tm.tm_mon >= 0 && tm.tm_mon < 12 ? tm.tm_mon : 0], tm.tm_mday, tm.tm_hour, tm.tm_min,
                  tm.tm_sec, (int)r->pid, r->program, (int)r->pid);
    if (r->reason == SL_REASON_EMFILE)
        sl_buf_printf(&b, "out of file descriptors (%ld open, limit %ld); ", r->env.open_fds, r->trigger.nofile_soft);
    else if (r->reason == SL_REASON_THRESHOLD)
        sl_buf_printf(&b, "threshold reached (%ld fds open of %ld, %ld live sockets); ", r->env.open_fds,
                      r->trigger.nofile_soft, r->live);
    if (r->leaked) {
        sl_buf_printf(&b, "%ld leaked %s (", r->leaked, r->leaked == 1 ? "socket" : "sockets");
        bool first = true;
        for (int k = 1; k < SL_LEAKS; k++)
            if (r->leaks[k]) {
                sl_buf_printf(&b, "%s%s %ld", first ? "" : ", ", sl_leak_name(k), r->leaks[k]);
                first = false;
            }
        sl_buf_puts(&b, ")");
        if (r->ngroups && r->groups[0].leaked) {
            const struct sl_rstack *st = &r->stacks[r->groups[0].stack];
            sl_buf_puts(&b, " opened at ");
            sl_report_where(&b, st);
            sl_buf_printf(&b, " [%s]", st->id);
            if (r->ngroups > 1 && r->groups[1].leaked)
                sl_buf_puts(&b, " and elsewhere");
        }
    } else {
        sl_buf_puts(&b, "no leaked sockets");
    }
    sl_buf_printf(&b, "; %ld live, %ld in CLOSE_WAIT", r->live, r->close_wait);
    if (r->ignored)
        sl_buf_printf(&b, ", %ld ignored", r->ignored);
    sl_buf_printf(&b, "; %s report in %s", sl_reason_name(r->reason), report_where);
    size_t n = 0;
    if (b.data && len) {
        n = b.len < len - 1 ? b.len : len - 1;
        memcpy(out, b.data, n);
        for (size_t k = 0; k < n; k++)
            if (out[k] == '\n' || out[k] == '\r')
                out[k] = ' '; /* one line, whatever a path or program name holds */
        out[n] = '\0';
    }
    sl_buf_free(&b);
    return n;
}

void sl_syslog_report(const struct sl_report *r)
{
    if (!sl_opt.syslog_path[0])
        return;
    sl_syslog_open(); /* the background thread never started (no socket yet) */
    int fd = sl_tls_own_table ? own_sock : atomic_load(&sock);
    if (fd < 0)
        return;
    char where[sizeof(sl_opt.log_path) + 32];
    const char *lp = sl_opt.log_path;
    if (!strcmp(lp, "stderr") || !strcmp(lp, "-") || !strcmp(lp, "stdout"))
        snprintf(where, sizeof(where), "%s", !strcmp(lp, "stdout") ? "stdout" : "stderr");
    else
        sl_expand_path(lp, where, sizeof(where));
    char msg[2048];
    size_t n = sl_syslog_format(r, where, msg, sizeof(msg));
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sl_opt.syslog_path);
    int saved = errno;
    ssize_t w = sendto(fd, msg, n, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&sa, sizeof(sa));
    int e = errno;
    errno = saved;
    static _Atomic int warned;
    if (w < 0 && e != EAGAIN && !atomic_exchange(&warned, 1))
        sl_log("cannot send the report summary to syslog at %s (%s)", sl_opt.syslog_path, strerror(e));
}
