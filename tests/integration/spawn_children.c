// posix_spawn(), popen() and system(): glibc starts these children with an internal
// clone(CLONE_VM|CLONE_VFORK) and runs their file actions with internal calls, so the
// parent's registry must not change (nothing is closed in the parent, whatever the
// child's file actions close); each child, which runs this program again under its
// own shim, writes its own exit report with the socket it inherited (origin
// "inherited") and the one it made (with its stack).
// EXPECT: fds() == {v("kept"), v("closed_in_child"), v("cloexec")} and r["summary"]["closed"] == 0
// EXPECT: v("spawn_status") == 0 and v("popen_status") == 0 and v("system_status") == 0
// EXPECT: sorted(x["pid"] for x in others if x["program"] == "spawn_children") == sorted([v("spawn_pid"), v("popen_pid"), v("system_pid")])
// EXPECT: all(x["reason"] == "exit" for x in others)
// EXPECT: all(sock(v("kept"), x)["origin"] == "inherited" for x in others if x["program"] == "spawn_children")
// EXPECT: all(fn(sock(v("mine_%d" % x["pid"]), x), rep=x) == "child_socket" for x in others if x["program"] == "spawn_children")
// EXPECT: all(sock(v("cloexec"), x) is None or sock(v("cloexec"), x)["origin"] != "inherited" for x in others)
// EXPECT: sock(v("closed_in_child"), [x for x in others if x["pid"] == v("spawn_pid")][0]) is None or v("closed_in_child") == v("mine_%d" % v("spawn_pid"))
#include <spawn.h>
#include <sys/wait.h>

#include "common.h"

extern char **environ;

static NOINLINE int child_socket(void)
{
    return socket(AF_INET, SOCK_DGRAM, 0);
}

int main(int argc, char **argv)
{
    if (argc == 2) { /* a child */
        int mine = child_socket();
        MUST(mine >= 0);
        printf("%s_pid=%d mine_%d=%d\n", argv[1], (int)getpid(), (int)getpid(), mine);
        return 0;
    }
    int kept = socket(AF_INET, SOCK_STREAM, 0);
    int closed_in_child = socket(AF_INET, SOCK_STREAM, 0);
    int cloexec = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    MUST(kept >= 0 && closed_in_child >= 0 && cloexec >= 0);
    printf("kept=%d closed_in_child=%d cloexec=%d\n", kept, closed_in_child, cloexec);
    fflush(stdout);

    /* posix_spawn, with file actions that close and duplicate in the child */
    posix_spawn_file_actions_t fa;
    MUST(posix_spawn_file_actions_init(&fa) == 0);
    MUST(posix_spawn_file_actions_addclose(&fa, closed_in_child) == 0);
    MUST(posix_spawn_file_actions_adddup2(&fa, kept, 60) == 0);
    MUST(posix_spawn_file_actions_addclose(&fa, 60) == 0);
    MUST(posix_spawn_file_actions_addclosefrom_np(&fa, 100) == 0);
    char *args[] = { argv[0], "spawn", NULL };
    pid_t c;
    MUST(posix_spawn(&c, "/proc/self/exe", &fa, NULL, args, environ) == 0);
    int status;
    MUST(waitpid(c, &status, 0) == c);
    printf("spawn_status=%d\n", status);
    posix_spawn_file_actions_destroy(&fa);

    /* popen: the child's output comes back through the pipe */
    char cmd[1024], line[256];
    snprintf(cmd, sizeof(cmd), "exec '%s' popen", argv[0]);
    FILE *p = popen(cmd, "r");
    MUST(p != NULL);
    while (fgets(line, sizeof(line), p))
        fputs(line, stdout);
    printf("popen_status=%d\n", pclose(p));
    fflush(stdout);

    /* system: the child writes to our stdout */
    snprintf(cmd, sizeof(cmd), "'%s' system", argv[0]);
    printf("system_status=%d\n", system(cmd));
    return 0;
}
