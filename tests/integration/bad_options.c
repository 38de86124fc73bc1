// Bad SOCKLEAK_OPTIONS never stop the host: each problem is one line on stderr naming
// the key, the default is kept, and the good keys in the same string still apply.
// OPTIONS: stack_depth=-3:bogus=1:close_wait_after=-5s:dump_signal=SIGKILL:scan_interval=200ms:oops
// EXPECT: len([l for l in err.splitlines() if re.match(r"sockleak: bad_options \(pid %d\): SOCKLEAK_OPTIONS:" % pid, l)]) == 5
// EXPECT: "'bogus'" in err and "stack_depth" in err and "close_wait_after" in err and "dump_signal" in err
// EXPECT: r["options"]["stack_depth"] == 16 and r["options"]["close_wait_after_ms"] == 5000
// EXPECT: r["options"]["scan_interval_ms"] == 200
// EXPECT: v("ran") == 1 and r["summary"]["live"] == 1
#include "common.h"

int main(void)
{
    MUST(socket(AF_INET, SOCK_STREAM, 0) >= 0);
    printf("ran=1\n");
    return 0;
}
