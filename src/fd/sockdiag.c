/*
 * sockdiag.c - every TCP socket in CLOSE_WAIT, from the kernel's socket tables.
 *
 * One NETLINK_SOCK_DIAG dump per address family, filtered by state in the kernel, so
 * the cost is that of the sockets in CLOSE_WAIT in the namespace (and of walking the
 * kernel's table), not one system call per socket the program holds. Each entry is
 * matched by inode against the registry by the caller. The netlink socket lives and
 * dies in the I/O child's fd table (iochild.c).
 */
#define _GNU_SOURCE
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>

#include "fd.h"

/* One SOCK_DIAG_BY_FAMILY dump of family's TCP sockets in CLOSE_WAIT, appended to v
 * (at most cap). Raw system calls only: it runs in the I/O child. */
static long dump_close_wait(int nl, int family, char *buf, size_t buflen, struct sl_cw_entry *v, size_t *n,
                            size_t cap)
{
    struct {
        struct nlmsghdr nh;
        struct inet_diag_req_v2 req;
    } msg;
    memset(&msg, 0, sizeof(msg));
    msg.nh.nlmsg_len = sizeof(msg);
    msg.nh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    msg.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    msg.nh.nlmsg_seq = (uint32_t)family;
    msg.req.sdiag_family = (uint8_t)family;
    msg.req.sdiag_protocol = IPPROTO_TCP;
    msg.req.idiag_states = 1u << TCP_CLOSE_WAIT; /* the kernel filters: only these come back */
    msg.req.idiag_ext = 1u << (INET_DIAG_INFO - 1);
    struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
    long sent = SL_SYS(SYS_sendto, nl, &msg, sizeof(msg), 0, &kernel, sizeof(kernel));
    if (sent < 0)
        return sent;
    long overflow = 0;
    for (;;) {
        long len = SL_SYS(SYS_recvfrom, nl, buf, buflen, 0, NULL, NULL);
        if (len == -EINTR)
            continue;
        if (len < 0)
            return len;
        if (len == 0)
            return -EIO;
        int left = (int)len;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)left); h = NLMSG_NEXT(h, left)) {
            if (h->nlmsg_type == NLMSG_DONE)
                return overflow ? -ENOBUFS : 0;
            if (h->nlmsg_type == NLMSG_ERROR) {
                struct nlmsgerr *e = NLMSG_DATA(h);
                return e->error ? e->error : -EIO;
            }
            if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct inet_diag_msg)))
                continue;
            struct inet_diag_msg *m = NLMSG_DATA(h);
            if (*n == cap) {
                overflow++; /* read on to the end of the dump, then say so */
                continue;
            }
            struct sl_cw_entry *e = &v[(*n)++];
            e->ino = m->idiag_inode;
            e->last_ack_recv_ms = 0;
            int alen = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*m)));
            for (struct rtattr *a = (struct rtattr *)(m + 1); RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
                if (a->rta_type != INET_DIAG_INFO)
                    continue;
                struct tcp_info ti;
                memset(&ti, 0, sizeof(ti));
                size_t got = RTA_PAYLOAD(a) < sizeof(ti) ? RTA_PAYLOAD(a) : sizeof(ti);
                memcpy(&ti, RTA_DATA(a), got);
                e->last_ack_recv_ms = ti.tcpi_last_ack_recv;
            }
        }
    }
}

struct diag_arg {
    struct sl_cw_entry *v;
    size_t cap, n;
    unsigned families;
    char *buf;
    size_t buflen;
};

static long do_diag(void *p)
{
    struct diag_arg *a = p;
    int nl = (int)SL_SYS(SYS_socket, AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (nl < 0)
        return nl;
    long r = a->families & SL_DIAG_INET ? dump_close_wait(nl, AF_INET, a->buf, a->buflen, a->v, &a->n, a->cap) : 0;
    if ((r == 0 || r == -ENOBUFS) && (a->families & SL_DIAG_INET6)) {
        long r6 = dump_close_wait(nl, AF_INET6, a->buf, a->buflen, a->v, &a->n, a->cap);
        if (r == 0)
            r = r6;
    }
    SL_SYS(SYS_close, nl);
    return r;
}

long sl_probe_close_wait_inodes(struct sl_cw_entry *out, size_t cap, unsigned families)
{
    char *buf = malloc(32768);
    if (!buf)
        return -ENOMEM;
    struct diag_arg a = { out, cap, 0, families, buf, 32768 };
    long r = sl_iochild_run(do_diag, &a); /* the netlink socket lives in the child's fd table */
    free(buf);
    return r < 0 ? r : (long)a.n;
}
