// stack_depth: frames kept per stack; 2 keeps exactly the two innermost frames of the
// caller (the shim's own frames are never counted).
// OPTIONS: stack_depth=2
// EXPECT: [f["function"] for f in stack(sock(v("s"))["stack"])] == ["level3", "level2"]
// EXPECT: r["options"]["stack_depth"] == 2
#include "common.h"

static NOINLINE int level3(void) { return socket(AF_INET, SOCK_STREAM, 0); }
static NOINLINE int level2(void) { return level3() + 0; }
static NOINLINE int level1(void) { return level2() + 0; }

int main(void)
{
    printf("s=%d\n", level1());
    return 0;
}
