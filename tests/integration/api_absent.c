// Public API without the shim: a program built with include/sockleak.h and linked
// normally (not with -lsockleak) runs unchanged when the shim is not loaded: every
// function's weak address is NULL, SOCKLEAK_CALL gives -ENOSYS, nothing is written.
// PRELOAD: launcher
// RUN: %t
// EXPECT: v("report") == 0 and v("stats") == 0 and v("ignore") == 0 and v("version") == 0
// EXPECT: v("call_ignore") == -38 and v("call_stats") == -38
// EXPECT: reports == []
#include "common.h"

int main(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    MUST(s >= 0);
    struct sockleak_stats st;
    printf("report=%d stats=%d ignore=%d version=%d\n", sockleak_report != NULL, sockleak_stats != NULL,
           sockleak_ignore != NULL, sockleak_version != NULL);
    printf("call_ignore=%d call_stats=%d\n", SOCKLEAK_CALL(sockleak_ignore, s),
           SOCKLEAK_CALL(sockleak_stats, &st, sizeof(st)));
    if (sockleak_report)
        sockleak_report();
    return 0;
}
