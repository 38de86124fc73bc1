/* closed_late (max_age=200ms): a socket a report flags as leaked ("max_age"), closed
 * after it: the exit report lists it under closed_late, opened at slow_path(). */
#include "prog.h"

static NOINLINE int slow_path(void)
{
    return socket(AF_INET, SOCK_DGRAM, 0);
}

int main(void)
{
    int s = slow_path();
    MUST(s >= 0);
    sleep_ms(300);
    MUST(sockleak_report && sockleak_report() == 0);
    sleep_ms(250);
    MUST(close(s) == 0);
    return 0;
}
