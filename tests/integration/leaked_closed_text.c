// The text report of a process whose only leak was closed before it exited says so in
// its headline and its SUMMARY, and names where the socket was opened.
// FORMAT: text
// OPTIONS: close_wait_after=200ms:scan_interval=50ms
// CHECK: ^==[0-9]+==sockleak: 1 socket leaked, then closed later \(by a finalizer, at shutdown, or late\), opened at fetch_and_forget \(leaked_closed_text.c:[0-9]+\)$
// CHECK: ^Leaked, then closed later \(by a finalizer, at shutdown, or late\): 1 socket$
// CHECK: ^  1 \(close_wait, e.g. fd [0-9]+\) closed .* after found leaked, opened at fetch_and_forget
// CHECK: ^SUMMARY: sockleak: 0 leaked sockets in 0 stacks; 1 leaked, then closed later; 1 live in 1 stack;
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
    MUST(close(so) == 0);
    wait_state(s, TCP_CLOSE_WAIT);
    sleep_ms(700);
    MUST(close(s) == 0);
    return 0;
}
