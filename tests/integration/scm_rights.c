// SCM_RIGHTS: a socket received through recvmsg() (or recvmmsg()) is a new fd in this
// process: tracked with origin "scm_rights" and the stack of the receiving code.
// Files passed the same way are not tracked.
// EXPECT: sock(v("got"))["origin"] == "scm_rights" and fn(sock(v("got"))) == "receive_one"
// EXPECT: sock(v("got"))["family"] == "inet" and sock(v("got"))["type"] == "dgram"
// EXPECT: sock(v("got2"))["origin"] == "scm_rights" and fn(sock(v("got2"))) == "receive_many"
// EXPECT: v("file") not in fds() and r["unseen"]["scm_rights"] == 2
#include <fcntl.h>
#include <sys/uio.h>

#include "common.h"

static void send_fd(int chan, int fd)
{
    char cbuf[CMSG_SPACE(sizeof(int))];
    memset(cbuf, 0, sizeof(cbuf));
    struct iovec iov = { "x", 1 };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
    MUST(sendmsg(chan, &m, 0) == 1);
}

static NOINLINE int receive_one(int chan)
{
    char cbuf[CMSG_SPACE(sizeof(int))], b;
    struct iovec iov = { &b, 1 };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
    MUST(recvmsg(chan, &m, 0) == 1);
    int fd;
    memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof(int));
    return fd;
}

static NOINLINE int receive_many(int chan)
{
    char cbuf[CMSG_SPACE(sizeof(int))], b;
    struct iovec iov = { &b, 1 };
    struct mmsghdr mm = { .msg_hdr = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
                                       .msg_controllen = sizeof(cbuf) } };
    MUST(recvmmsg(chan, &mm, 1, 0, NULL) == 1);
    int fd;
    memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&mm.msg_hdr)), sizeof(int));
    return fd;
}

int main(void)
{
    int chan[2];
    MUST(socketpair(AF_UNIX, SOCK_DGRAM, 0, chan) == 0);
    int s = socket(AF_INET, SOCK_DGRAM, 0), s2 = socket(AF_INET6, SOCK_STREAM, 0);
    int f = open("/dev/null", O_RDONLY);
    send_fd(chan[0], s);
    send_fd(chan[0], f);
    send_fd(chan[0], s2);
    close(s);
    close(s2);
    close(f);
    int got = receive_one(chan[1]);
    int file = receive_one(chan[1]);
    int got2 = receive_many(chan[1]);
    printf("got=%d file=%d got2=%d\n", got, file, got2);
    return 0;
}
