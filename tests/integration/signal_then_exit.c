// A dump requested just before the program exits is not lost: if the report thread has
// not written it yet, the exit path writes it before the exit report.
// EXPECT: [x["reason"] for x in mine] == ["signal", "exit"]
#include <signal.h>

#include "common.h"

int main(void)
{
    MUST(socket(AF_INET, SOCK_STREAM, 0) >= 0);
    MUST(kill(getpid(), SIGUSR2) == 0);
    return 0; /* at once: the report thread has had no time */
}
