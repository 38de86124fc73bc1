/* kinds: one socket of each kind, from functions named for them: a TCP listener, a
 * TCP connection in CLOSE_WAIT, a unix socketpair whose peer is gone, a UDP socket, a
 * UDP socket marked with sockleak_ignore(), and two from pool_connect() (for a
 * suppression rule, function:pool_*). Sleeps ARGV[1] ms before exiting, so scans see
 * the CLOSE_WAIT and the gone peer. */
#include "prog.h"

static NOINLINE int open_listener(struct sockaddr_in *a)
{
    return listen_local(a);
}

static NOINLINE int open_client(void)
{
    return socket(AF_INET, SOCK_STREAM, 0);
}

static NOINLINE int open_pair(int sv[2])
{
    return socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
}

static NOINLINE int open_udp(void)
{
    return socket(AF_INET, SOCK_DGRAM, 0);
}

static NOINLINE int pool_connect(void)
{
    return socket(AF_INET6, SOCK_DGRAM, 0);
}

int main(int argc, char **argv)
{
    struct sockaddr_in a;
    int l = open_listener(&a), c = open_client(), sv[2];
    MUST(l >= 0 && c >= 0);
    hang_up_on(l, c, &a);
    MUST(open_pair(sv) == 0 && close(sv[1]) == 0);
    MUST(open_udp() >= 0);
    int quiet = open_udp();
    MUST(quiet >= 0 && SOCKLEAK_CALL(sockleak_ignore, quiet) == 0);
    MUST(pool_connect() >= 0 && pool_connect() >= 0);
    sleep_ms(argc > 1 ? atoi(argv[1]) : 0);
    return 0;
}
