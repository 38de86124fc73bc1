// A scan drops the record of a socket closed behind the shim's back (fdopen() +
// fclose(): glibc closes the fd internally): sockleak_stats().live, which counts the
// registry's records, is right after sockleak_scan(), the background thread's scan
// run in the program's thread (scan_interval=0: no other scan runs meanwhile).
// OPTIONS: scan_interval=0
// EXPECT: v("live") == 1 and v("kept") in fds() and v("closed") not in fds()
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
    printf("kept=%d closed=%d live=%ld\n", kept, s, st.live);
    return 0;
}
