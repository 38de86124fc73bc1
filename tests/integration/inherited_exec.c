// exec(): LD_PRELOAD is inherited, so the new program gets its own shim and writes the
// one exit report (exec is not an exit: the old image writes none); sockets it
// inherited across exec are found at start-up (a scan of /proc/self/fd) and listed
// with origin "inherited" and no stack. A SOCK_CLOEXEC socket does not survive the
// exec: its number is free, and a new socket there is reported as what it is.
// EXPECT: len(reports) == 1 and r["program"] == "inherited_exec"
// EXPECT: sock(v("kept"))["origin"] == "inherited" and sock(v("kept"))["stack"] == "none"
// EXPECT: sock(v("kept"))["family"] == "inet" and sock(v("kept"))["type"] == "stream"
// EXPECT: v("fresh") == v("cloexec") and sock(v("fresh"))["origin"] == "socket" and fn(sock(v("fresh"))) == "main"
// EXPECT: r["summary"]["live"] == 2
#include "common.h"

int main(int argc, char **argv)
{
    if (argc == 3) { /* after exec */
        int fresh = socket(AF_UNIX, SOCK_DGRAM, 0);
        printf("kept=%s cloexec=%s fresh=%d\n", argv[1], argv[2], fresh);
        return 0;
    }
    int kept = socket(AF_INET, SOCK_STREAM, 0);
    int cloexec = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    char a[16], b[16];
    snprintf(a, sizeof(a), "%d", kept);
    snprintf(b, sizeof(b), "%d", cloexec);
    fflush(stdout);
    execl("/proc/self/exe", "inherited_exec", a, b, (char *)NULL);
    return 1;
}
