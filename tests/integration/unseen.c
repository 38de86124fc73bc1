// Coverage gaps made visible: a socket created with a raw system call (as Go's
// runtime or io_uring would) is found by the next scan and listed with origin
// "unseen" (no stack); closing it through close() is counted. A double close (EBADF
// on a number whose socket we saw closed) is counted with the stack of the second
// close.
// OPTIONS: scan_interval=0
// EXPECT: sock(v("raw"))["origin"] == "unseen" and sock(v("raw"))["stack"] == "none"
// EXPECT: sock(v("raw"))["family"] == "inet" and sock(v("raw"))["type"] == "dgram"
// EXPECT: r["unseen"]["found_open"] == 2 and r["unseen"]["open_now"] == 1 and r["unseen"]["closed"] == 1
// EXPECT: r["unseen"]["double_closes"] == 1 and fn(r["unseen"]["double_close_sites"][0]["stack"]) == "close_again"
// EXPECT: r["unseen"]["double_close_sites"][0]["fd"] == v("twice")
// EXPECT: v("ebadf") == 1

#include "common.h"

static NOINLINE int close_again(int fd)
{
    return close(fd);
}

int main(void)
{
    int raw = invisible_socket(AF_INET, SOCK_DGRAM, 0);
    int raw2 = invisible_socket(AF_INET, SOCK_STREAM, 0);
    MUST(raw >= 0 && raw2 >= 0);
    MUST(sockleak_scan() == 0); /* finds both */
    MUST(close(raw2) == 0);
    int twice = socket(AF_UNIX, SOCK_STREAM, 0);
    MUST(close(twice) == 0);
    errno = 0;
    int ebadf = close_again(twice) == -1 && errno == EBADF;
    printf("raw=%d twice=%d ebadf=%d\n", raw, twice, ebadf);
    return 0;
}
