// The program's close() of one of the shim's own fds (libunwind's pipe, moved to the
// top of the fd space at the first socket()) fails with EBADF, as for a number the
// program never opened, and the fd stays open: the unwinder keeps working, so later
// sockets still get their stacks. So does dup2() onto one.
// EXPECT: v("shim_fds") == 2
// EXPECT: v("close_ebadf") == 2 and v("dup2_ebadf") == 2 and v("still_open") == 2
// EXPECT: fn(sock(v("later"))) == "open_later"
#include <dirent.h>

#include "common.h"

static NOINLINE int open_later(void)
{
    return socket(AF_INET, SOCK_STREAM, 0);
}

int main(void)
{
    int first = socket(AF_INET, SOCK_STREAM, 0); /* the shim has unwound once: its pipe is open */
    MUST(first >= 0);
    int mine[16], n = 0;
    DIR *d = opendir("/proc/self/fd"); /* the FIFOs high up are the shim's: this program opened none */
    MUST(d != NULL);
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 16) {
        int fd = atoi(e->d_name);
        struct stat st;
        if (fd >= 100 && fd != dirfd(d) && fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode))
            mine[n++] = fd;
    }
    closedir(d);
    int close_ebadf = 0, dup2_ebadf = 0, still_open = 0;
    for (int i = 0; i < n; i++) {
        errno = 0;
        close_ebadf += close(mine[i]) == -1 && errno == EBADF;
        errno = 0;
        dup2_ebadf += dup2(first, mine[i]) == -1 && errno == EBADF;
        struct stat st;
        still_open += fstat(mine[i], &st) == 0 && S_ISFIFO(st.st_mode);
    }
    int later = open_later();
    MUST(later >= 0);
    printf("shim_fds=%d close_ebadf=%d dup2_ebadf=%d still_open=%d later=%d\n", n, close_ebadf, dup2_ebadf, still_open,
           later);
    return 0;
}
