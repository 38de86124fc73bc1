// follow_children=0 (the launcher's --no-children): the shim watches this process and
// takes itself out of LD_PRELOAD, so a program it executes runs without it: no report
// from the child, which sees an LD_PRELOAD without libsockleak (the other libraries in
// it are kept).
// OPTIONS: follow_children=0
// RUN: LD_PRELOAD="%preload:/lib/x86_64-linux-gnu/libdl.so.2" %t
// EXPECT: [x["pid"] for x in reports] == [pid] and fds() == {v("mine")}
// EXPECT: v("child_has_shim") == 0 and v("child_sockets_ok") == 1 and v("other_kept") == 1
#include <sys/wait.h>

#include "common.h"

int main(int argc, char **argv)
{
    if (argc > 1) { /* the child */
        const char *pre = getenv("LD_PRELOAD");
        int s = socket(AF_INET, SOCK_STREAM, 0);
        printf("child_has_shim=%d other_kept=%d child_sockets_ok=%d\n", pre && strstr(pre, "libsockleak") != NULL,
               pre && strstr(pre, "libdl.so.2") != NULL, s >= 0 && sockleak_stats == NULL);
        return 0;
    }
    int mine = socket(AF_INET, SOCK_STREAM, 0);
    printf("mine=%d\n", mine);
    fflush(stdout);
    pid_t p = fork();
    MUST(p >= 0);
    if (p == 0) {
        execl("/proc/self/exe", argv[0], "child", (char *)NULL);
        _exit(90);
    }
    int st;
    MUST(waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    return 0;
}
