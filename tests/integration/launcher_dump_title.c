// sockleak dump on a program that writes over its environment strings to set its
// process title (as nginx and redis do) and uses SIGUSR2 itself (nginx: binary
// upgrade): /proc/PID/environ no longer says which dump signal the shim listens to.
// dump asks through the control socket, which needs no signal; with --signal, the
// signal given is trusted. Both reports are written, and the program's own SIGUSR2
// handler never runs.
// PRELOAD: launcher
// RUN: %sockleak --json --log %T/report.%p.jsonl --signal SIGRTMIN+4 -- %t %T & P=$! ; while [ ! -e %T/ready ]; do sleep 0.05; done ; %sockleak dump $P > %T/dump1.out 2>&1 ; echo control_status=$? ; %sockleak dump --signal SIGRTMIN+4 $P > %T/dump2.out 2>&1 ; echo given_status=$? ; sleep 0.5 ; touch %T/done ; wait $P ; cat %T/dump1.out %T/dump2.out
// EXPECT: v("control_status") == 0 and v("given_status") == 0
// EXPECT: "report written to" in readf("dump1.out") and "with SIGRTMIN+4" in readf("dump2.out")
// EXPECT: [x["reason"] for x in mine] == ["dump", "signal", "exit"]
// EXPECT: v("usr2_calls") == 0 and v("title_set") == 1
#include <fcntl.h>
#include <signal.h>

#include "common.h"

extern char **environ;
static volatile sig_atomic_t usr2_calls;

static void on_usr2(int sig)
{
    (void)sig;
    usr2_calls++;
}

int main(int argc, char **argv)
{
    MUST(argc == 2);
    char dir[512];
    snprintf(dir, sizeof(dir), "%s", argv[1]);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_usr2;
    MUST(sigaction(SIGUSR2, &sa, NULL) == 0);
    MUST(socket(AF_INET, SOCK_STREAM, 0) >= 0);
    /* setproctitle, the nginx way: the title goes where argv and environ were */
    char *start = argv[0], *end = argv[0];
    for (int i = 0; argv[i]; i++)
        end = argv[i] + strlen(argv[i]) + 1;
    for (int i = 0; environ[i]; i++)
        if (environ[i] == end)
            end = environ[i] + strlen(environ[i]) + 1;
    memset(start, 0, (size_t)(end - start));
    snprintf(start, (size_t)(end - start), "title: worker process");
    char ready[600], done[600];
    snprintf(ready, sizeof(ready), "%s/ready", dir);
    snprintf(done, sizeof(done), "%s/done", dir);
    close(open(ready, O_CREAT | O_WRONLY, 0600));
    for (int i = 0; i < 500 && access(done, F_OK) != 0; i++)
        sleep_ms(10);
    printf("usr2_calls=%d title_set=1\n", (int)usr2_calls);
    return 0;
}
