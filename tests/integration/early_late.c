// Start-up and shutdown order: a library whose constructor runs before the shim's
// calls socket() (the shim initializes itself on that first call and records it with
// its stack), and whose destructor closes a socket after the shim's destructor ran
// (the exit report is written after every destructor, so that socket is not listed).
// RUN: LD_PRELOAD="%preload %B/tests/integration/so_early.so" %t
// EXPECT: v("early") in fds() and fn(sock(v("early"))) == "open_in_constructor"
// EXPECT: r["summary"]["live"] == 2 and fds() == {v("early"), v("mine")}
// EXPECT: v("first") == 1
#include <dlfcn.h>

#include "common.h"

int main(void)
{
    int *early = dlsym(RTLD_DEFAULT, "early_fd");
    MUST(early && *early >= 0);
    int mine = socket(AF_INET, SOCK_STREAM, 0);
    /* the early socket was made before the shim's constructor: is it still the first fd? */
    printf("early=%d mine=%d first=%d\n", *early, mine, *early < mine);
    return 0;
}
