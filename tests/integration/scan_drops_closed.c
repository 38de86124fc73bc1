// A scan drops the record of a socket closed behind the shim's back (fdopen() +
// fclose(): glibc closes the fd internally): sockleak_stats().live, which counts the
// registry's records, is right after sockleak_scan(), the background thread's scan
// run in the program's thread (scan_interval=0: no other scan runs meanwhile).
// The same after a first scan has read the socket's inode (then the walk of the fd
// table, not the missing inode, tells the scan to look again).
// OPTIONS: scan_interval=0
// EXPECT: v("live") == 1 and v("kept") in fds() and v("closed") not in fds()
// EXPECT: v("live2") == 1
#include "common.h"

int main(void)
{
    MUST(sockleak_stats != NULL); /* run under the shim */
    int kept = socket(AF_INET, SOCK_STREAM, 0);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    MUST(kept >= 0 && s >= 0);
    FILE *f = fdopen(s, "r+");
    MUST(f != NULL);
    MUST(fclose(f) == 0);
    MUST(sockleak_scan() == 0);
    struct sockleak_stats st;
    MUST(sockleak_stats(&st, sizeof(st)) == 0);
    /* a socket whose inode a scan has read already, then closed behind our back */
    int t = socket(AF_INET, SOCK_DGRAM, 0);
    MUST(t >= 0 && sockleak_scan() == 0);
    FILE *g = fdopen(t, "r+");
    MUST(g != NULL);
    MUST(fclose(g) == 0);
    MUST(sockleak_scan() == 0);
    struct sockleak_stats st2;
    MUST(sockleak_stats(&st2, sizeof(st2)) == 0);
    printf("live2=%ld\n", st2.live);
    printf("kept=%d closed=%d live=%ld\n", kept, s, st.live);
    return 0;
}
