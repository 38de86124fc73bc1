// malloc failing while a report is written (a preloaded malloc that fails on
// request): for every allocation the report makes, a run where that one fails and a
// run where it and every later one fail. The host never crashes; a report is either
// written whole (one line that parses: the runner parses every line) and says
// "truncated" if it lost anything, or not written at all; and once memory is back,
// reports are complete again.
// ASAN: skip
// RUN: LD_PRELOAD="%preload %B/tests/integration/so_failmalloc.so" %t
// TIMEOUT: 120
// EXPECT: v("runs") >= 2 * v("allocations") and v("allocations") >= 5 and v("refused") > 0
// EXPECT: all(x["coverage"]["truncated"] or x["summary"]["live"] == 3 for x in mine)
// EXPECT: all(x["summary"]["live"] <= 3 for x in mine)
// EXPECT: len([x for x in mine if x["reason"] == "api"]) >= v("runs") // 2
// EXPECT: r["summary"]["live"] == 3 and not r["coverage"]["truncated"] and len(r["stacks"]) >= 1
#include <dlfcn.h>

#include "common.h"

static NOINLINE int make_socket(int family)
{
    return socket(family, SOCK_STREAM, 0);
}

int main(void)
{
    void (*arm)(long, long) = (void (*)(long, long))dlsym(RTLD_DEFAULT, "failmalloc_arm");
    long (*failed)(void) = (long (*)(void))dlsym(RTLD_DEFAULT, "failmalloc_failed");
    MUST(arm && failed && sockleak_report);
    int port, l = listen_local(&port);
    MUST(make_socket(AF_INET) >= 0 && make_socket(AF_UNIX) >= 0 && l >= 0);
    printf("start\n");
    fflush(stdout);
    /* how many allocations does one report make? */
    arm(1L << 40, 1); /* counts, never fails */
    MUST(sockleak_report() == 0);
    long allocations = 0;
    for (long k = 1; k < 1000; k++) { /* find the count: arm at k, see if anything failed */
        long before = failed();
        arm(k, 1);
        sockleak_report();
        arm(0, 0);
        if (failed() == before)
            break;
        allocations = k;
    }
    int runs = 0;
    for (long k = 1; k <= allocations; k++) {
        arm(k, 1); /* only allocation k fails */
        sockleak_report();
        arm(k, -1); /* allocation k and every later one fail */
        sockleak_report();
        arm(0, 0);
        runs += 2;
    }
    MUST(sockleak_report() == 0); /* memory is back */
    printf("runs=%d allocations=%ld refused=%ld\n", runs, allocations, failed());
    return 0;
}
