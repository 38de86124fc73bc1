// The text report: a sanitizer-style headline naming the leak and the function that
// opened it, totals, one block per stack (most leaked first) with frames, states,
// fds and peers, and a SUMMARY line.
// FORMAT: text
// OPTIONS: close_wait_after=100ms:scan_interval=50ms
// CHECK: ^==\d+==sockleak: 3 sockets stuck in CLOSE_WAIT for \d+(ms|\.\ds)( to \d+(ms|\.\ds))?, opened at leaky_fetch \(text_report.c:23\)$
// CHECK: ^==\d+==report: exit of text_report \(pid \d+\) at \d{4}-.*Z, after .*; 4 live, 3 in CLOSE_WAIT, 3 leaked \(CLOSE_WAIT for 100ms or more\), 1 listening$
// CHECK: ^Leak of 3 sockets stuck in CLOSE_WAIT for \d+(ms|\.\ds)( to \d+(ms|\.\ds))?, opened by socket\(\):$
// CHECK: ^    #0 0x[0-9a-f]+ in leaky_fetch tests/integration/text_report.c:23 \(/.*/text_report\+0x[0-9a-f]+\)$
// CHECK: ^    #1 0x[0-9a-f]+ in main tests/integration/text_report.c:34 \(/.*/text_report\+0x[0-9a-f]+\)$
// CHECK: ^  states: CLOSE_WAIT 3$
// CHECK: ^  peers: 127\.0\.0\.1:\d+ \(3\)$
// CHECK: ^1 live socket, not leaked, opened by socket\(\):$
// CHECK: ^  states: LISTEN 1$
// CHECK: ^SUMMARY: sockleak: 3 leaked sockets in 1 stack; 4 live in 2 stacks; 7 opened, 3 closed since start\.$
// CHECK-NOT: ^\{
#include "common.h"

static int port;

static NOINLINE int leaky_fetch(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = local_addr(port);
    MUST(connect(s, (struct sockaddr *)&a, sizeof(a)) == 0);
    return s;
}

int main(void)
{
    int l = listen_local(&port);
    int c[3];
    for (int i = 0; i < 3; i++) {
        c[i] = leaky_fetch();
        int s = accept(l, NULL, NULL);
        close(s);
    }
    for (int i = 0; i < 3; i++)
        wait_state(c[i], TCP_CLOSE_WAIT);
    sleep_ms(400);
    return 0;
}
