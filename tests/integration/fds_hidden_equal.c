// fds_hidden with soft == hard RLIMIT_NOFILE: the shim raises the hard limit for a
// moment to put libunwind's pipe above the soft one, which needs CAP_SYS_RESOURCE
// (without it the pipe stays below the limit, where such scans see it: a limit the
// README states). The limits the program sees are still the ones it started with.
// REQUIRES: CAP_SYS_RESOURCE
// RUN: ulimit -n 300 ; %B/tests/integration/fds_hidden equal_
// EXPECT: v("equal_seen") == 0 and v("equal_limits_ok") == 1 and v("equal_sockets_ok") == 1
// EXPECT: len(reports) == 1 and r["summary"]["live"] == 3

/* The program is fds_hidden's (see the RUN line): one program, two tests. */
int main(void)
{
    return 0;
}
