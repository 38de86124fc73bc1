// A process that never makes a socket carries nothing of the shim's: no fd (not even
// libunwind's pipe, opened at the first unwind, which is the first socket's, nor the
// worker's eventfd), no thread. What most processes under a preload are (a shell, a
// helper a test spawns) and what a program listing its own fds sees (CPython's
// subprocess tests do). Then its first socket brings both: the socket, the pipe's two
// ends and the eventfd (and, when the shim's thread shares the fd table, as in a
// sanitizer run, its control socket, listed apart).
// EXPECT: j("before") == {"fds": [0, 1, 2], "threads": 1}
// EXPECT: j("after")["threads"] == 2 and len(j("after")["fds"]) == 7
// EXPECT: fds() == {3}
#include <dirent.h>

#include "common.h"

static void show(const char *name)
{
    DIR *d = opendir("/proc/self/fd");
    MUST(d != NULL);
    printf("%s={\"fds\": [", name);
    struct dirent *e;
    int n = 0;
    int control = 0;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.' && atoi(e->d_name) != dirfd(d)) {
            if (shim_control_socket(atoi(e->d_name)))
                control++;
            else
                printf("%s%s", n++ ? ", " : "", e->d_name);
        }
    closedir(d);
    int threads = 0;
    d = opendir("/proc/self/task");
    MUST(d != NULL);
    while ((e = readdir(d)))
        threads += e->d_name[0] != '.';
    closedir(d);
    printf("], \"threads\": %d%s}\n", threads, control ? ", \"control_socket_shared\": true" : "");
}

int main(void)
{
    usleep(100000);
    show("before");
    MUST(socket(AF_INET, SOCK_STREAM, 0) == 3);
    usleep(100000);
    show("after"); /* 0 1 2, the socket, libunwind's pipe */
    return 0;
}
