// Half-closed beyond TCP: a unix stream socket whose peer has closed (found with
// poll(POLLRDHUP), which reads nothing) is reported like CLOSE_WAIT: leak
// "peer_closed" once the peer has been gone for close_wait_after. Connected pairs and
// listeners are not flagged; pending data is left where it is.
// OPTIONS: close_wait_after=300ms:scan_interval=100ms
// EXPECT: sock(v("orphan"))["leak"] == "peer_closed" and sock(v("orphan"))["peer_closed_ms"] >= 300
// EXPECT: sock(v("alive"))["leak"] is None and sock(v("alive"))["peer_closed_ms"] is None
// EXPECT: sock(v("ulisten"))["listening"] and sock(v("ulisten"))["leak"] is None
// EXPECT: r["summary"]["peer_closed"] == 1 and r["summary"]["leaks"]["peer_closed"] == 1
// EXPECT: v("data_kept") == 1
#include <sys/un.h>

#include "common.h"

int main(void)
{
    int a[2], b[2];
    MUST(socketpair(AF_UNIX, SOCK_STREAM, 0, a) == 0);
    MUST(socketpair(AF_UNIX, SOCK_STREAM, 0, b) == 0);
    MUST(send(a[1], "z", 1, 0) == 1);
    close(a[1]); /* a[0]: peer gone, one byte still unread */
    int ul = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un un = { .sun_family = AF_UNIX };
    snprintf(un.sun_path, sizeof(un.sun_path), "%s/l.sock", test_dir());
    MUST(bind(ul, (struct sockaddr *)&un, sizeof(un)) == 0 && listen(ul, 4) == 0);
    sleep_ms(700);
    MUST(sockleak_report() == 0);
    char c = 0;
    int data_kept = recv(a[0], &c, 1, MSG_DONTWAIT) == 1 && c == 'z';
    printf("orphan=%d alive=%d ulisten=%d data_kept=%d\n", a[0], b[0], ul, data_kept);
    return 0;
}
