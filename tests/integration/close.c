// close(): closing a tracked socket removes it; closing other fds (files, pipes) and
// invalid numbers behaves exactly as without the shim (return value and errno). The
// host's pipe2() is untouched (only libunwind's pipe is the shim's).
// EXPECT: r["summary"]["live"] == 1 and fds() == {v("kept")}
// EXPECT: r["summary"]["opened"] == 101 and r["summary"]["closed"] == 100
// EXPECT: v("badret") == -1 and v("baderrno") == 9 and v("pipe_ok") == 1
// EXPECT: v("pipe2_low") == 1
#include <fcntl.h>

#include "common.h"

int main(void)
{
    for (int i = 0; i < 100; i++) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        MUST(s >= 0);
        MUST(close(s) == 0);
    }
    int p[2], q[2];
    MUST(pipe(p) == 0);
    MUST(pipe2(q, O_CLOEXEC) == 0); /* the host's own pipes stay where the kernel put them */
    int pipe2_low = q[0] < 20 && q[1] < 20;
    int f = open("/dev/null", O_RDONLY);
    int pipe_ok = close(p[0]) == 0 && close(p[1]) == 0 && close(f) == 0 && close(q[0]) == 0 && close(q[1]) == 0;
    errno = 0;
    int bad = close(12345);
    int e = errno;
    int kept = socket(AF_INET, SOCK_DGRAM, 0);
    printf("kept=%d badret=%d baderrno=%d pipe_ok=%d pipe2_low=%d\n", kept, bad, e, pipe_ok, pipe2_low);
    return 0;
}
