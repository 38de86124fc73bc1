// connect(): the peer is known for connected sockets, and for a socket whose connect()
// was refused the report still names the address it was aimed at; connect() keeps
// its return value and errno.
// EXPECT: sock(v("ok"))["peer"] == "127.0.0.1:%d" % v("port") and sock(v("ok"))["state"] == "ESTABLISHED"
// EXPECT: sock(v("refused"))["peer"] == "127.0.0.1:%d" % v("deadport")
// EXPECT: sock(v("refused"))["state"] == "CLOSE"
// EXPECT: v("errno_refused") == 111 and v("ret_refused") == -1
// EXPECT: sock(v("udp"))["peer"] == "[::1]:53"
#include "common.h"

int main(void)
{
    int port, l = listen_local(&port);
    struct sockaddr_in a = local_addr(port);
    int ok = socket(AF_INET, SOCK_STREAM, 0);
    MUST(connect(ok, (struct sockaddr *)&a, sizeof(a)) == 0);

    /* a port bound but not listening: refused, and no other program can take it meanwhile */
    int dead = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in d = local_addr(0);
    socklen_t dlen = sizeof(d);
    MUST(bind(dead, (struct sockaddr *)&d, sizeof(d)) == 0 && getsockname(dead, (struct sockaddr *)&d, &dlen) == 0);
    int dport = ntohs(d.sin_port);
    int refused = socket(AF_INET, SOCK_STREAM, 0);
    errno = 0;
    int ret = connect(refused, (struct sockaddr *)&d, sizeof(d));
    int e = errno;

    int udp = socket(AF_INET6, SOCK_DGRAM, 0);
    struct sockaddr_in6 six = { .sin6_family = AF_INET6, .sin6_port = htons(53), .sin6_addr = IN6ADDR_LOOPBACK_INIT };
    MUST(connect(udp, (struct sockaddr *)&six, sizeof(six)) == 0);
    printf("ok=%d port=%d refused=%d deadport=%d ret_refused=%d errno_refused=%d udp=%d\n", ok, port, refused, dport,
           ret, e, udp);
    (void)l;
    return 0;
}
