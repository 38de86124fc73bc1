// fd_threshold: a report (reason "threshold") when open fds reach the given % of
// RLIMIT_NOFILE, once per crossing: going on opening sockets does not repeat it, but
// falling back under 90% of the level (seen by a scan) and climbing again does.
// OPTIONS: fd_threshold=50:scan_interval=0
// EXPECT: [x["reason"] for x in mine] == ["threshold", "threshold", "exit"]
// EXPECT: mine[0]["trigger"]["threshold_fds"] == 100 and mine[0]["trigger"]["nofile_soft"] == 200
// EXPECT: all(x["environment"]["open_fds"] >= 100 for x in mine[:2])
#include <sys/resource.h>

#include "common.h"

static int fds[150];

static void open_up_to(int n)
{
    for (int i = 0; i < n; i++)
        if (fds[i] < 0)
            MUST((fds[i] = socket(AF_INET, SOCK_DGRAM, 0)) >= 0);
}

int main(void)
{
    struct rlimit rl = { 200, 200 };
    MUST(setrlimit(RLIMIT_NOFILE, &rl) == 0);
    for (int i = 0; i < 150; i++)
        fds[i] = -1;
    MUST(sockleak_scan && sockleak_scan() == 0); /* read the new limit */
    open_up_to(120);                             /* crosses 100 once */
    sleep_ms(300);
    for (int i = 30; i < 120; i++) { /* well under 90 */
        close(fds[i]);
        fds[i] = -1;
    }
    MUST(sockleak_scan() == 0); /* re-arms */
    open_up_to(130);            /* crosses again */
    sleep_ms(300);
    return 0;
}
