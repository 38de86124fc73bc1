// CLOSE_WAIT: a client socket whose server hung up is seen in CLOSE_WAIT by the
// background scan; once it has been there for close_wait_after it is reported as
// leaked (leak "close_wait", close_wait_ms >= the threshold). A socket that entered
// CLOSE_WAIT only just before the report is in CLOSE_WAIT but not (yet) leaked.
// OPTIONS: close_wait_after=400ms:scan_interval=100ms
// EXPECT: sock(v("old"))["state"] == "CLOSE_WAIT" and sock(v("old"))["leak"] == "close_wait"
// EXPECT: sock(v("old"))["close_wait_ms"] >= 400
// EXPECT: sock(v("new"))["state"] == "CLOSE_WAIT" and sock(v("new"))["leak"] is None
// EXPECT: sock(v("new"))["close_wait_ms"] < 400
// EXPECT: sock(v("ok"))["state"] == "ESTABLISHED" and sock(v("ok"))["close_wait_ms"] is None
// EXPECT: r["summary"]["close_wait"] == 2 and r["summary"]["leaked"] == 1
// EXPECT: r["groups"][0]["leaked"] == 1 and r["groups"][0]["stack"] == sock(v("old"))["stack"]
// EXPECT: fn(sock(v("old"))) == "fetch_and_forget"
#include "common.h"

static int port;

static NOINLINE int fetch_and_forget(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = local_addr(port);
    MUST(connect(s, (struct sockaddr *)&a, sizeof(a)) == 0);
    return s; /* never closed */
}

static NOINLINE int connect_only(void)
{
    return fetch_and_forget();
}

int main(void)
{
    int l = listen_local(&port);
    int old = fetch_and_forget();
    int so = accept(l, NULL, NULL);
    close(so); /* the server hangs up: old goes to CLOSE_WAIT */
    wait_state(old, TCP_CLOSE_WAIT);
    sleep_ms(700);
    int fresh = connect_only();
    int sn = accept(l, NULL, NULL);
    int ok = connect_only();
    int sok = accept(l, NULL, NULL);
    MUST(sok >= 0);
    close(sn);
    wait_state(fresh, TCP_CLOSE_WAIT);
    printf("old=%d new=%d ok=%d\n", old, fresh, ok);
    return 0;
}
