/* growth: 3 sockets leaked from leaky(), a report (reason "api"), 5 more leaked and one
 * of the 8 closed, then the exit report: leaky() grew by +5 -1 between the two. */
#include "prog.h"

static NOINLINE int leaky(void)
{
    return socket(AF_INET, SOCK_STREAM, 0);
}

int main(void)
{
    for (int i = 0; i < 3; i++)
        MUST(leaky() >= 0);
    MUST(sockleak_report && sockleak_report() == 0);
    int first = -1;
    for (int i = 0; i < 5; i++) {
        int s = leaky();
        MUST(s >= 0);
        if (first < 0)
            first = s;
    }
    MUST(close(first) == 0);
    return 0;
}
