// How long a socket has been in CLOSE_WAIT is dated from the peer's FIN (the last ACK
// it sent, from TCP_INFO), not from the first probe that noticed: with no background
// scan at all, the report still says the socket has been stuck for about as long as
// the program slept after the server hung up, and marks it leaked.
// OPTIONS: scan_interval=0:close_wait_after=500ms
// EXPECT: sock(v("c"))["state"] == "CLOSE_WAIT" and sock(v("c"))["leak"] == "close_wait"
// EXPECT: 700 <= sock(v("c"))["close_wait_ms"] <= v("slept_ms") + 200
#include "common.h"

int main(void)
{
    int port, l = listen_local(&port);
    struct sockaddr_in a = local_addr(port);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    MUST(connect(c, (struct sockaddr *)&a, sizeof(a)) == 0);
    int s = accept(l, NULL, NULL);
    MUST(send(s, "bye", 3, 0) == 3);
    close(s);
    wait_state(c, TCP_CLOSE_WAIT);
    sleep_ms(900);
    printf("c=%d slept_ms=%d\n", c, 900);
    return 0;
}
