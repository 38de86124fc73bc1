// daemon(): the parent _exits inside daemon() (no report, no harm); the daemonized
// child keeps the parent's sockets, with their stacks, and reports them in its own
// exit report (to its own %p file: its stdio is /dev/null) with the socket it made.
// RUN: %t %T ; while [ ! -e %T/daemon.pid ]; do sleep 0.02; done ; while ! grep -qs '"reason":"exit"' %T/report.$(cat %T/daemon.pid).jsonl; do sleep 0.02; done ; cat %T/info
// EXPECT: len(reports) == 1 and r["pid"] == v("daemon") and r["reason"] == "exit"
// EXPECT: v("daemon") != v("parent") and not any(x["pid"] == v("parent") for x in reports)
// EXPECT: fds() == {v("listener"), v("udp"), v("own")} and r["summary"]["live"] == 3
// EXPECT: fn(sock(v("listener")), 1) == "parent_socket" and sock(v("listener"))["state"] == "LISTEN"
// EXPECT: fn(sock(v("own"))) == "daemon_socket" and v("sid_ok") == 1
#include <fcntl.h>

#include "common.h"

static NOINLINE int parent_socket(int *port)
{
    return listen_local(port);
}

static NOINLINE int daemon_socket(void)
{
    return socket(AF_INET6, SOCK_DGRAM, 0);
}

int main(int argc, char **argv)
{
    MUST(argc == 2);
    int port, listener = parent_socket(&port);
    int udp = socket(AF_INET, SOCK_DGRAM, 0);
    MUST(udp >= 0);
    pid_t parent = getpid();
    if (daemon(1, 0) != 0)
        return 91;
    int own = daemon_socket();
    MUST(own >= 0);
    char path[512], tmp[512], buf[256];
    snprintf(path, sizeof(path), "%s/info", argv[1]);
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    MUST(fd >= 0);
    int n = snprintf(buf, sizeof(buf), "daemon=%d parent=%d listener=%d udp=%d own=%d sid_ok=%d\n", (int)getpid(),
                     (int)parent, listener, udp, own, getsid(0) == getpid());
    MUST(write(fd, buf, (size_t)n) == n);
    close(fd);
    snprintf(tmp, sizeof(tmp), "%s/daemon.pid.tmp", argv[1]);
    snprintf(path, sizeof(path), "%s/daemon.pid", argv[1]);
    fd = open(tmp, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    n = snprintf(buf, sizeof(buf), "%d", (int)getpid());
    MUST(write(fd, buf, (size_t)n) == n);
    close(fd);
    MUST(rename(tmp, path) == 0);
    exit(0);
}
