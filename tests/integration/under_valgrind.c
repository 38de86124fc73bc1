// A program run under valgrind with the shim preloaded: valgrind runs the shim's
// CLONE_VM helper children as forks, whose work never comes back; the shim notices
// and does that work in place, so the report still lists the program's sockets
// with names and lines (symbol tables and debug information are read in place), and
// its start-up does not fall back to probing every fd number.
// RUN: valgrind -q --error-exitcode=0 %t
// ASAN: skip (valgrind and AddressSanitizer do not mix)
// TIMEOUT: 120
// EXPECT: fds() == {v("l"), v("c"), v("s")}
// EXPECT: sock(v("s"))["peer"] == "127.0.0.1:%d" % v("cport")
// EXPECT: fn(sock(v("c"))) == "main" and stack(sock(v("c"))["stack"])[0]["line"] > 0
#include "common.h"

int main(void)
{
    int port, l = listen_local(&port);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = local_addr(port);
    MUST(connect(c, (struct sockaddr *)&a, sizeof(a)) == 0);
    int s = accept(l, NULL, NULL);
    MUST(s >= 0);
    struct sockaddr_in ca;
    socklen_t calen = sizeof(ca);
    MUST(getsockname(c, (struct sockaddr *)&ca, &calen) == 0);
    printf("l=%d c=%d s=%d cport=%d\n", l, c, s, ntohs(ca.sin_port));
    return 0;
}
