// max_sockets: a report (reason "threshold") when the live socket count reaches the
// level, once.
// OPTIONS: max_sockets=20:fd_threshold=0
// EXPECT: [x["reason"] for x in mine] == ["threshold", "exit"]
// EXPECT: mine[0]["summary"]["live"] >= 20 and mine[0]["trigger"]["max_sockets"] == 20
#include "common.h"

int main(void)
{
    for (int i = 0; i < 40; i++)
        MUST(socket(AF_INET, SOCK_DGRAM, 0) >= 0);
    sleep_ms(300);
    return 0;
}
