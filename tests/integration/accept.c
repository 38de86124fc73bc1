// accept() and accept4(): accepted sockets are tracked with origin "accept", the
// stack of the accepting code, the listener's family and type, and the peer address;
// accept4's flags are honoured and do not confuse the type.
// EXPECT: sock(v("listener"))["state"] == "LISTEN" and r["summary"]["listening"] == 1
// EXPECT: sock(v("a1"))["origin"] == "accept" and fn(sock(v("a1"))) == "take_one"
// EXPECT: sock(v("a2"))["origin"] == "accept" and fn(sock(v("a2"))) == "take_one4"
// EXPECT: sock(v("a1"))["family"] == "inet" and sock(v("a2"))["type"] == "stream"
// EXPECT: sock(v("a1"))["state"] == "ESTABLISHED"
// EXPECT: sock(v("a1"))["peer"] == "127.0.0.1:%d" % v("c1port")
// EXPECT: sock(v("a1"))["local"] == "127.0.0.1:%d" % v("port")
// EXPECT: v("cloexec") == 1 and v("nonblock") == 1
// EXPECT: r["summary"]["live"] == 5
#include <fcntl.h>

#include "common.h"

static NOINLINE int take_one(int l)
{
    struct sockaddr_in peer;
    socklen_t len = sizeof(peer);
    return accept(l, (struct sockaddr *)&peer, &len);
}

static NOINLINE int take_one4(int l)
{
    return accept4(l, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
}

int main(void)
{
    int port, l = listen_local(&port);
    struct sockaddr_in a = local_addr(port);
    int c1 = socket(AF_INET, SOCK_STREAM, 0), c2 = socket(AF_INET, SOCK_STREAM, 0);
    MUST(connect(c1, (struct sockaddr *)&a, sizeof(a)) == 0);
    MUST(connect(c2, (struct sockaddr *)&a, sizeof(a)) == 0);
    int a1 = take_one(l), a2 = take_one4(l);
    MUST(a1 >= 0 && a2 >= 0);
    struct sockaddr_in me;
    socklen_t len = sizeof(me);
    MUST(getsockname(c1, (struct sockaddr *)&me, &len) == 0);
    printf("listener=%d port=%d a1=%d a2=%d c1port=%d cloexec=%d nonblock=%d\n", l, port, a1, a2,
           ntohs(me.sin_port), (fcntl(a2, F_GETFD) & FD_CLOEXEC) != 0, (fcntl(a2, F_GETFL) & O_NONBLOCK) != 0);
    return 0;
}
