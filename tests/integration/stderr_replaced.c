// A daemon that closed fds 0-2 and opened its data files there: fd 2 is now its data
// file, no longer the stderr it was started with. The report (log_path=stderr) and
// the shim's warnings never go into it: the file keeps its bytes exactly, and the
// report is in $TMPDIR/sockleak.PID.log (mode 0600), which says in one line why.
// OPTIONS: log_path=stderr:format=json:no_such_option=1
// ENV: TMPDIR=%T
// RUN: %t %T ; cat %T/sockleak.*.log ; stat -c 'mode=%a' %T/sockleak.*.log
// EXPECT: v("data_intact") == 1 and v("fd2_is_data") == 1 and v("mode") == 600
// EXPECT: '"reason":"exit"' in out and "reports go to this file: stderr cannot take them (the program replaced it since it started)" in out
// EXPECT: len(re.findall("reports go to this file", out)) == 1
#include <fcntl.h>
#include <sys/wait.h>

#include "common.h"

static const char data[] = "record 1: precious bytes\n";

int main(int argc, char **argv)
{
    MUST(argc == 2);
    char path[512];
    snprintf(path, sizeof(path), "%s/data", argv[1]);
    pid_t p = fork();
    MUST(p >= 0);
    if (p == 0) { /* the daemon: stdio closed, data files on 0, 1, 2 */
        close(0);
        close(1);
        close(2);
        int fds[3];
        for (int i = 0; i < 3; i++)
            fds[i] = open(path, O_CREAT | O_WRONLY | O_APPEND, 0600);
        int s = socket(AF_INET, SOCK_STREAM, 0); /* held: the exit report is worth writing */
        if (fds[2] != 2 || s < 0 || write(2, data, sizeof(data) - 1) != (ssize_t)(sizeof(data) - 1))
            _exit(3);
        exit(0);
    }
    int st;
    MUST(waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    char buf[4096];
    int f = open(path, O_RDONLY);
    MUST(f >= 0);
    ssize_t n = read(f, buf, sizeof(buf));
    close(f);
    printf("fd2_is_data=1 data_intact=%d\n", n == (ssize_t)(sizeof(data) - 1) && !memcmp(buf, data, (size_t)n));
    return 0;
}
