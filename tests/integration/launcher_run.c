// scripts/sockleak runs a command under the shim: its options become SOCKLEAK_OPTIONS
// keys (appended to any already in the environment, so the command line wins), the
// library is preloaded, and the command's exit status comes back unchanged.
// PRELOAD: launcher
// RUN: SOCKLEAK_OPTIONS=stack_depth=9 %sockleak --json --log %T/report.%p.jsonl --close-wait-after 300ms --scan-interval 100ms --stack-depth 3 -o verbose=1 -- %t 7
// EXIT: 7
// EXPECT: {k: r["options"][k] for k in ("close_wait_after_ms", "scan_interval_ms", "stack_depth")} == {"close_wait_after_ms": 300, "scan_interval_ms": 100, "stack_depth": 3}
// EXPECT: len(stack(sock(v("s"))["stack"])) == 3 and fn(sock(v("s"))) == "open_one"
// EXPECT: re.search(r"sockleak: launcher_run \(pid \d+\): sockleak %s active" % re.escape(version), err)
// EXPECT: v("ldpreload_has_shim") == 1
#include "common.h"

static NOINLINE int open_one(void)
{
    return socket(AF_INET, SOCK_STREAM, 0);
}

int main(int argc, char **argv)
{
    const char *pre = getenv("LD_PRELOAD");
    printf("s=%d ldpreload_has_shim=%d\n", open_one(), pre && strstr(pre, "libsockleak") != NULL);
    return argc > 1 ? atoi(argv[1]) : 0;
}
