// With more than 256 fds open, a scan walks /proc/PID/fd only when the number of open
// fds nobody tracks has changed since its last walk, or every 10 scans: a socket made
// with a raw system call is still adopted at the next scan (the count moved), and one
// made as a file is closed (the count did not move) within 10 scans.
// OPTIONS: scan_interval=0
// EXPECT: v("found_first") == 1 and v("found_at_once") == 0 and 1 <= v("found_after") <= 10
// EXPECT: sock(v("raw1"))["origin"] == "unseen" and sock(v("raw2"))["origin"] == "unseen"
// EXPECT: r["unseen"]["found_open"] == 2
#include <fcntl.h>

#include "common.h"

/* sockets found open that were never seen created, so far */
static long unseen_found(void)
{
    struct sockleak_stats st;
    MUST(sockleak_stats(&st, sizeof(st)) == 0);
    return st.unseen;
}

int main(void)
{
    int files[1200];
    for (int i = 0; i < 1200; i++)
        MUST((files[i] = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0);
    MUST(socket(AF_INET, SOCK_STREAM, 0) >= 0); /* one tracked socket: the scans begin */
    MUST(sockleak_scan() == 0);
    long base = unseen_found();
    int raw1 = invisible_socket(AF_INET, SOCK_DGRAM, 0);
    MUST(raw1 >= 0);
    MUST(sockleak_scan() == 0);
    int found_first = (int)(unseen_found() - base);
    /* a file closed and a raw socket made: as many fds open as before */
    MUST(close(files[0]) == 0);
    int raw2 = invisible_socket(AF_INET, SOCK_DGRAM, 0);
    MUST(raw2 >= 0);
    int found_at_once = -1, found_after = 0;
    for (int i = 1; i <= 12 && !found_after; i++) {
        MUST(sockleak_scan() == 0);
        int f = (int)(unseen_found() - base) - 1;
        if (i == 1)
            found_at_once = f;
        if (f == 1)
            found_after = i;
    }
    printf("raw1=%d raw2=%d found_first=%d found_at_once=%d found_after=%d\n", raw1, raw2, found_first,
           found_at_once, found_after);
    return 0;
}
