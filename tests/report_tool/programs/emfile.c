/* emfile: the file descriptor limit set to 64, sockets opened from fill_the_table()
 * until socket() fails with EMFILE: the shim writes a report with reason "emfile". */
#include <sys/resource.h>

#include "prog.h"

static NOINLINE int fill_the_table(void)
{
    return socket(AF_INET, SOCK_DGRAM, 0);
}

int main(void)
{
    struct rlimit rl = { 64, 64 };
    MUST(setrlimit(RLIMIT_NOFILE, &rl) == 0);
    while (fill_the_table() >= 0)
        ;
    MUST(errno == EMFILE);
    sleep_ms(300); /* the report is written by the shim's thread */
    return 0;
}
