// Every read call that can return end-of-file records it: read, readv, recv, recvfrom,
// recvmsg, recvmmsg, the _FORTIFY_SOURCE variants (__read_chk, __recv_chk,
// __recvfrom_chk), and syscall(SYS_read / SYS_recvfrom / SYS_readv / SYS_recvmsg); frame
// 0 of each eof_stack is the function that called it. Not an end-of-file: a read of 0
// bytes, an empty datagram, a read that returned data. A unix stream socket whose peer
// closed records it too. errno and return values are libc's.
// EXPECT: all(fn(sock(v(name))["eof_stack"]) == "by_" + name for name in ["read", "readv", "recv", "recvfrom", "recvmsg", "recvmmsg", "read_chk", "recv_chk", "recvfrom_chk", "sys_read", "sys_recvfrom", "sys_readv", "sys_recvmsg", "unix"])
// EXPECT: all(sock(v(name))["eof_stack"] is None for name in ["zero_len", "dgram", "data"])
// EXPECT: sock(v("unix"))["leak"] == "peer_closed" or sock(v("unix"))["peer_closed_ms"] is not None
// EXPECT: v("errno_kept") == 1 and v("zero_ret") == 0
#include <sys/syscall.h>
#include <sys/uio.h>

#include "common.h"

ssize_t __read_chk(int fd, void *buf, size_t n, size_t cap);
ssize_t __recv_chk(int fd, void *buf, size_t n, size_t cap, int flags);
ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t cap, int flags, struct sockaddr *addr, socklen_t *len);

static int l, port;
static char buf[64];

/* A TCP socket whose peer has hung up (CLOSE_WAIT), nothing left to read. */
static int hung_up(void)
{
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = local_addr(port);
    MUST(connect(c, (struct sockaddr *)&a, sizeof(a)) == 0);
    int s = accept(l, NULL, NULL);
    MUST(s >= 0);
    close(c);
    wait_state(s, TCP_CLOSE_WAIT);
    return s;
}

#define EOF_BY(name, call)                                                                                     \
    static NOINLINE int by_##name(int fd)                                                                      \
    {                                                                                                          \
        errno = 4242;                                                                                          \
        MUST((call) == 0 && errno == 4242);                                                                    \
        return fd;                                                                                             \
    }

static struct iovec iov = { buf, sizeof(buf) };
static struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
static struct mmsghdr mm[2] = { { .msg_hdr = { .msg_iov = &iov, .msg_iovlen = 1 } },
                                { .msg_hdr = { .msg_iov = &iov, .msg_iovlen = 1 } } };

EOF_BY(read, read(fd, buf, sizeof(buf)))
EOF_BY(readv, readv(fd, &iov, 1))
EOF_BY(recv, recv(fd, buf, sizeof(buf), 0))
EOF_BY(recvfrom, recvfrom(fd, buf, sizeof(buf), 0, NULL, NULL))
EOF_BY(recvmsg, recvmsg(fd, &mh, 0))
EOF_BY(recvmmsg, recvmmsg(fd, mm, 2, MSG_DONTWAIT, NULL) > 0 ? (int)mm[0].msg_len : -1)
EOF_BY(read_chk, __read_chk(fd, buf, sizeof(buf), sizeof(buf)))
EOF_BY(recv_chk, __recv_chk(fd, buf, sizeof(buf), sizeof(buf), 0))
EOF_BY(recvfrom_chk, __recvfrom_chk(fd, buf, sizeof(buf), sizeof(buf), 0, NULL, NULL))
EOF_BY(sys_read, syscall(SYS_read, fd, buf, sizeof(buf)))
EOF_BY(sys_recvfrom, syscall(SYS_recvfrom, fd, buf, sizeof(buf), 0, NULL, NULL))
EOF_BY(sys_readv, syscall(SYS_readv, fd, &iov, 1))
EOF_BY(sys_recvmsg, syscall(SYS_recvmsg, fd, &mh, 0))
EOF_BY(unix, recv(fd, buf, sizeof(buf), 0))
EOF_BY(zero_len, recv(fd, buf, 0, 0))

int main(void)
{
    l = listen_local(&port);
    printf("read=%d readv=%d recv=%d recvfrom=%d recvmsg=%d recvmmsg=%d\n", by_read(hung_up()), by_readv(hung_up()),
           by_recv(hung_up()), by_recvfrom(hung_up()), by_recvmsg(hung_up()), by_recvmmsg(hung_up()));
    printf("read_chk=%d recv_chk=%d recvfrom_chk=%d\n", by_read_chk(hung_up()), by_recv_chk(hung_up()),
           by_recvfrom_chk(hung_up()));
    printf("sys_read=%d sys_recvfrom=%d sys_readv=%d sys_recvmsg=%d\n", by_sys_read(hung_up()),
           by_sys_recvfrom(hung_up()), by_sys_readv(hung_up()), by_sys_recvmsg(hung_up()));
    int sv[2];
    MUST(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    close(sv[1]);
    printf("unix=%d\n", by_unix(sv[0]));

    /* not end-of-file: a read of nothing on an open connection, an empty datagram, data */
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = local_addr(port);
    MUST(connect(c, (struct sockaddr *)&a, sizeof(a)) == 0);
    int s = accept(l, NULL, NULL);
    MUST(write(s, "x", 1) == 1);
    printf("zero_len=%d zero_ret=%d\n", by_zero_len(c), 0);
    int d = socket(AF_INET, SOCK_DGRAM, 0), e = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in da = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t dlen = sizeof(da);
    MUST(bind(d, (struct sockaddr *)&da, sizeof(da)) == 0 && getsockname(d, (struct sockaddr *)&da, &dlen) == 0);
    MUST(sendto(e, "", 0, 0, (struct sockaddr *)&da, sizeof(da)) == 0);
    MUST(recv(d, buf, sizeof(buf), 0) == 0); /* an empty datagram */
    MUST(recv(c, buf, sizeof(buf), 0) == 1);
    errno = 77;
    MUST(recv(c, buf, sizeof(buf), MSG_DONTWAIT) == -1 && errno == EAGAIN);
    printf("dgram=%d data=%d errno_kept=1\n", d, c);
    sleep_ms(100);
    return 0;
}
