// Leak checks scoped to a test: sockleak_open_since(sockleak_checkpoint()) counts exactly
// the sockets made since the checkpoint that are still open: not those opened before it
// (even when closed meanwhile), nor those closed since (by close() or behind the shim's
// back, fclose() of an fdopen'd socket), nor listening or ignored ones; a dup made since
// of an older socket counts. sockleak_report_since lists them with their stacks: as text
// in a buffer (snprintf-style: the whole length, cut to fit) or, with no buffer, to
// log_path (reason "api", "checkpoint" in JSON). errno is left alone.
// OPTIONS: scan_interval=0
// EXPECT: v("counted") == 3 and v("later") == 0 and v("monotonic") == 1 and v("errno_kept") == 1
// EXPECT: [x["reason"] for x in mine] == ["api", "exit"] and mine[0]["checkpoint"] == v("cp")
// EXPECT: sorted(s["fd"] for s in mine[0]["sockets"]) == j("left")
// EXPECT: mine[0]["summary"]["live"] == 3 and {fn(sock(fd, mine[0])) for fd in j("left")} == {"leaky_helper", "main"}
// EXPECT: "checkpoint" not in r and len(r["sockets"]) > 3
// EXPECT: re.search(r"^==\d+==sockleak: 3 sockets left open since checkpoint %d, opened at leaky_helper \(api_since.c:\d+\) and elsewhere$" % v("cp"), readf("since.txt"), re.M)
// EXPECT: re.search(r"^2 live sockets, left open since the checkpoint, opened by socket\(\):\n    #0 0x[0-9a-f]+ in leaky_helper ", readf("since.txt"), re.M)
// EXPECT: v("whole") == len(readf("since.txt")) and v("cut_len") == 15 and v("cut_ret") > 1000
// EXPECT: v("zero_ret") > 1000 and v("untouched") == 1
#include "common.h"

static int port;

static NOINLINE int leaky_helper(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = local_addr(port);
    MUST(connect(s, (struct sockaddr *)&a, sizeof(a)) == 0);
    return s;
}

int main(void)
{
    int l = listen_local(&port); /* nothing is accepted: connections wait in its queue */
    int old = socket(AF_INET, SOCK_STREAM, 0), old_closed = socket(AF_INET, SOCK_STREAM, 0);
    MUST(l >= 0 && old >= 0 && old_closed >= 0);

    unsigned long cp = sockleak_checkpoint();
    int left[3];
    for (int k = 0; k < 2; k++)
        left[k] = leaky_helper();            /* counted */
    left[2] = dup(old);                      /* counted: a new fd holding a socket open */
    close(socket(AF_INET, SOCK_STREAM, 0));  /* closed since */
    close(old_closed);                       /* opened before */
    int ign = socket(AF_INET, SOCK_STREAM, 0);
    MUST(sockleak_ignore(ign) == 0);         /* ignored */
    int l2 = listen_local(&port);            /* listening */
    int behind = socket(AF_UNIX, SOCK_STREAM, 0);
    fclose(fdopen(behind, "r+"));            /* closed behind the shim's back */
    MUST(l2 >= 0);

    errno = 4242;
    printf("counted=%d\n", sockleak_open_since(cp));
    unsigned long now = sockleak_checkpoint();
    printf("cp=%lu monotonic=%d later=%d\n", cp, now >= cp, sockleak_open_since(now));
    static char text[65536];
    long whole = sockleak_report_since(cp, text, sizeof(text));
    char path[512];
    snprintf(path, sizeof(path), "%s/since.txt", test_dir());
    FILE *f = fopen(path, "w");
    MUST(f && fputs(text, f) >= 0 && fclose(f) == 0);
    char cut[16], zero[4] = "abc";
    long cut_ret = sockleak_report_since(cp, cut, sizeof(cut));
    long zero_ret = sockleak_report_since(cp, zero, 0);
    printf("whole=%ld cut_ret=%ld cut_len=%zu zero_ret=%ld untouched=%d\n", whole, cut_ret, strlen(cut), zero_ret,
           !strcmp(zero, "abc"));
    MUST(sockleak_report_since(cp, NULL, 0) == 0); /* to log_path */
    printf("errno_kept=%d\n", errno == 4242);
    printf("left=[%d, %d, %d]\n", left[0], left[1], left[2]);
    return 0;
}
