// idle_after: each TCP socket's idle time (no data either way, from TCP_INFO) is in
// the report; sockets idle for idle_after count as leaked (leak "idle").
// OPTIONS: idle_after=400ms
// EXPECT: sock(v("quiet"))["leak"] == "idle" and sock(v("quiet"))["idle_ms"] >= 400
// EXPECT: sock(v("busy"))["leak"] is None and sock(v("busy"))["idle_ms"] < 400
// EXPECT: sock(v("listener"))["idle_ms"] is None and sock(v("listener"))["leak"] is None
#include "common.h"

int main(void)
{
    int port, listener = listen_local(&port);
    struct sockaddr_in a = local_addr(port);
    int quiet = socket(AF_INET, SOCK_STREAM, 0), busy = socket(AF_INET, SOCK_STREAM, 0);
    MUST(connect(quiet, (struct sockaddr *)&a, sizeof(a)) == 0);
    MUST(connect(busy, (struct sockaddr *)&a, sizeof(a)) == 0);
    int q2 = accept(listener, NULL, NULL), b2 = accept(listener, NULL, NULL);
    MUST(q2 >= 0 && b2 >= 0);
    sleep_ms(600);
    char c;
    MUST(send(busy, "x", 1, 0) == 1 && recv(b2, &c, 1, 0) == 1);
    MUST(send(b2, "y", 1, 0) == 1 && recv(busy, &c, 1, 0) == 1);
    printf("quiet=%d busy=%d listener=%d\n", quiet, busy, listener);
    return 0;
}
