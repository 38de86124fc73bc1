// Sockets made, copied and closed through syscall() (libuv closes with
// syscall(SYS_close, fd)) are seen like those of the libc functions: nothing is closed
// behind the shim's back, and the one left open is named with its stack. errno and
// return values are libc's.
// EXPECT: fds() == {v("kept")}
// EXPECT: fn(sock(v("kept"))) == "open_raw"
// EXPECT: r["coverage"]["closed_behind_back"] == 0 and r["unseen"]["found_open"] == 0
// EXPECT: r["summary"]["opened"] == 7 and r["summary"]["closed"] == 6
// EXPECT: v("badclose") == -1 and v("badclose_errno") == 9
#include <fcntl.h>
#include <sys/syscall.h>

#include "common.h"

static NOINLINE int open_raw(void)
{
    return (int)syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
}

int main(void)
{
    int a = open_raw();
    MUST(a >= 0);
    int b = (int)syscall(SYS_dup, a);
    MUST(b >= 0);
    int c = (int)syscall(SYS_fcntl, a, F_DUPFD_CLOEXEC, 100);
    MUST(c >= 100);
    int d = (int)syscall(SYS_dup3, a, 200, 0);
    MUST(d == 200);
    int sv[2];
    MUST(syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    MUST(syscall(SYS_close, b) == 0);
    MUST(syscall(SYS_close, c) == 0);
    MUST(syscall(SYS_close, d) == 0);
    MUST(syscall(SYS_close_range, (unsigned)sv[0], (unsigned)sv[0], 0) == 0);
    MUST(syscall(SYS_close, sv[1]) == 0);
    errno = 0;
    long bad = syscall(SYS_close, 12345);
    int e = errno;
    int kept = open_raw(); /* a's twin; a itself is closed by libc's close() */
    MUST(close(a) == 0);
    printf("kept=%d badclose=%ld badclose_errno=%d\n", kept, bad, e);
    return 0;
}
