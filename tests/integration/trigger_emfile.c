// EMFILE: the first time socket()/accept() fails because the process is out of file
// descriptors, a report with reason "emfile" is written (by the background thread),
// once, not on every failing call; it says how many fds are open and the limit.
// OPTIONS: fd_threshold=0
// EXPECT: [x["reason"] for x in mine] == ["emfile", "exit"]
// EXPECT: mine[0]["trigger"]["errno"] == "EMFILE" and mine[0]["trigger"]["nofile_soft"] == 64
// EXPECT: mine[0]["environment"]["open_fds"] >= 60 and mine[0]["summary"]["live"] >= 55
// EXPECT: v("failures") >= 45 and v("errno_ok") == 1
// (not all 50: the background thread may hold a file for a moment while the table fills,
// and give the number back during the retries)
// EXPECT: fn(mine[0]["groups"][0]["stack"], rep=mine[0]) == "fill_the_table"
#include <sys/resource.h>

#include "common.h"

static NOINLINE int fill_the_table(void)
{
    return socket(AF_INET, SOCK_DGRAM, 0);
}

int main(void)
{
    struct rlimit rl = { 64, 64 };
    MUST(setrlimit(RLIMIT_NOFILE, &rl) == 0);
    int failures = 0, errno_ok = 1;
    while (fill_the_table() >= 0)
        ;
    for (int i = 0; i < 50; i++) {
        errno = 0;
        if (fill_the_table() < 0) {
            failures++;
            errno_ok &= errno == EMFILE;
        }
    }
    sleep_ms(400); /* the report thread writes */
    printf("failures=%d errno_ok=%d\n", failures, errno_ok);
    return 0;
}
