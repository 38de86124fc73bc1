// vfork(): the child shares the parent's memory until it execs or exits; what it
// closes or dups (as Python's subprocess does with close_fds) must not change the
// parent's registry, since the parent's sockets stay open.
// EXPECT: fds() == {v("s1"), v("s2")} and r["summary"]["live"] == 2
// EXPECT: r["summary"]["closed"] == 0
// EXPECT: v("status") == 0 and v("child_ret") == 0
#include <sys/wait.h>

#include "common.h"

int main(void)
{
    int s1 = socket(AF_INET, SOCK_STREAM, 0);
    int s2 = socket(AF_INET, SOCK_DGRAM, 0);
    MUST(s1 >= 0 && s2 >= 0);
    volatile int child_ret = -1;
    pid_t c = vfork();
    if (c == 0) {
        int r = close(s1);
        r |= dup2(s2, 40) < 0;
        r |= close(40);
        closefrom(3);
        child_ret = r;
        _exit(0);
    }
    MUST(c > 0);
    int status;
    MUST(waitpid(c, &status, 0) == c);
    printf("s1=%d s2=%d status=%d child_ret=%d\n", s1, s2, status, child_ret);
    return 0;
}
