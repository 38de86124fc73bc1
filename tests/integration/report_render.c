// sockleak report render, on the report of a real CLOSE_WAIT leak: the text headline
// names the function that opened the leaked sockets (and, once symbolized, its file
// and line); the Markdown has the states table, the table of leaking stacks whose
// fingerprint is the report's stack id, the frames in a fenced block and the
// Environment section.
// PRELOAD: launcher
// ASAN: skip
// RUN: %sockleak --json --log %T/report.%p.jsonl --close-wait-after 100ms --scan-interval 50ms -- %t
// RUN: %sockleak report render %T/report.*.jsonl > %T/text.txt
// RUN: %sockleak report render --format markdown %T/report.*.jsonl > %T/md.txt
// RUN: %sockleak report symbolize %T/report.*.jsonl | %sockleak report render - > %T/sym.txt
// EXPECT: r["summary"]["leaked"] == 3 and fn(sock(v("c0"))) == "leak_conn"
// EXPECT: re.search(r"^==%d==sockleak: 3 sockets stuck in CLOSE_WAIT for [0-9.]+m?s( to [0-9.]+m?s)?, opened at leak_conn \((report_render\.c:\d+|report_render\+0x[0-9a-f]+)\)$" % pid, readf("text.txt"), re.M)
// EXPECT: re.search(r"^Leak of 3 sockets stuck in CLOSE_WAIT for \S+( to \S+)?, opened by socket\(\):\n    #0 0x[0-9a-f]+ in leak_conn \S*report_render\.c:\d+ .*\n    #1 0x[0-9a-f]+ in main \S*report_render\.c:\d+ ", readf("text.txt"), re.M)
// EXPECT: "  peers: 127.0.0.1:%d (3)\n" % v("port") in readf("text.txt")
// EXPECT: "1 live socket, not leaked, opened by socket():\n" in readf("text.txt") and "  states: inet dgram 1\n" in readf("text.txt")
// EXPECT: "SUMMARY: sockleak: 3 leaked sockets in 1 stack; 5 live in 3 stacks;" in readf("text.txt")
// EXPECT: re.match(r"## sockleak: 3 sockets stuck in CLOSE_WAIT for .*, opened at `leak_conn` \(", readf("md.txt"))
// EXPECT: all(x in readf("md.txt").splitlines() for x in ["| state | count |", "| CLOSE_WAIT | 3 |", "| LISTEN | 1 |", "| inet dgram | 1 |", "| fingerprint | leaked | live | oldest CLOSE_WAIT | opened at |", "### Environment", "| pid | `%d` |" % pid])
// EXPECT: ("| `%s` | 3 | 3 | " % sock(v("c0"))["stack"]) in readf("md.txt")
// EXPECT: re.search(r"^#### `%s`: 3 leaked of 3 live, opened by socket\(\)\n\n.*\n\n```\n#0 0x[0-9a-f]+ in leak_conn \S*report_render\.c:\d+ .*\n#1 .* in main \S*report_render\.c:\d+ .*\n(#.*\n)*```$" % sock(v("c0"))["stack"], readf("md.txt"), re.M)
// EXPECT: re.search(r"^==%d==sockleak: 3 sockets stuck in CLOSE_WAIT for .*, opened at leak_conn \(report_render\.c:%d\)$" % (pid, v("socket_line")), readf("sym.txt"), re.M)
// EXPECT: re.search(r"^    #0 0x[0-9a-f]+ in leak_conn \S*report_render\.c:%d \(" % v("socket_line"), readf("sym.txt"), re.M)
#include "common.h"

static int socket_line;

static NOINLINE int leak_conn(int port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0); socket_line = __LINE__;
    MUST(s >= 0);
    struct sockaddr_in a = local_addr(port);
    MUST(connect(s, (struct sockaddr *)&a, sizeof(a)) == 0);
    return s; /* never closed: the bug */
}

static NOINLINE int keep_udp(void)
{
    return socket(AF_INET, SOCK_DGRAM, 0);
}

int main(void)
{
    int port, l = listen_local(&port), c[3];
    for (int i = 0; i < 3; i++) {
        c[i] = leak_conn(port);
        int a = accept(l, NULL, NULL);
        MUST(a >= 0);
        close(a); /* the server hangs up: c[i] goes to CLOSE_WAIT */
    }
    MUST(keep_udp() >= 0);
    for (int i = 0; i < 3; i++)
        wait_state(c[i], TCP_CLOSE_WAIT);
    sleep_ms(300); /* longer than close_wait_after */
    printf("port=%d c0=%d socket_line=%d\n", port, c[0], socket_line);
    return 0;
}
