// dup(): the copy is tracked with origin "dup", the stack of the dup() call site,
// and origin_stack pointing at the stack that created the socket; both copies are
// the same socket (same inode); dup of a non-socket is not tracked.
// EXPECT: r["summary"]["live"] == 2 and fds() == {v("orig"), v("copy")}
// EXPECT: sock(v("copy"))["origin"] == "dup" and fn(sock(v("copy"))) == "copy_it"
// EXPECT: fn(sock(v("orig"))) == "make_it"
// EXPECT: sock(v("copy"))["origin_stack"] == sock(v("orig"))["stack"]
// EXPECT: sock(v("copy"))["inode"] == sock(v("orig"))["inode"] and sock(v("copy"))["inode"] > 0
// EXPECT: sock(v("copy"))["family"] == "inet" and sock(v("copy"))["type"] == "stream"
#include "common.h"

static NOINLINE int make_it(void)
{
    return socket(AF_INET, SOCK_STREAM, 0);
}

static NOINLINE int copy_it(int fd)
{
    return dup(fd);
}

int main(void)
{
    int s = make_it(), c = copy_it(s);
    MUST(s >= 0 && c >= 0);
    int p[2];
    MUST(pipe(p) == 0);
    int pd = dup(p[0]);
    MUST(pd >= 0);
    printf("orig=%d copy=%d\n", s, c);
    return 0;
}
