// Public API under the shim: sockleak_stats counts (live now; CLOSE_WAIT and leaked as
// of the last scan), sockleak_ignore marks a socket long-lived (listed with "ignored":
// true, never counted as leaked, in stats and in reports), sockleak_scan refreshes the
// counts, sockleak_report writes a report (reason "api"); errno is never touched.
// OPTIONS: close_wait_after=200ms:scan_interval=0
// EXPECT: v("first_live") == 5 and v("first_leaked") == 0 and v("first_age_ok") == 1
// EXPECT: v("scan_close_wait") == 2 and v("scan_leaked") == 1 and v("scan_ignored") == 1
// EXPECT: v("reports_before") == 0 and v("reports_after") == 1 and v("errno_kept") == 1
// EXPECT: v("ignore_bad") == -9 and v("ignore_pipe") == -88 and v("stats_null") == -22
// EXPECT: v("small_live") == 3 and v("small_rest") == 0
// EXPECT: [x["reason"] for x in mine] == ["api", "exit"]
// EXPECT: sock(v("kept"), mine[0])["ignored"] is True and sock(v("kept"), mine[0])["leak"] is None
// EXPECT: sock(v("kept"), mine[0])["state"] == "CLOSE_WAIT"
// EXPECT: sock(v("lost"), mine[0])["ignored"] is False and sock(v("lost"), mine[0])["leak"] == "close_wait"
// EXPECT: mine[0]["summary"]["leaked"] == 1 and mine[0]["summary"]["ignored"] == 1
#include "common.h"

static int port;

static NOINLINE int connect_local(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = local_addr(port);
    MUST(connect(s, (struct sockaddr *)&a, sizeof(a)) == 0);
    return s;
}

int main(void)
{
    int l = listen_local(&port);
    int kept = connect_local(); /* long-lived on purpose: its peer hangs up, we keep it */
    int lost = connect_local(); /* forgotten */
    int a1 = accept(l, NULL, NULL), a2 = accept(l, NULL, NULL);
    MUST(a1 >= 0 && a2 >= 0);

    /* no scan yet (scan_interval=0): the first call scans on this thread */
    struct sockleak_stats st;
    MUST(sockleak_stats(&st, sizeof(st)) == 0);
    printf("first_live=%ld first_leaked=%ld first_age_ok=%d\n", st.live, st.leaked, st.age_ms >= 0 && st.age_ms < 1000);
    close(a1), close(a2); /* live: l, kept, lost */
    wait_state(kept, TCP_CLOSE_WAIT);
    wait_state(lost, TCP_CLOSE_WAIT);
    MUST(sockleak_ignore(kept) == 0);
    sleep_ms(400);

    errno = 4242;
    MUST(sockleak_scan() == 0);
    MUST(sockleak_stats(&st, sizeof(st)) == 0);
    printf("scan_close_wait=%ld scan_leaked=%ld scan_ignored=%ld\n", st.close_wait, st.leaked, st.ignored);
    printf("reports_before=%ld\n", st.reports_written);
    MUST(sockleak_report() == 0);
    MUST(sockleak_stats(&st, sizeof(st)) == 0);
    printf("reports_after=%ld\n", st.reports_written);
    int p[2];
    MUST(pipe(p) == 0);
    printf("ignore_bad=%d ignore_pipe=%d stats_null=%d\n", sockleak_ignore(12345), sockleak_ignore(p[0]),
           sockleak_stats(NULL, 0));
    printf("errno_kept=%d\n", errno == 4242);
    /* a caller built against an older, smaller struct gets just its part */
    long small[2] = { -1, -1 };
    MUST(sockleak_stats((struct sockleak_stats *)small, sizeof(long)) == 0);
    printf("small_live=%ld small_rest=%d\n", small[0], small[1] == -1 ? 0 : 1);
    printf("kept=%d lost=%d\n", kept, lost);
    return 0;
}
