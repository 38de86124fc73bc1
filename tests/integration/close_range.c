// close_range(): closing a range untracks exactly the sockets inside it;
// CLOSE_RANGE_CLOEXEC closes nothing and untracks nothing; a failing call (bad flags)
// keeps everything; closed numbers reused by new sockets are reported afresh.
// EXPECT: fds() == set(range(v("first"), v("first") + 3)) | set(range(v("first") + 7, v("first") + 10)) | {v("fresh")}
// EXPECT: r["summary"]["live"] == 7
// EXPECT: fn(sock(v("fresh"))) == "reopen"
// EXPECT: v("einval") == 22 and v("badret") == -1
#include <linux/close_range.h>

#include "common.h"

static NOINLINE int reopen(void)
{
    return socket(AF_INET, SOCK_DGRAM, 0);
}

int main(void)
{
    int fd[10];
    for (int i = 0; i < 10; i++) {
        fd[i] = socket(AF_INET, SOCK_STREAM, 0);
        MUST(fd[i] == fd[0] + i);
    }
    /* marks cloexec only: all stay */
    MUST(close_range((unsigned)fd[0], (unsigned)fd[9], CLOSE_RANGE_CLOEXEC) == 0);
    errno = 0;
    int badret = close_range((unsigned)fd[3], (unsigned)fd[6], 0x4000); /* unknown flag */
    int e = errno;
    MUST(close_range((unsigned)fd[3], (unsigned)fd[6], 0) == 0);
    int fresh = reopen(); /* takes the lowest free number, inside the closed range */
    MUST(fresh == fd[3]);
    printf("first=%d fresh=%d einval=%d badret=%d\n", fd[0], fresh, e, badret);
    return 0;
}
