// Unread data: accepted connections that were never read keep what their peers sent;
// once the peer hangs up they sit in CLOSE_WAIT with exactly those bytes unread
// (unread_bytes; the FIN is not counted), and no end-of-file read. The text report says
// how many bytes were never read. A connected socket counts its queue too; a listener
// and a datagram socket have no unread_bytes.
// OPTIONS: close_wait_after=100ms:scan_interval=50ms
// RUN: %t ; SOCKLEAK_OPTIONS="format=text:log_path=%T/text.txt:close_wait_after=100ms" %t
// EXPECT: [sock(fd)["unread_bytes"] for fd in j("never_read")] == [100, 3000, 0]
// EXPECT: all(sock(fd)["state"] == "CLOSE_WAIT" and sock(fd)["leak"] == "close_wait" for fd in j("never_read"))
// EXPECT: all(sock(fd)["eof_stack"] is None for fd in j("never_read"))
// EXPECT: sock(v("established"))["state"] == "ESTABLISHED" and sock(v("established"))["unread_bytes"] == 7
// EXPECT: sock(v("listener"))["unread_bytes"] is None and sock(v("udp"))["unread_bytes"] is None
// EXPECT: re.search(r"^  end-of-file never read: 3 sockets, 3100 bytes never read$", readf("text.txt"), re.M)
#include "common.h"

static int port;
static char data[3000];

/* A connection whose client sends n bytes and hangs up; the server never reads. */
static NOINLINE int accept_and_forget(int l, size_t n)
{
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = local_addr(port);
    MUST(connect(c, (struct sockaddr *)&a, sizeof(a)) == 0);
    int s = accept(l, NULL, NULL);
    MUST(s >= 0);
    MUST(n == 0 || write(c, data, n) == (ssize_t)n);
    close(c);
    wait_state(s, TCP_CLOSE_WAIT);
    return s;
}

int main(void)
{
    int l = listen_local(&port);
    static const size_t sizes[3] = { 100, 3000, 0 };
    int forgot[3];
    for (int k = 0; k < 3; k++) /* one call site: one stack */
        forgot[k] = accept_and_forget(l, sizes[k]);
    int e = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = local_addr(port);
    MUST(connect(e, (struct sockaddr *)&addr, sizeof(addr)) == 0);
    int s = accept(l, NULL, NULL);
    MUST(write(s, "1234567", 7) == 7);
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    MUST(u >= 0);
    sleep_ms(200);
    printf("never_read=[%d, %d, %d]\nestablished=%d listener=%d udp=%d\n", forgot[0], forgot[1], forgot[2], e, l, u);
    return 0;
}
