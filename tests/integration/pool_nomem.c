// The registry's record pool cannot grow (an address-space limit leaves no room for
// a new mapping): the host's sockets are all created as without the shim, the ones
// the shim could not record are counted in coverage.untracked_nomem, and the report
// (written once the limit is lifted) adds up: recorded + not recorded = made.
// ASAN: skip
// TIMEOUT: 60
// EXPECT: v("made") == 3000 and v("failed") == 0
// EXPECT: r["summary"]["live"] + r["coverage"]["untracked_nomem"] == 3000 + 1
// EXPECT: r["coverage"]["untracked_nomem"] > 0 and r["coverage"]["untracked"] == r["coverage"]["untracked_nomem"]
// EXPECT: truth() == sorted(x for x in j("truth") if x[0] in fds())
#include <sys/resource.h>

#include "common.h"

int main(void)
{
    struct rlimit nofile = { 4096, 4096 };
    MUST(setrlimit(RLIMIT_NOFILE, &nofile) == 0 || getrlimit(RLIMIT_NOFILE, &nofile) == 0);
    MUST(nofile.rlim_cur >= 3100);
    int first = socket(AF_INET, SOCK_STREAM, 0); /* the shim is up, its thread started */
    MUST(first >= 0);
    sleep_ms(50);
    printf("start\n");
    fflush(stdout);
    long kb = vm_size_kb();
    struct rlimit as = { (rlim_t)kb * 1024, RLIM_INFINITY }, unlimited = { RLIM_INFINITY, RLIM_INFINITY };
    MUST(setrlimit(RLIMIT_AS, &as) == 0);
    int made = 0, failed = 0;
    for (int i = 0; i < 3000; i++) {
        int s = socket(AF_UNIX, SOCK_DGRAM, 0);
        failed += s < 0;
        made += s >= 0;
    }
    MUST(setrlimit(RLIMIT_AS, &unlimited) == 0);
    printf("made=%d failed=%d\n", made, failed);
    print_truth();
    return 0;
}
