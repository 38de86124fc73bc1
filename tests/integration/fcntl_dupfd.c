// fcntl(F_DUPFD) and fcntl(F_DUPFD_CLOEXEC), also through fcntl64: the copies are
// tracked as dups; other fcntl commands pass through with their values.
// EXPECT: fds() == {v("s"), v("d1"), v("d2"), v("d3")}
// EXPECT: all(sock(v(k))["origin"] == "dup" for k in ("d1", "d2", "d3"))
// EXPECT: v("d1") >= 50 and v("d2") >= 60 and v("d3") >= 70
// EXPECT: fn(sock(v("d3"))) == "dup_via_fcntl64"
// EXPECT: v("cloexec") == 1 and v("flags_ok") == 1
#include <fcntl.h>

#include "common.h"

extern int fcntl64(int fd, int cmd, ...);

static NOINLINE int dup_via_fcntl64(int fd)
{
    return fcntl64(fd, F_DUPFD_CLOEXEC, 70);
}

int main(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    int d1 = fcntl(s, F_DUPFD, 50);
    int d2 = fcntl(s, F_DUPFD_CLOEXEC, 60);
    int d3 = dup_via_fcntl64(s);
    MUST(d1 >= 0 && d2 >= 0 && d3 >= 0);
    int flags_ok = fcntl(s, F_SETFL, O_NONBLOCK) == 0 && (fcntl(s, F_GETFL) & O_NONBLOCK);
    printf("s=%d d1=%d d2=%d d3=%d cloexec=%d flags_ok=%d\n", s, d1, d2, d3, (fcntl(d2, F_GETFD) & FD_CLOEXEC) != 0,
           flags_ok);
    return 0;
}
