/*
 * log.c - the shim's own one-line messages.
 *
 * Messages go to stderr, one write() per line so concurrent lines never interleave,
 * prefixed "sockleak: ". They are never written into a socket of the host's that
 * speaks to the network: a host started by inetd or socket activation may have its
 * stderr on a TCP connection, and a stray line there would corrupt its protocol; nor
 * into a socket the host made itself and that landed on fd 2.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

/* fd is the host's number; l the one this thread reaches it by (sl_hostfd_get). */
static bool safe_for_text(int fd, int l)
{
    struct stat st;
    if (syscall(SYS_fstat, l, &st) != 0) /* raw, as in probe.c: out of a host TSan's sight */
        return false;
    if (!S_ISSOCK(st.st_mode))
        return true;
    int origin = sl_fd_origin(fd);
    if (origin < 0 || (origin && origin != SL_ORIGIN_INHERITED))
        return false; /* the host's own socket, or cannot tell */
    int family = 0;
    socklen_t len = sizeof(family);
    if (syscall(SYS_getsockopt, l, SOL_SOCKET, SO_DOMAIN, &family, &len) != 0)
        return false;
    return family != AF_INET && family != AF_INET6;
}

bool sl_fd_safe_for_text(int fd)
{
    int saved = errno;
    int l = sl_hostfd_get(fd);
    bool r = l >= 0 && safe_for_text(fd, l);
    sl_hostfd_put(l);
    errno = saved;
    return r;
}

static void write_line(const char *msg, size_t len)
{
    int saved = errno;
    int l = sl_hostfd_get(2);
    if (l >= 0 && safe_for_text(2, l)) {
        while (len > 0) {
            ssize_t n = (ssize_t)syscall(SYS_write, l, msg, len);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            msg += n;
            len -= (size_t)n;
        }
    }
    sl_hostfd_put(l);
    errno = saved;
}

void sl_warn_line(const char *msg)
{
    char line[1100];
    int n = snprintf(line, sizeof(line), "sockleak: %s\n", msg);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof(line)) {
        n = sizeof(line) - 1;
        line[n - 1] = '\n';
    }
    write_line(line, (size_t)n);
}

void sl_log(const char *fmt, ...)
{
    char msg[1024];
    int saved = errno;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    sl_warn_line(msg);
    errno = saved;
}
