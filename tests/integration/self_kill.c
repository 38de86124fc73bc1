// A program that ends itself with a fatal signal whose action is the default
// (kill(getpid(), SIGTERM) here; Python re-raises SIGINT after Ctrl-C) writes its exit
// report first, naming what it still holds.
// EXIT: -15
// EXPECT: r["reason"] == "exit" and len(mine) == 1
// EXPECT: fds() == {v("held")} and fn(sock(v("held"))) == "hold_one"
#include <signal.h>

#include "common.h"

static NOINLINE int hold_one(void)
{
    return socket(AF_INET, SOCK_STREAM, 0);
}

int main(void)
{
    int held = hold_one();
    MUST(held >= 0);
    printf("held=%d\n", held);
    fflush(stdout);
    signal(SIGTERM, SIG_DFL);
    kill(getpid(), SIGTERM);
    return 3; /* not reached */
}
