// stack_depth=0 records no frames: sockets are still tracked and reported, with the
// stack "none".
// OPTIONS: stack_depth=0
// EXPECT: r["summary"]["live"] == 1 and sock(v("s"))["stack"] == "none"
// EXPECT: r["stacks"] == [{"id": "none", "frames": []}]
#include "common.h"

int main(void)
{
    printf("s=%d\n", socket(AF_INET, SOCK_STREAM, 0));
    return 0;
}
