// In a stripped program the headline names frame #0 as module+offset (the code that
// called socket()), never a later frame that happens to have a name
// (__libc_start_call_main); `sockleak report symbolize` can name it later.
// FORMAT: text
// OPTIONS: close_wait_after=100ms:scan_interval=50ms
// RUN: cp %t %T/prog && strip %T/prog && %T/prog
// CHECK: ^==[0-9]+==sockleak: 1 socket stuck in CLOSE_WAIT for .*, opened at prog\+0x[0-9a-f]+$
// CHECK-NOT: opened at __libc
#include "common.h"

static int port;

static NOINLINE int fetch(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = local_addr(port);
    MUST(connect(s, (struct sockaddr *)&a, sizeof(a)) == 0);
    return s;
}

int main(void)
{
    int l = listen_local(&port);
    int s = fetch();
    int so = accept(l, NULL, NULL);
    MUST(so >= 0 && close(so) == 0 && close(l) == 0);
    wait_state(s, TCP_CLOSE_WAIT);
    sleep_ms(400);
    return 0;
}
