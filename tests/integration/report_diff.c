// sockleak report diff: the program reports (sockleak_report()) after leaking 3
// sockets and at exit after leaking 8, and closes 2 sockets of another stack in
// between. diff (one file: its first and last report; or two files) ranks the leaking
// stack first, +5 live and +5 leaked, and the stack that shrank last, -2.
// PRELOAD: launcher
// RUN: %sockleak --json --log %T/report.%p.jsonl --close-wait-after 0 -- %t
// RUN: %sockleak report diff %T/report.*.jsonl > %T/diff.txt
// RUN: %sockleak report diff --json %T/report.*.jsonl > %T/diff.json
// RUN: head -n 1 %T/report.*.jsonl > %T/a.jsonl && tail -n 1 %T/report.*.jsonl > %T/b.jsonl
// RUN: %sockleak report diff --json %T/a.jsonl %T/b.jsonl > %T/diff2.json
// RUN: %sockleak report diff %T/a.jsonl 2> %T/one.err; echo one_status=$?
// EXPECT: [x["reason"] for x in mine] == ["api", "exit"] and [x["summary"]["leaked"] for x in mine] == [3, 8]
// EXPECT: [(x["stack"], x["live_a"], x["live_b"], x["delta"], x["leaked_delta"]) for x in json.loads(readf("diff.json"))["stacks"]][0] == (sock(v("first"))["stack"], 3, 8, 5, 5)
// EXPECT: json.loads(readf("diff.json"))["stacks"][-1]["delta"] == -2 and json.loads(readf("diff.json"))["stacks"][-1]["opened_at"].startswith("two_udp ")
// EXPECT: json.loads(readf("diff.json"))["stacks"] == json.loads(readf("diff2.json"))["stacks"]
// EXPECT: json.loads(readf("diff.json"))["live_delta"] == 3 and json.loads(readf("diff.json"))["leaked_delta"] == 5
// EXPECT: re.search(r"^  delta  leaked  live A  live B  stack +opened at\n +\+5 +\+5 +3 +8  %s  leak_one \(" % sock(v("first"))["stack"], readf("diff.txt"), re.M)
// EXPECT: re.search(r"^ +-2 +\+0 +2 +0  [0-9a-f]{16}  two_udp \(", readf("diff.txt"), re.M) and "1 stack unchanged" in readf("diff.txt")
// EXPECT: v("one_status") == 2 and "holds one report" in readf("one.err")
#include "common.h"

static NOINLINE int leak_one(int l, int port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = local_addr(port);
    MUST(connect(s, (struct sockaddr *)&a, sizeof(a)) == 0);
    int peer = accept(l, NULL, NULL);
    MUST(peer >= 0);
    close(peer); /* s goes to CLOSE_WAIT and stays: the leak */
    wait_state(s, TCP_CLOSE_WAIT);
    return s;
}

static NOINLINE void two_udp(int fds[2])
{
    for (int i = 0; i < 2; i++)
        fds[i] = socket(AF_INET, SOCK_DGRAM, 0);
}

int main(void)
{
    int port, l = listen_local(&port), udp[2], first = -1;
    two_udp(udp);
    for (int i = 0; i < 8; i++) {
        if (i == 3) {
            MUST(sockleak_report != NULL && sockleak_report() == 0); /* 3 leaked so far */
            close(udp[0]);
            close(udp[1]);
        }
        int s = leak_one(l, port); /* one call site: one stack */
        if (first < 0)
            first = s;
    }
    printf("first=%d\n", first);
    return 0;
}
