// socketpair(): both ends are tracked, origin "socketpair", family unix, same stack.
// EXPECT: r["summary"]["live"] == 2 and fds() == {v("a"), v("b")}
// EXPECT: sock(v("a"))["origin"] == "socketpair" and sock(v("b"))["origin"] == "socketpair"
// EXPECT: sock(v("a"))["family"] == "unix" and sock(v("a"))["type"] == "seqpacket"
// EXPECT: sock(v("a"))["stack"] == sock(v("b"))["stack"] and fn(sock(v("a"))) == "make_pair"
// EXPECT: sock(v("a"))["state"] is None
#include "common.h"

static NOINLINE void make_pair(int sv[2])
{
    MUST(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
}

int main(void)
{
    int sv[2], gone[2];
    make_pair(sv);
    MUST(socketpair(AF_UNIX, SOCK_STREAM, 0, gone) == 0);
    close(gone[0]);
    close(gone[1]);
    printf("a=%d b=%d\n", sv[0], sv[1]);
    return 0;
}
