// clone(CLONE_VM) without CLONE_FILES: the child shares the parent's memory (and its
// TLS) but has its own fd table; what it closes must not change the parent's
// registry. A CLONE_VM|CLONE_FILES child shares both: its closes are real for the
// parent too, and the parent's report must reflect them.
// EXPECT: fds() == {v("s1"), v("s2")} and r["summary"]["live"] == 2
// EXPECT: v("status") == 0 and v("gone_closed") == 1
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>

#include "common.h"

static int target;

static int child_closes(void *arg)
{
    (void)arg;
    close(target);
    return 0;
}

int main(void)
{
    static char stack1[256 * 1024], stack2[256 * 1024];
    int s1 = socket(AF_INET, SOCK_STREAM, 0);
    int s2 = socket(AF_INET, SOCK_DGRAM, 0);
    int gone = socket(AF_INET6, SOCK_DGRAM, 0);
    MUST(s1 >= 0 && s2 >= 0 && gone >= 0);

    target = s1; /* own fd table: s1 stays open in the parent */
    pid_t c = clone(child_closes, stack1 + sizeof(stack1), CLONE_VM | SIGCHLD, NULL);
    MUST(c > 0);
    int status;
    MUST(waitpid(c, &status, 0) == c);

    /* the parent makes sockets while no child runs */
    int s3 = socket(AF_INET, SOCK_STREAM, 0);
    MUST(close(s3) == 0);

    target = gone; /* shared fd table: gone really closes */
    pid_t c2 = clone(child_closes, stack2 + sizeof(stack2), CLONE_VM | CLONE_FILES | SIGCHLD, NULL);
    MUST(c2 > 0);
    int status2;
    MUST(waitpid(c2, &status2, 0) == c2);
    int gone_closed = fcntl(gone, F_GETFD) < 0 && errno == EBADF;
    printf("s1=%d s2=%d status=%d gone_closed=%d\n", s1, s2, status | status2, gone_closed);
    return 0;
}
