// A program that closes its stdio and then makes sockets gets them as fds 0, 1, 2:
// fd 2 is then the program's own socket, not a stderr someone set up for it (such as
// journald's socket), and the shim must never write a report or a warning into it.
// Here fd 1 and fd 2 are a socketpair's two ends; a report on stderr (log_path=stderr,
// and a bad option that makes a warning) would arrive at fd 1. It must not: reports
// go to $TMPDIR/sockleak.PID.log instead.
// OPTIONS: log_path=stderr:format=json:no_such_option=1
// ENV: TMPDIR=%T
// RUN: %t %T ; cat %T/results ; cat %T/sockleak.*.log
// EXPECT: v("stray_bytes") == 0 and v("api") == 0 and v("pair") == 1
// EXPECT: '"reason":"api"' in out and '"reason":"exit"' in out
#include <fcntl.h>
#include <sys/ioctl.h>

#include "common.h"

int main(int argc, char **argv)
{
    MUST(argc == 2);
    char path[512];
    snprintf(path, sizeof(path), "%s/results", argv[1]);
    int res = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    MUST(res >= 0);
    res = fcntl(res, F_DUPFD_CLOEXEC, 20);
    close(1);
    close(2);
    int sv[2];
    MUST(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    int pair = sv[0] == 1 && sv[1] == 2;
    int api = sockleak_report ? sockleak_report() : -1;
    int avail = -1;
    MUST(ioctl(1, FIONREAD, &avail) == 0);
    dprintf(res, "stray_bytes=%d api=%d pair=%d\n", avail, api, pair);
    return 0;
}
