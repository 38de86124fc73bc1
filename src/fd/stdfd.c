/*
 * stdfd.c - the program's stdout and stderr, as they were when it started.
 *
 * Reports and the shim's messages go to stderr (or stdout) by default. But fd 2 is a
 * number, and the file behind it can change: a daemon closes fds 0-2 and opens its
 * data files, which take those numbers; a server closes its stderr and the next
 * accepted connection lands on fd 2. Text written to "fd 2" then corrupts a data file
 * or speaks into a client's protocol. So the identity of fds 1 and 2 (device, inode,
 * file type) is read once at start-up, and text goes to one of them only while it is
 * still that file. A network socket (a program started by inetd, or socket-activated
 * with its stdio on the connection) never gets text, even if it was there at start; a
 * unix socket that was (journald's stream) does.
 */
#define _GNU_SOURCE
#include <sys/stat.h>

#include "fd.h"

struct std_id {
    bool open;        /* open at start-up */
    bool inet;        /* an inet socket: never written to */
    uint64_t dev, ino;
};
static struct std_id ids[3];
static bool remembered;

static bool inet_socket(int fd)
{
    int family = 0;
    socklen_t len = sizeof(family);
    return SL_SYS(SYS_getsockopt, fd, SOL_SOCKET, SO_DOMAIN, &family, &len) == 0
        && (family == AF_INET || family == AF_INET6);
}

void sl_stdfd_remember(void)
{
    for (int fd = 1; fd <= 2; fd++) {
        struct stat st;
        struct std_id *id = &ids[fd];
        id->open = SL_SYS(SYS_fstat, fd, &st) == 0;
        if (id->open) {
            id->dev = (uint64_t)st.st_dev;
            id->ino = (uint64_t)st.st_ino;
            id->inet = S_ISSOCK(st.st_mode) && inet_socket(fd);
        }
    }
    remembered = true;
}

int sl_stdfd_get(int fd)
{
    if (fd != 1 && fd != 2)
        return -EBADF;
    const struct std_id *id = &ids[fd];
    if (remembered && !id->open)
        return -ESTALE; /* closed at start-up: whatever holds the number now is not a stderr */
    if (remembered && id->inet)
        return -ENOTCONN;
    int l = sl_owntable_get(fd);
    if (l < 0)
        return l;
    struct stat st;
    int r = (int)SL_SYS(SYS_fstat, l, &st);
    if (r == 0 && remembered && ((uint64_t)st.st_dev != id->dev || (uint64_t)st.st_ino != id->ino))
        r = -ESTALE;
    else if (r == 0 && !remembered && S_ISSOCK(st.st_mode) && inet_socket(l))
        r = -ENOTCONN;
    if (r != 0) {
        sl_owntable_put(l);
        return r;
    }
    return l;
}

void sl_stdfd_log_sink(const char *line, size_t len)
{
    int l = sl_stdfd_get(2);
    if (l >= 0) {
        sl_write_all(l, line, len);
        sl_owntable_put(l);
    }
}
