// sockleak report check, the CI gate, on a real report with 2 leaked sockets and 3
// live: exit 1 over a limit (one line naming the process and the worst stack), 0 at
// or under it (one OK line), 2 for a usage error, a missing file or a file without
// any report (its bad lines named on stderr as FILE:LINE).
// PRELOAD: launcher
// ASAN: skip
// RUN: %sockleak --json --log %T/report.%p.jsonl --close-wait-after 0 -- %t
// RUN: %sockleak report check --max-leaked 1 %T/report.*.jsonl; echo over=$?
// RUN: %sockleak report check --max-leaked 2 %T/report.*.jsonl; echo under=$?
// RUN: %sockleak report check --max-leaked 2 --max-live 2 %T/report.*.jsonl; echo live_over=$?
// RUN: %sockleak report check --max-leaked 2 --max-live 3 %T/report.%p.jsonl; echo live_under=$?
// RUN: %sockleak report check %T/report.*.jsonl > /dev/null; echo default=$?
// RUN: %sockleak report check --max-leaked lots %T/report.*.jsonl; echo usage=$?
// RUN: %sockleak report check %T/missing.jsonl; echo missing=$?
// RUN: printf 'garbage\n{"tool": "other"}\n' > %T/bad.jsonl; %sockleak report check %T/bad.jsonl; echo garbage=$?
// RUN: (cat %T/bad.jsonl %T/report.*.jsonl) | %sockleak report check --max-leaked 2 -; echo mixed=$?
// EXPECT: (v("over"), v("under"), v("live_over"), v("live_under"), v("default")) == (1, 0, 1, 0, 1)
// EXPECT: (v("usage"), v("missing"), v("garbage"), v("mixed")) == (2, 2, 2, 0)
// STDOUT: ^sockleak check: FAIL: report_check \(pid \d+\): 2 leaked sockets, more than 1 allowed; worst: 2 at leak_two \(report_check[.+][^)]*\) \[stack [0-9a-f]{16}\] \(exit report, \S+/report\.\d+\.jsonl:1\)$
// STDOUT: ^sockleak check: OK: 1 report of 1 process, at most 2 leaked \(limit 2\)$
// STDOUT: ^sockleak check: FAIL: report_check \(pid \d+\): 3 live sockets, more than 2 allowed; most: 2 at leak_two
// STDOUT: ^sockleak check: OK: 1 report of 1 process, at most 2 leaked \(limit 2\), at most 3 live \(limit 3\)$
// EXPECT: "sockleak report check: argument --max-leaked: 'lots' is not a count" in err
// EXPECT: "missing.jsonl: No such file or directory" in err and "no sockleak report in" in err
// EXPECT: re.search(r"bad\.jsonl:1: skipped: not JSON", err) and re.search(r'bad\.jsonl:2: skipped: not a sockleak report', err) and "<stdin>:1: skipped: not JSON" in err
#include "common.h"

static NOINLINE int leak_two(int l, int port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = local_addr(port);
    MUST(s >= 0 && connect(s, (struct sockaddr *)&a, sizeof(a)) == 0);
    int peer = accept(l, NULL, NULL);
    MUST(peer >= 0);
    close(peer); /* s goes to CLOSE_WAIT */
    wait_state(s, TCP_CLOSE_WAIT);
    return s;
}

int main(void)
{
    int port, l = listen_local(&port);
    for (int i = 0; i < 2; i++)
        leak_two(l, port); /* one call site: one stack */
    printf("listener=%d\n", l);
    return 0;
}
