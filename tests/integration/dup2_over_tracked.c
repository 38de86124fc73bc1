// dup2()/dup3() onto a tracked socket close the socket that was there: the report
// shows the new one at that number (origin dup), never the old one; a failing dup2
// changes nothing; dup2(fd, fd) is a no-op.
// EXPECT: fds() == {v("a"), v("b"), v("c")} and r["summary"]["live"] == 3
// EXPECT: sock(v("b"))["origin"] == "dup" and sock(v("b"))["type"] == "dgram"
// EXPECT: sock(v("b"))["inode"] == sock(v("a"))["inode"]
// EXPECT: sock(v("c"))["origin"] == "dup" and sock(v("c"))["family"] == "unix"
// EXPECT: fn(sock(v("b"))) == "move_with_dup2" and fn(sock(v("c"))) == "move_with_dup3"
// EXPECT: r["summary"]["closed"] == 3
// EXPECT: v("failret") == -1 and v("failerrno") == 9 and v("same") == v("a")
#include <fcntl.h>

#include "common.h"

static NOINLINE int move_with_dup2(int from, int to)
{
    return dup2(from, to);
}

static NOINLINE int move_with_dup3(int from, int to)
{
    return dup3(from, to, O_CLOEXEC);
}

int main(void)
{
    int a = socket(AF_INET, SOCK_DGRAM, 0);      /* stays */
    int b = socket(AF_INET, SOCK_STREAM, 0);     /* replaced by a copy of a */
    int c = socket(AF_INET6, SOCK_STREAM, 0);    /* replaced by a copy of u */
    int u = socket(AF_UNIX, SOCK_STREAM, 0);
    MUST(a >= 0 && b >= 0 && c >= 0 && u >= 0);
    MUST(move_with_dup2(a, b) == b);
    MUST(move_with_dup3(u, c) == c);
    MUST(close(u) == 0);
    errno = 0;
    int failret = dup2(9999, a); /* invalid source: a must survive */
    int failerrno = errno;
    int same = dup2(a, a);
    printf("a=%d b=%d c=%d failret=%d failerrno=%d same=%d\n", a, b, c, failret, failerrno, same);
    return 0;
}
