/* fork_tree: the parent opens one socket and forks 3 children; child k leaks k+1
 * sockets from child_leak(), and holds the parent's socket too ("forked": true). */
#include <sys/wait.h>

#include "prog.h"

static NOINLINE int child_leak(void)
{
    return socket(AF_INET, SOCK_DGRAM, 0);
}

static NOINLINE int parent_socket(void)
{
    return socket(AF_INET, SOCK_DGRAM, 0);
}

int main(void)
{
    MUST(parent_socket() >= 0);
    for (int k = 0; k < 3; k++) {
        pid_t p = fork();
        MUST(p >= 0);
        if (p == 0) {
            for (int i = 0; i <= k; i++)
                MUST(child_leak() >= 0);
            exit(0);
        }
        int st;
        MUST(waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    return 0;
}
