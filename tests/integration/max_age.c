// max_age: sockets open longer than that count as leaked (leak "max_age"), like a
// connection pool's leak detection; listeners are never flagged for their age.
// OPTIONS: max_age=300ms
// EXPECT: sock(v("old"))["leak"] == "max_age" and sock(v("young"))["leak"] is None
// EXPECT: sock(v("listener"))["leak"] is None and sock(v("listener"))["listening"]
// EXPECT: r["summary"]["leaks"]["max_age"] == 1
#include "common.h"

int main(void)
{
    int port, listener = listen_local(&port);
    int old = socket(AF_INET, SOCK_DGRAM, 0);
    sleep_ms(500);
    int young = socket(AF_INET, SOCK_DGRAM, 0);
    printf("old=%d young=%d listener=%d\n", old, young, listener);
    return 0;
}
