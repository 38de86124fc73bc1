// max_tracked: the registry holds at most N records; sockets beyond it are counted
// (coverage.untracked and untracked_nomem), not recorded, and never disturb the
// host; once recorded sockets close, new ones are recorded again.
// OPTIONS: max_tracked=5
// EXPECT: v("made") == 14 and v("fail") == 0
// EXPECT: r["summary"]["live"] == 5 and r["coverage"]["untracked"] == 7 and r["coverage"]["untracked_nomem"] == 7
// EXPECT: fds() == set(j("recorded"))
// EXPECT: all(fn(s) in ("first", "again") for s in r["sockets"])
#include "common.h"

static NOINLINE int first(void)
{
    return socket(AF_INET, SOCK_STREAM, 0);
}

static NOINLINE int again(void)
{
    return socket(AF_INET, SOCK_DGRAM, 0);
}

int main(void)
{
    int fds[5], fail = 0, made = 0, sv[2];
    for (int i = 0; i < 5; i++, made++)
        fail += (fds[i] = first()) < 0;
    for (int i = 0; i < 3; i++, made++) /* beyond the limit */
        fail += socket(AF_INET6, SOCK_STREAM, 0) < 0;
    fail += socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0; /* 2 more */
    made += 2;
    fail += dup(fds[0]) < 0; /* a dup is a record too */
    made++;
    close(fds[3]);
    close(fds[4]);
    int a = again(), b = again(); /* room again */
    made += 2;
    fail += a < 0 || b < 0;
    fail += socket(AF_INET, SOCK_STREAM, 0) < 0; /* full again */
    made++;
    printf("made=%d fail=%d\nrecorded=[%d,%d,%d,%d,%d]\n", made, fail, fds[0], fds[1], fds[2], a, b);
    return 0;
}
