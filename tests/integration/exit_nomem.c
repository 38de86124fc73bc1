// Memory gone at exit: the exit report is written while every malloc fails (a
// preloaded malloc that refuses everything from its destructor on) and, in a second
// run, under an address-space limit (RLIMIT_AS) set just above what the process
// uses, so malloc and mmap both fail. The host exits with its own status, no crash;
// the exit report is there, whole, and says truncated if it lost anything.
// ASAN: skip
// RUN: FAILMALLOC_AT_EXIT=1 LD_PRELOAD="%preload %B/tests/integration/so_failmalloc.so" %t malloc ; echo status_malloc=$? ; %t rlimit ; echo status_rlimit=$?
// EXPECT: v("status_malloc") == 3 and v("status_rlimit") == 3
// EXPECT: len([x for x in reports if x["reason"] == "exit"]) == 2
// EXPECT: all(x["summary"]["live"] == 200 for x in reports)
// EXPECT: all(x["coverage"]["truncated"] or len(x["sockets"]) == 200 for x in reports)
// EXPECT: any(x["coverage"]["truncated"] for x in reports)
#include <sys/resource.h>

#include "common.h"

int main(int argc, char **argv)
{
    MUST(argc == 2);
    for (int i = 0; i < 200; i++)
        MUST(socket(i % 2 ? AF_INET : AF_UNIX, SOCK_STREAM, 0) >= 0);
    sleep_ms(50);
    if (!strcmp(argv[1], "rlimit")) {
        long kb = vm_size_kb();
        MUST(kb > 0);
        struct rlimit rl = { (rlim_t)kb * 1024, RLIM_INFINITY }; /* no room for a new mapping */
        MUST(setrlimit(RLIMIT_AS, &rl) == 0);
    }
    exit(3);
}
