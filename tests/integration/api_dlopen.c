// The shim dlopen()ed by a running program instead of preloaded: the API works through
// dlsym (the weak declarations stay NULL: they were bound at start-up), but the
// program's own socket calls are already bound to libc, so no socket is seen created:
// those open at dlopen are listed as "inherited", later ones as "unseen" once a scan
// finds them, both without a stack. sockleak_ignore records an unrecorded socket first.
// PRELOAD: launcher
// RUN: SOCKLEAK_OPTIONS=format=json:log_path=%T/report.%p.jsonl:scan_interval=0 %t %lib
// EXPECT: v("weak_still_null") == 1 and v("resolved") == 1
// EXPECT: v("live_at_load") == 2 and v("live_before_scan") == 2 and v("live_after_scan") == 4
// EXPECT: v("ignore_later") == 0 and v("ignored") == 1
// EXPECT: [x["reason"] for x in mine] == ["api", "exit"]
// EXPECT: sock(v("pair0"), mine[0])["origin"] == "inherited" and sock(v("pair0"), mine[0])["stack"] == "none"
// EXPECT: sock(v("later"), mine[0])["origin"] == "unseen" and sock(v("later"), mine[0])["ignored"] is True
// EXPECT: sock(v("later2"), mine[0])["origin"] == "unseen" and sock(v("later2"), mine[0])["ignored"] is False
#include <dlfcn.h>

#include "common.h"

int main(int argc, char **argv)
{
    MUST(argc == 2);
    int sv[2];
    MUST(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 91;
    }
    int (*stats)(struct sockleak_stats *, size_t) = (int (*)(struct sockleak_stats *, size_t))dlsym(h, "sockleak_stats");
    int (*ignore)(int) = (int (*)(int))dlsym(h, "sockleak_ignore");
    int (*scan)(void) = (int (*)(void))dlsym(h, "sockleak_scan");
    int (*report)(void) = (int (*)(void))dlsym(h, "sockleak_report");
    printf("weak_still_null=%d resolved=%d\n", sockleak_report == NULL, stats && ignore && scan && report);
    MUST(stats && ignore && scan && report);

    struct sockleak_stats st;
    MUST(stats(&st, sizeof(st)) == 0);
    printf("live_at_load=%ld\n", st.live);
    int later = socket(AF_INET, SOCK_STREAM, 0);  /* libc's socket(): the shim does not see it */
    int later2 = socket(AF_INET, SOCK_DGRAM, 0);
    MUST(later >= 0 && later2 >= 0);
    MUST(stats(&st, sizeof(st)) == 0);
    printf("live_before_scan=%ld\n", st.live);
    printf("ignore_later=%d\n", ignore(later)); /* recorded on the spot, then marked */
    MUST(scan() == 0);                          /* finds later2 */
    MUST(stats(&st, sizeof(st)) == 0);
    printf("live_after_scan=%ld ignored=%ld\n", st.live, st.ignored);
    MUST(report() == 0);
    printf("pair0=%d later=%d later2=%d\n", sv[0], later, later2);
    return 0;
}
