// Scans with NETLINK_SOCK_DIAG (used automatically from 1000 TCP sockets, forced here
// with scan_method=sock_diag): one dump of the sockets in CLOSE_WAIT, matched by
// inode, finds the leaked ones and dates them from the peer's FIN as TCP_INFO does.
// OPTIONS: scan_method=sock_diag:scan_interval=0:close_wait_after=300ms
// EXPECT: all(sock(fd)["leak"] == "close_wait" for fd in j("leaked"))
// EXPECT: sock(v("ok"))["leak"] is None
// EXPECT: mine[0]["reason"] == "api" and mine[0]["summary"]["leaks"]["close_wait"] == 3
#include "common.h"

int main(void)
{
    int port, l = listen_local(&port);
    struct sockaddr_in a = local_addr(port);
    int c[3];
    for (int i = 0; i < 3; i++) {
        c[i] = socket(AF_INET, SOCK_STREAM, 0);
        MUST(connect(c[i], (struct sockaddr *)&a, sizeof(a)) == 0);
        close(accept(l, NULL, NULL));
    }
    int ok = socket(AF_INET, SOCK_STREAM, 0);
    MUST(connect(ok, (struct sockaddr *)&a, sizeof(a)) == 0);
    int keep = accept(l, NULL, NULL);
    MUST(keep >= 0);
    for (int i = 0; i < 3; i++)
        wait_state(c[i], TCP_CLOSE_WAIT);
    MUST(sockleak_scan() == 0);
    sleep_ms(400);
    MUST(sockleak_scan() == 0);
    MUST(sockleak_report() == 0);
    printf("leaked=[%d,%d,%d]\nok=%d\n", c[0], c[1], c[2], ok);
    return 0;
}
