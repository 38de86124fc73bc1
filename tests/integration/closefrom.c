// closefrom(): every socket at or above the bound is untracked, those below stay;
// the shim keeps working afterwards (its own descriptors survive the sweep), and
// sockets opened later are tracked with their stacks.
// EXPECT: fds() == {v("low"), v("after")} and r["summary"]["live"] == 2
// EXPECT: fn(sock(v("after"))) == "open_after_sweep" and len(stack(sock(v("after"))["stack"])) >= 2
// EXPECT: r["summary"]["closed"] == 8
#include "common.h"

static NOINLINE int open_after_sweep(void)
{
    return socket(AF_INET, SOCK_STREAM, 0);
}

int main(void)
{
    int low = socket(AF_INET, SOCK_STREAM, 0);
    int bound = low + 1;
    for (int i = 0; i < 8; i++)
        MUST(socket(AF_INET, SOCK_STREAM, 0) == bound + i);
    closefrom(bound);
    int after = open_after_sweep();
    MUST(after == bound);
    printf("low=%d after=%d\n", low, after);
    return 0;
}
