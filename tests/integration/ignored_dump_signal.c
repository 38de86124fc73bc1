// A program that ignores the dump signal, by setting SIG_IGN or by inheriting it across
// exec, has it really ignored: its exec'd children (here without the shim: env -u
// LD_PRELOAD) inherit SIG_IGN as POSIX says, and a SIGUSR2 sent to them does nothing.
// RUN: %t set ; sh -c "trap '' USR2; exec %t inherited"
// EXPECT: v("set_child_ignores") == 1 and v("set_child_alive") == 1
// EXPECT: v("inherited_child_ignores") == 1 and v("inherited_child_alive") == 1
// EXPECT: v("set_parent_ignores") == 1 and v("inherited_parent_ignores") == 1
#include <signal.h>
#include <sys/wait.h>

#include "common.h"

/* Is sig in this process's SigIgn mask (/proc/self/status)? */
static int ignores(int sig)
{
    FILE *f = fopen("/proc/self/status", "r");
    MUST(f != NULL);
    char line[256];
    unsigned long long mask = 0;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "SigIgn: %llx", &mask) == 1)
            break;
    fclose(f);
    return (int)((mask >> (sig - 1)) & 1);
}

int main(int argc, char **argv)
{
    MUST(argc == 2);
    if (!strcmp(argv[1], "set") || !strcmp(argv[1], "inherited")) {
        if (!strcmp(argv[1], "set"))
            MUST(signal(SIGUSR2, SIG_IGN) != SIG_ERR);
        int s = socket(AF_INET, SOCK_STREAM, 0); /* the shim is at work in this process */
        MUST(s >= 0);
        printf("%s_parent_ignores=%d\n", argv[1], ignores(SIGUSR2));
        fflush(stdout);
        pid_t p = fork();
        MUST(p >= 0);
        if (p == 0) {
            char tag[64], self[4096];
            snprintf(tag, sizeof(tag), "child-%s", argv[1]);
            ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
            MUST(n > 0);
            self[n] = '\0';
            execl("/usr/bin/env", "env", "-u", "LD_PRELOAD", self, tag, (char *)NULL);
            _exit(91);
        }
        int st;
        MUST(waitpid(p, &st, 0) == p);
        printf("%s_child_alive=%d\n", argv[1], WIFEXITED(st) && WEXITSTATUS(st) == 0);
        return 0;
    }
    /* the exec'd child, without the shim */
    const char *which = argv[1] + strlen("child-");
    printf("%s_child_ignores=%d\n", which, ignores(SIGUSR2));
    fflush(stdout);
    kill(getpid(), SIGUSR2); /* ignored: nothing happens */
    sleep_ms(50);
    return 0;
}
