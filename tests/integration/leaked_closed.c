// A socket that met a leak rule (a scan saw it in CLOSE_WAIT for close_wait_after) and
// was closed afterwards, with no report in between (a finalizer, interpreter shutdown),
// is still a leak for the verdict: the exit report counts it in summary.leaked_closed
// and lists it with its stack, and the text headline says so.
// OPTIONS: close_wait_after=200ms:scan_interval=50ms
// EXPECT: r["summary"]["leaked"] == 0 and r["summary"]["leaked_closed"] == 1 and len(mine) == 1
// EXPECT: [(l["fd"], l["leak"]) for l in r["closed_late"]["sockets"]] == [(v("s"), "close_wait")]
// EXPECT: fn(r["closed_late"]["sockets"][0]["stack"]) == "fetch_and_forget"
// EXPECT: r["summary"]["live"] == 2
#include "common.h"

static int port;

static NOINLINE int fetch_and_forget(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = local_addr(port);
    MUST(connect(s, (struct sockaddr *)&a, sizeof(a)) == 0);
    return s;
}

int main(void)
{
    int l = listen_local(&port);
    int s = fetch_and_forget();
    int so = accept(l, NULL, NULL);
    MUST(so >= 0);
    MUST(close(so) == 0); /* the server hangs up: s goes to CLOSE_WAIT */
    wait_state(s, TCP_CLOSE_WAIT);
    sleep_ms(700); /* several scans after close_wait_after */
    MUST(close(s) == 0); /* closed at last, as a finalizer would */
    int other = socket(AF_INET, SOCK_DGRAM, 0);
    printf("s=%d l=%d other=%d\n", s, l, other);
    return 0;
}
