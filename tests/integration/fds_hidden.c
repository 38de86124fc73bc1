// The shim's one permanent pair of fds (libunwind's pipe) must not show to a program
// that looks for its open fds up to sysconf(_SC_OPEN_MAX), as daemons closing their
// fds and Python's subprocess tests do: it sits above the soft RLIMIT_NOFILE, where no
// fd of the program's can ever be. Its limits are the ones it started with. Here with
// soft < hard; fds_hidden_equal runs this program with soft == hard.
// RUN: ulimit -Sn 256 ; %t soft_
// EXPECT: v("soft_seen") == 0 and v("soft_limits_ok") == 1 and v("soft_sockets_ok") == 1
// EXPECT: len(reports) == 1 and r["summary"]["live"] == 3
#include <sys/resource.h>

#include "common.h"

int main(int argc, char **argv)
{
    MUST(argc == 2);
    struct rlimit before, after;
    MUST(getrlimit(RLIMIT_NOFILE, &before) == 0);
    int s[3];
    for (int i = 0; i < 3; i++)
        MUST((s[i] = socket(AF_INET, SOCK_STREAM, 0)) >= 0); /* the unwinder is up, pipe and all */
    long max = sysconf(_SC_OPEN_MAX);
    int seen = 0, sockets_ok = 1;
    for (int fd = 3; fd < max; fd++) {
        struct stat st;
        if (fstat(fd, &st) != 0)
            continue;
        if (fd == s[0] || fd == s[1] || fd == s[2])
            continue;
        seen++;
        fprintf(stderr, "seen fd %d (mode %o)\n", fd, (unsigned)st.st_mode);
    }
    MUST(getrlimit(RLIMIT_NOFILE, &after) == 0);
    int limits_ok = before.rlim_cur == after.rlim_cur && before.rlim_max == after.rlim_max
                    && (long)after.rlim_cur == max;
    printf("%sseen=%d %slimits_ok=%d %ssockets_ok=%d\n", argv[1], seen, argv[1], limits_ok, argv[1], sockets_ok);
    return 0;
}
