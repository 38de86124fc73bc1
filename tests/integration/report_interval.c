// report_interval: periodic reports (reason "interval") while the program runs.
// OPTIONS: report_interval=200ms
// EXPECT: 3 <= len([x for x in mine if x["reason"] == "interval"]) <= 8
// EXPECT: mine[-1]["reason"] == "exit"
#include "common.h"

int main(void)
{
    MUST(socket(AF_INET, SOCK_STREAM, 0) >= 0);
    sleep_ms(1000);
    return 0;
}
