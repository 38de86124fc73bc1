// fork(): the child reports on its own sockets (those it inherited and those it made)
// to its own %p file, with its own pid; the parent's report is unaffected by what the
// child closes.
// EXPECT: len(others) == 1 and others[0]["pid"] == v("child") and others[0]["reason"] == "exit"
// EXPECT: others[0]["ppid"] == pid
// EXPECT: {s["fd"] for s in others[0]["sockets"]} == {v("shared"), v("mine")}
// EXPECT: fn(sock(v("mine"), others[0]), rep=others[0]) == "child_socket"
// EXPECT: fds() == {v("shared"), v("dropped")}
// EXPECT: v("status") == 0
// EXPECT: sock(v("shared"), others[0])["forked"] and not sock(v("mine"), others[0])["forked"]
// EXPECT: not sock(v("shared"))["forked"]
#include <sys/wait.h>

#include "common.h"

static NOINLINE int child_socket(void)
{
    return socket(AF_INET, SOCK_DGRAM, 0);
}

int main(void)
{
    int shared = socket(AF_INET, SOCK_STREAM, 0);
    int dropped = socket(AF_INET, SOCK_STREAM, 0);
    fflush(stdout);
    pid_t c = fork();
    MUST(c >= 0);
    if (c == 0) {
        close(dropped);
        int mine = child_socket();
        printf("mine=%d\n", mine);
        exit(0); /* exit, not _exit: the child writes its own report */
    }
    int status;
    MUST(waitpid(c, &status, 0) == c);
    printf("shared=%d dropped=%d child=%d status=%d\n", shared, dropped, (int)c, status);
    return 0;
}
