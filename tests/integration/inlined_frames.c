// A call inlined into another is shown as two frames, as addr2line -i shows them: the
// inlined function, at the line inside it that made the socket, marked inlined, then
// the function it was inlined into, at the line where it called it. The stack id comes
// from the physical frames only: the same in both runs of this program.
// RUN: %t ; %t
// EXPECT: [f["function"] for f in stack(sock(v("fd"))["stack"])[:3]] == ["connect_backend", "check_backend", "main"]
// EXPECT: [f["inlined"] for f in stack(sock(v("fd"))["stack"])[:3]] == [True, False, False]
// EXPECT: [f["line"] for f in stack(sock(v("fd"))["stack"])[:2]] == [v("socket_line"), v("call_line")]
// EXPECT: len({x["sockets"][0]["stack"] for x in reports}) == 1 and len(reports) == 2
#include "common.h"

static inline __attribute__((always_inline)) int connect_backend(void)
{
    return socket(AF_INET, SOCK_STREAM, 0); /* socket_line */
}

static NOINLINE int check_backend(void)
{
    int s = connect_backend(); /* call_line */
    return s;
}

int main(void)
{
    int fd = check_backend();
    MUST(fd >= 0);
    printf("fd=%d socket_line=%d call_line=%d\n", fd, 14, 19);
    return 0;
}
