// sockleak report merge: three forked children each leak 1, 2 and 3 sockets from the
// same code, the parent 1 from other code. Each process writes its own report; merge
// sums them by stack fingerprint: the children's stack leaked 6 in 3 processes.
// PRELOAD: launcher
// RUN: %sockleak --json --log %T/report.%p.jsonl --close-wait-after 0 -- %t
// RUN: %sockleak report merge --json %T/report.%p.jsonl > %T/merge.json
// RUN: %sockleak report merge %T/report.*.jsonl > %T/merge.txt
// RUN: %sockleak report merge --format markdown %T/report.*.jsonl > %T/merge.md
// EXPECT: len(others) == 3 and len({x["groups"][0]["stack"] for x in others}) == 1
// EXPECT: json.loads(readf("merge.json"))["processes"] == 4 and json.loads(readf("merge.json"))["leaked"] == 7
// EXPECT: [(x["stack"], x["leaked"], x["live"], x["processes"]) for x in json.loads(readf("merge.json"))["stacks"]][0] == (others[0]["groups"][0]["stack"], 6, 6, 3)
// EXPECT: json.loads(readf("merge.json"))["stacks"][0]["opened_at"].startswith("child_leak (")
// EXPECT: [(x["leaked"], x["processes"]) for x in json.loads(readf("merge.json"))["stacks"]][1] == (1, 1) and json.loads(readf("merge.json"))["stacks"][1]["opened_at"].startswith("parent_leak (")
// EXPECT: re.search(r"^sockleak merge: 4 reports from 4 processes of report_merge \(4\) in 4 files\ntotal: 7 leaked sockets in 2 stacks; ", readf("merge.txt"), re.M)
// EXPECT: re.search(r"^ +6 +6 +3 +\S+  %s  child_leak \(" % others[0]["groups"][0]["stack"], readf("merge.txt"), re.M)
// EXPECT: "| fingerprint | leaked | live | processes | worst CLOSE_WAIT | opened at |" in readf("merge.md") and ("| `%s` | 6 | 6 | 3 |" % others[0]["groups"][0]["stack"]) in readf("merge.md")
#include <sys/wait.h>

#include "common.h"

/* connect s to the listener, and have the server side hang up: s goes to CLOSE_WAIT */
static void hang_up(int s, int l, int port)
{
    struct sockaddr_in a = local_addr(port);
    MUST(s >= 0 && connect(s, (struct sockaddr *)&a, sizeof(a)) == 0);
    int peer = accept(l, NULL, NULL);
    MUST(peer >= 0);
    close(peer);
    wait_state(s, TCP_CLOSE_WAIT);
}

static NOINLINE void child_leak(int l, int port)
{
    hang_up(socket(AF_INET, SOCK_STREAM, 0), l, port);
}

static NOINLINE void parent_leak(int l, int port)
{
    hang_up(socket(AF_INET, SOCK_STREAM, 0), l, port);
}

int main(void)
{
    for (int k = 1; k <= 3; k++) {
        pid_t p = fork();
        MUST(p >= 0);
        if (p == 0) {
            int port, l = listen_local(&port);
            for (int i = 0; i < k; i++)
                child_leak(l, port);
            close(l);
            exit(0);
        }
        int st;
        MUST(waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    int port, l = listen_local(&port);
    parent_leak(l, port);
    close(l);
    return 0;
}
