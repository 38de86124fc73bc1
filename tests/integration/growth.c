// Growth: every report says, per stack, how many sockets it added and removed since
// the previous report and since start, so a slow leak shows as the stack that only
// grows. (stack_depth=1: the two rounds call leaky() from two places in main.)
// OPTIONS: stack_depth=1
// EXPECT: [x["reason"] for x in mine] == ["api", "exit"]
// EXPECT: mine[0]["growth"]["since_ms"] is None and r["growth"]["since_ms"] >= 0
// EXPECT: [g for g in r["growth"]["stacks"] if fn(g["stack"]) == "leaky"][0] == {"stack": [g for g in r["growth"]["stacks"] if fn(g["stack"]) == "leaky"][0]["stack"], "added": 5, "removed": 1, "net": 4, "added_total": 8, "removed_total": 1}
// EXPECT: r["growth"]["stacks"][0]["stack"] == sock(v("last"))["stack"]
// EXPECT: [g for g in r["growth"]["stacks"] if fn(g["stack"]) == "steady"][0]["net"] == 0
#include "common.h"

static NOINLINE int leaky(void)
{
    return socket(AF_INET, SOCK_STREAM, 0);
}

static NOINLINE void steady(void)
{
    close(socket(AF_INET, SOCK_DGRAM, 0));
}

int main(void)
{
    for (int i = 0; i < 3; i++)
        leaky();
    steady();
    MUST(sockleak_report && sockleak_report() == 0);
    int last = -1, first = -1;
    for (int i = 0; i < 5; i++) {
        last = leaky();
        if (first < 0)
            first = last;
    }
    close(first);
    steady();
    printf("last=%d\n", last);
    return 0;
}
