// Late-close retraction: a socket a report flagged as leaked that is closed later is
// listed in the next report under closed_late, with its lifetime, so a ticket can
// tell a slow path from a true leak.
// OPTIONS: max_age=200ms:scan_interval=0
// EXPECT: mine[0]["sockets"][0]["leak"] == "max_age" and mine[0]["closed_late"]["sockets"] == []
// EXPECT: [(l["fd"], l["leak"]) for l in r["closed_late"]["sockets"]] == [(v("s"), "max_age")]
// EXPECT: r["closed_late"]["sockets"][0]["lifetime_ms"] >= 500 and r["closed_late"]["sockets"][0]["closed_after_report_ms"] >= 200
// EXPECT: fn(r["closed_late"]["sockets"][0]["stack"]) == "slow_path" and r["closed_late"]["total"] == 1
// FORMAT: json
#include "common.h"

static NOINLINE int slow_path(void)
{
    return socket(AF_INET, SOCK_DGRAM, 0);
}

int main(void)
{
    int s = slow_path();
    sleep_ms(300);
    MUST(sockleak_report() == 0); /* flags it */
    sleep_ms(250);
    close(s); /* late, but closed */
    printf("s=%d\n", s);
    return 0;
}
