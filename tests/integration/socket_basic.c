// socket(): every live socket is reported once, with the stack of the code that made
// it (frame 0 = the caller of socket(), found in .symtab: no -rdynamic); closed
// sockets are not reported; counts are exact.
// EXPECT: r["reason"] == "exit" and r["tool"] == "sockleak" and r["pid"] == pid
// EXPECT: r["summary"]["live"] == 2 and fds() == {v("tcp"), v("udp")}
// EXPECT: sock(v("tcp"))["family"] == "inet" and sock(v("tcp"))["type"] == "stream"
// EXPECT: sock(v("udp"))["family"] == "inet6" and sock(v("udp"))["type"] == "dgram"
// EXPECT: sock(v("tcp"))["origin"] == "socket" and sock(v("tcp"))["leak"] is None
// EXPECT: fn(sock(v("tcp"))) == "open_tcp" and fns(sock(v("tcp")))[1] == "main"
// EXPECT: fn(sock(v("udp"))) == "open_udp"
// EXPECT: sock(v("tcp"))["stack"] != sock(v("udp"))["stack"]
// EXPECT: r["summary"]["opened"] == 3 and r["summary"]["closed"] == 1
// EXPECT: all(f["module"].endswith("/socket_basic") for f in stack(sock(v("tcp"))["stack"])[:2])
// EXPECT: all(re.fullmatch(r"0x[0-9a-f]+", f["ip"]) and re.fullmatch(r"0x[0-9a-f]+", f["module_offset"]) for s in r["stacks"] for f in s["frames"])
// EXPECT: len(r["groups"]) == 2 and sum(g["count"] for g in r["groups"]) == 2
// EXPECT: re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", r["timestamp"])
#include "common.h"

static NOINLINE int open_tcp(void)
{
    return socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
}

static NOINLINE int open_udp(void)
{
    return socket(AF_INET6, SOCK_DGRAM, 0);
}

int main(void)
{
    int t = open_tcp(), u = open_udp(), gone = socket(AF_UNIX, SOCK_STREAM, 0);
    MUST(t >= 0 && u >= 0 && gone >= 0);
    MUST(close(gone) == 0);
    printf("tcp=%d udp=%d\n", t, u);
    return 0;
}
