/*
 * test_probe.c - unit tests for probe.c: the OS seam.
 *
 * Real sockets only (this binary is not preloaded): sl_probe_inode on a socket, a
 * regular file and a closed fd, with errno preserved; sl_probe_meta; sl_probe_tcp_state
 * through a loopback connection's life (LISTEN, ESTABLISHED, CLOSE_WAIT once the peer
 * closed); sl_probe_addr; sl_probe_each_fd against fcntl's view of the fd table. Then
 * the pure helpers: sl_format_sockaddr for every family it knows, the sl_addr round
 * trip, and the name tables.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fd/fd.h"

/* fds a test opened; teardown closes them */
static int fds[16];
static int nfds;

static int keep(int fd)
{
    assert_true(fd >= 0);
    fds[nfds++] = fd;
    return fd;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < nfds; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    nfds = 0;
    return 0;
}

/* Forget fd in the fixture (the test closed it itself). */
static void closed_now(int fd)
{
    for (int i = 0; i < nfds; i++)
        if (fds[i] == fd)
            fds[i] = -1;
}

/* A listener on 127.0.0.1, an ephemeral port. */
static int tcp_listener(struct sockaddr_in *where)
{
    int l = keep(socket(AF_INET, SOCK_STREAM, 0));
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    assert_int_equal(bind(l, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(listen(l, 4), 0);
    socklen_t len = sizeof(*where);
    assert_int_equal(getsockname(l, (struct sockaddr *)where, &len), 0);
    return l;
}

/* A connected loopback pair: *client and *server (the accepted end). */
static void tcp_pair(int *client, int *server, struct sockaddr_in *where)
{
    int l = tcp_listener(where);
    *client = keep(socket(AF_INET, SOCK_STREAM, 0));
    assert_int_equal(connect(*client, (struct sockaddr *)where, sizeof(*where)), 0);
    *server = keep(accept(l, NULL, NULL));
}

static int wait_state(int fd, int want)
{
    int state = -1;
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(sl_probe_tcp_state(fd, &state), 0);
        if (state == want)
            break;
        nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
    }
    return state;
}

static void fmt(const struct sockaddr *sa, socklen_t len, char *out, size_t outlen)
{
    memset(out, 'Z', outlen);
    sl_format_sockaddr(sa, len, out, outlen);
}

/* ---- sl_probe_inode ---- */

static void test_inode_of_a_socket(void **state)
{
    (void)state;
    int s = keep(socket(AF_UNIX, SOCK_STREAM, 0));
    struct stat st;
    assert_int_equal(fstat(s, &st), 0);
    uint64_t dev = 0, ino = 0;
    assert_int_equal(sl_probe_inode(s, &dev, &ino), 0);
    assert_int_equal(ino, (uint64_t)st.st_ino);
    assert_int_equal(dev, (uint64_t)st.st_dev);
    assert_int_not_equal(ino, 0);
}

static void test_inode_of_a_regular_file_is_enotsock(void **state)
{
    (void)state;
    int f = keep(open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
    uint64_t dev = 11, ino = 22;
    errno = 4321;
    assert_int_equal(sl_probe_inode(f, &dev, &ino), -ENOTSOCK);
    assert_int_equal(errno, 4321);
    assert_int_equal(ino, 22);
}

static void test_inode_of_a_closed_fd_is_ebadf(void **state)
{
    (void)state;
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(s >= 0);
    close(s);
    uint64_t dev, ino;
    errno = 4321;
    assert_int_equal(sl_probe_inode(s, &dev, &ino), -EBADF);
    assert_int_equal(errno, 4321);
}

static void test_inodes_differ_between_sockets(void **state)
{
    (void)state;
    int a = keep(socket(AF_INET, SOCK_STREAM, 0)), b = keep(socket(AF_INET, SOCK_STREAM, 0));
    int c = keep(dup(a));
    uint64_t d, ia, ib, ic;
    assert_int_equal(sl_probe_inode(a, &d, &ia), 0);
    assert_int_equal(sl_probe_inode(b, &d, &ib), 0);
    assert_int_equal(sl_probe_inode(c, &d, &ic), 0);
    assert_int_not_equal(ia, ib);
    assert_int_equal(ia, ic); /* a dup is the same socket */
}

/* ---- sl_probe_meta ---- */

static void test_meta_of_tcp_socket(void **state)
{
    (void)state;
    int s = keep(socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0));
    int fam = -1, type = -1, proto = -1;
    assert_int_equal(sl_probe_meta(s, &fam, &type, &proto), 0);
    assert_int_equal(fam, AF_INET6);
    assert_int_equal(type, SOCK_STREAM);
    assert_int_equal(proto, IPPROTO_TCP);
}

static void test_meta_of_udp_and_unix_sockets(void **state)
{
    (void)state;
    int u = keep(socket(AF_INET, SOCK_DGRAM, 0)), x = keep(socket(AF_UNIX, SOCK_SEQPACKET, 0));
    int fam, type, proto;
    assert_int_equal(sl_probe_meta(u, &fam, &type, &proto), 0);
    assert_int_equal(fam, AF_INET);
    assert_int_equal(type, SOCK_DGRAM);
    assert_int_equal(proto, IPPROTO_UDP);
    assert_int_equal(sl_probe_meta(x, &fam, &type, &proto), 0);
    assert_int_equal(fam, AF_UNIX);
    assert_int_equal(type, SOCK_SEQPACKET);
    assert_int_equal(proto, 0);
}

static void test_meta_errors_preserve_errno(void **state)
{
    (void)state;
    int f = keep(open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
    int fam, type, proto;
    errno = 4321;
    assert_int_equal(sl_probe_meta(f, &fam, &type, &proto), -ENOTSOCK);
    assert_int_equal(errno, 4321);
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    close(s);
    assert_int_equal(sl_probe_meta(s, &fam, &type, &proto), -EBADF);
    assert_int_equal(errno, 4321);
}

/* ---- sl_probe_tcp_state ---- */

static void test_tcp_state_listen(void **state)
{
    (void)state;
    struct sockaddr_in where;
    int l = tcp_listener(&where);
    int st = -1;
    assert_int_equal(sl_probe_tcp_state(l, &st), 0);
    assert_int_equal(st, TCP_LISTEN);
    assert_int_equal(st, 10);
}

static void test_tcp_state_fresh_socket_is_close(void **state)
{
    (void)state;
    int s = keep(socket(AF_INET, SOCK_STREAM, 0));
    int st = -1;
    assert_int_equal(sl_probe_tcp_state(s, &st), 0);
    assert_int_equal(st, TCP_CLOSE);
}

static void test_tcp_state_established_pair(void **state)
{
    (void)state;
    int c, s;
    struct sockaddr_in where;
    tcp_pair(&c, &s, &where);
    int st = -1;
    assert_int_equal(sl_probe_tcp_state(c, &st), 0);
    assert_int_equal(st, TCP_ESTABLISHED);
    assert_int_equal(st, 1);
    st = -1;
    assert_int_equal(sl_probe_tcp_state(s, &st), 0);
    assert_int_equal(st, TCP_ESTABLISHED);
}

static void test_tcp_state_close_wait_after_peer_closes(void **state)
{
    (void)state;
    int c, s;
    struct sockaddr_in where;
    tcp_pair(&c, &s, &where);
    close(c);
    closed_now(c);
    assert_int_equal(wait_state(s, TCP_CLOSE_WAIT), TCP_CLOSE_WAIT);
    assert_int_equal(TCP_CLOSE_WAIT, 8);
}

static void test_tcp_state_errors(void **state)
{
    (void)state;
    int u = keep(socket(AF_UNIX, SOCK_STREAM, 0));
    int st = 99;
    errno = 4321;
    assert_true(sl_probe_tcp_state(u, &st) < 0);
    assert_int_equal(st, 99);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    close(s);
    assert_int_equal(sl_probe_tcp_state(s, &st), -EBADF);
    assert_int_equal(errno, 4321);
}

/* ---- sl_probe_addr ---- */

static void test_addr_local_and_peer(void **state)
{
    (void)state;
    int c, s;
    struct sockaddr_in where;
    tcp_pair(&c, &s, &where);
    struct sockaddr_storage ss;
    socklen_t len = 0;
    char text[64], want[64];
    assert_int_equal(sl_probe_addr(c, true, &ss, &len), 0);
    assert_int_equal(len, sizeof(struct sockaddr_in));
    assert_int_equal(ss.ss_family, AF_INET);
    assert_int_equal(((struct sockaddr_in *)&ss)->sin_port, where.sin_port);
    sl_format_sockaddr((struct sockaddr *)&ss, len, text, sizeof(text));
    snprintf(want, sizeof(want), "127.0.0.1:%u", ntohs(where.sin_port));
    assert_string_equal(text, want);
    assert_int_equal(sl_probe_addr(s, false, &ss, &len), 0); /* the accepted end's local address */
    sl_format_sockaddr((struct sockaddr *)&ss, len, text, sizeof(text));
    assert_string_equal(text, want);
}

static void test_addr_peer_of_unconnected_is_enotconn(void **state)
{
    (void)state;
    int s = keep(socket(AF_INET, SOCK_STREAM, 0));
    struct sockaddr_storage ss;
    socklen_t len;
    errno = 4321;
    assert_int_equal(sl_probe_addr(s, true, &ss, &len), -ENOTCONN);
    assert_int_equal(errno, 4321);
}

static void test_addr_of_abstract_unix_socket(void **state)
{
    (void)state;
    int s = keep(socket(AF_UNIX, SOCK_STREAM, 0));
    char name[64];
    int n = snprintf(name, sizeof(name), "sockleak-test-%d", (int)getpid());
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    memcpy(sun.sun_path + 1, name, (size_t)n);
    assert_int_equal(bind(s, (struct sockaddr *)&sun, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)), 0);
    struct sockaddr_storage ss;
    socklen_t len;
    assert_int_equal(sl_probe_addr(s, false, &ss, &len), 0);
    char text[128], want[80];
    sl_format_sockaddr((struct sockaddr *)&ss, len, text, sizeof(text));
    snprintf(want, sizeof(want), "@%s", name);
    assert_string_equal(text, want);
}

/* ---- sl_probe_each_fd ---- */

struct seen {
    char fd[4096];
    int calls, stop_after;
};

static int note_fd(int fd, void *arg)
{
    struct seen *s = arg;
    if (fd >= 0 && fd < (int)sizeof(s->fd))
        s->fd[fd]++;
    s->calls++;
    return s->stop_after && s->calls >= s->stop_after;
}

static void test_each_fd_sees_an_fd_you_opened(void **state)
{
    (void)state;
    int s = keep(socket(AF_INET, SOCK_STREAM, 0));
    static struct seen seen;
    memset(&seen, 0, sizeof(seen));
    errno = 4321;
    assert_int_equal(sl_probe_each_fd(note_fd, &seen), 0);
    assert_int_equal(errno, 4321);
    assert_int_equal(seen.fd[s], 1);
}

static void test_each_fd_matches_the_fd_table(void **state)
{
    (void)state;
    int a = keep(socket(AF_INET, SOCK_STREAM, 0)), b = keep(open("/dev/null", O_RDONLY | O_CLOEXEC));
    int gone = socket(AF_INET, SOCK_STREAM, 0);
    close(gone);
    static struct seen seen;
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(sl_probe_each_fd(note_fd, &seen), 0);
    for (int fd = 0; fd < (int)sizeof(seen.fd); fd++) {
        bool open_now = fcntl(fd, F_GETFD) >= 0;
        if (seen.fd[fd] != (open_now ? 1 : 0))
            fail_msg("fd %d: open=%d but seen %d times", fd, open_now, seen.fd[fd]);
    }
    assert_int_equal(seen.fd[a], 1);
    assert_int_equal(seen.fd[b], 1);
    assert_int_equal(seen.fd[gone], 0);
}

static void test_each_fd_stops_when_asked(void **state)
{
    (void)state;
    keep(socket(AF_INET, SOCK_STREAM, 0));
    keep(socket(AF_INET, SOCK_STREAM, 0));
    static struct seen seen;
    memset(&seen, 0, sizeof(seen));
    seen.stop_after = 1;
    assert_int_equal(sl_probe_each_fd(note_fd, &seen), 0);
    assert_int_equal(seen.calls, 1);
}

/* The kernel's count of open fds (Linux 6.2 on), or -1; it agrees with a walk. */
static int count_one(int fd, void *arg)
{
    (void)fd;
    (*(long *)arg)++;
    return 0;
}

static void test_count_fds_agrees_with_a_walk(void **state)
{
    (void)state;
    errno = 777;
    long before = sl_probe_count_fds();
    assert_int_equal(errno, 777);
    if (before < 0)
        skip(); /* a kernel before 6.2: the size of /proc/PID/fd is 0 */
    long walked = 0;
    sl_probe_each_fd(count_one, &walked);
    assert_int_equal(before, walked);
    keep(open("/dev/null", O_RDONLY | O_CLOEXEC));
    keep(socket(AF_UNIX, SOCK_DGRAM, 0));
    assert_int_equal(sl_probe_count_fds(), before + 2);
}

/* ---- sl_format_sockaddr ---- */

static void test_format_inet(void **state)
{
    (void)state;
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(80) };
    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    char out[64];
    fmt((struct sockaddr *)&sin, sizeof(sin), out, sizeof(out));
    assert_string_equal(out, "127.0.0.1:80");
    sin.sin_port = htons(65535);
    inet_pton(AF_INET, "255.255.255.255", &sin.sin_addr);
    fmt((struct sockaddr *)&sin, sizeof(sin), out, sizeof(out));
    assert_string_equal(out, "255.255.255.255:65535");
}

static void test_format_inet6(void **state)
{
    (void)state;
    struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(80), .sin6_addr = IN6ADDR_LOOPBACK_INIT };
    char out[80];
    fmt((struct sockaddr *)&sin6, sizeof(sin6), out, sizeof(out));
    assert_string_equal(out, "[::1]:80");
    inet_pton(AF_INET6, "fe80::1", &sin6.sin6_addr);
    sin6.sin6_scope_id = 2;
    sin6.sin6_port = htons(8443);
    fmt((struct sockaddr *)&sin6, sizeof(sin6), out, sizeof(out));
    assert_string_equal(out, "[fe80::1%2]:8443");
}

static void test_format_unix_path(void **state)
{
    (void)state;
    struct sockaddr_un sun = { .sun_family = AF_UNIX, .sun_path = "/run/app.sock" };
    char out[128];
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(sun.sun_path) + 1);
    fmt((struct sockaddr *)&sun, len, out, sizeof(out));
    assert_string_equal(out, "/run/app.sock");
    fmt((struct sockaddr *)&sun, len - 1, out, sizeof(out)); /* without the NUL */
    assert_string_equal(out, "/run/app.sock");
    fmt((struct sockaddr *)&sun, sizeof(sun), out, sizeof(out));
    assert_string_equal(out, "/run/app.sock");
}

static void test_format_unix_abstract(void **state)
{
    (void)state;
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    memcpy(sun.sun_path, "\0name", 5);
    char out[128];
    fmt((struct sockaddr *)&sun, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 5), out, sizeof(out));
    assert_string_equal(out, "@name");
}

static void test_format_unix_unnamed_is_empty(void **state)
{
    (void)state;
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    char out[16];
    fmt((struct sockaddr *)&sun, sizeof(sa_family_t), out, sizeof(out));
    assert_string_equal(out, "");
}

static void test_format_nothing_or_unknown_is_empty(void **state)
{
    (void)state;
    char out[16];
    fmt(NULL, 0, out, sizeof(out));
    assert_string_equal(out, "");
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(80) };
    fmt((struct sockaddr *)&sin, sizeof(sin) - 1, out, sizeof(out)); /* too short for inet */
    assert_string_equal(out, "");
    struct sockaddr sa = { .sa_family = AF_NETLINK };
    fmt(&sa, sizeof(sa), out, sizeof(out));
    assert_string_equal(out, "");
}

static void test_format_truncates_to_outlen(void **state)
{
    (void)state;
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(80) };
    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    char out[16];
    memset(out, 'Z', sizeof(out));
    sl_format_sockaddr((struct sockaddr *)&sin, sizeof(sin), out, 8);
    assert_string_equal(out, "127.0.0");
    assert_int_equal(out[8], 'Z'); /* nothing written past outlen */
    struct sockaddr_un sun = { .sun_family = AF_UNIX, .sun_path = "/a/long/path" };
    memset(out, 'Z', sizeof(out));
    sl_format_sockaddr((struct sockaddr *)&sun, sizeof(sun), out, 5);
    assert_string_equal(out, "/a/l");
    assert_int_equal(out[5], 'Z');
}

/* ---- sl_addr ---- */

static void test_addr_round_trip_inet(void **state)
{
    (void)state;
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(8080) };
    inet_pton(AF_INET, "10.0.0.1", &sin.sin_addr);
    struct sl_addr a;
    sl_addr_from_sockaddr(&a, (struct sockaddr *)&sin, sizeof(sin));
    assert_int_equal(a.family, AF_INET);
    assert_int_equal(a.port, htons(8080));
    struct sockaddr_storage ss;
    socklen_t len = 0;
    sl_addr_to_sockaddr(&a, &ss, &len);
    assert_int_equal(len, sizeof(sin));
    assert_memory_equal(&ss, &sin, sizeof(sin));
}

static void test_addr_round_trip_inet6(void **state)
{
    (void)state;
    struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(443), .sin6_scope_id = 7 };
    inet_pton(AF_INET6, "2001:db8::42", &sin6.sin6_addr);
    struct sl_addr a;
    sl_addr_from_sockaddr(&a, (struct sockaddr *)&sin6, sizeof(sin6));
    assert_int_equal(a.family, AF_INET6);
    assert_int_equal(a.scope, 7);
    struct sockaddr_storage ss;
    socklen_t len = 0;
    sl_addr_to_sockaddr(&a, &ss, &len);
    assert_int_equal(len, sizeof(sin6));
    assert_memory_equal(&ss, &sin6, sizeof(sin6));
    char out[80];
    fmt((struct sockaddr *)&ss, len, out, sizeof(out));
    assert_string_equal(out, "[2001:db8::42%7]:443");
}

static void test_addr_from_other_families_is_none(void **state)
{
    (void)state;
    struct sockaddr_un sun = { .sun_family = AF_UNIX, .sun_path = "/x" };
    struct sl_addr a;
    memset(&a, 0xab, sizeof(a));
    sl_addr_from_sockaddr(&a, (struct sockaddr *)&sun, sizeof(sun));
    assert_int_equal(a.family, 0);
    sl_addr_from_sockaddr(&a, NULL, 0);
    assert_int_equal(a.family, 0);
    struct sockaddr_in sin = { .sin_family = AF_INET };
    sl_addr_from_sockaddr(&a, (struct sockaddr *)&sin, sizeof(sin) - 2); /* short */
    assert_int_equal(a.family, 0);
    struct sockaddr_storage ss;
    socklen_t len = 99;
    sl_addr_to_sockaddr(&a, &ss, &len);
    assert_int_equal(len, 0);
}

/* ---- names ---- */

static void test_tcp_state_names(void **state)
{
    (void)state;
    assert_string_equal(sl_tcp_state_name(TCP_ESTABLISHED), "ESTABLISHED");
    assert_string_equal(sl_tcp_state_name(TCP_SYN_SENT), "SYN_SENT");
    assert_string_equal(sl_tcp_state_name(TCP_TIME_WAIT), "TIME_WAIT");
    assert_string_equal(sl_tcp_state_name(TCP_CLOSE_WAIT), "CLOSE_WAIT");
    assert_string_equal(sl_tcp_state_name(TCP_LAST_ACK), "LAST_ACK");
    assert_string_equal(sl_tcp_state_name(TCP_LISTEN), "LISTEN");
    assert_string_equal(sl_tcp_state_name(TCP_CLOSING), "CLOSING");
    assert_string_equal(sl_tcp_state_name(12), "NEW_SYN_RECV");
    assert_null(sl_tcp_state_name(0));
    assert_null(sl_tcp_state_name(13));
    assert_null(sl_tcp_state_name(-1));
}

static void test_family_names(void **state)
{
    (void)state;
    assert_string_equal(sl_family_name(AF_INET), "inet");
    assert_string_equal(sl_family_name(AF_INET6), "inet6");
    assert_string_equal(sl_family_name(AF_UNIX), "unix");
    assert_string_equal(sl_family_name(AF_NETLINK), "netlink");
    assert_string_equal(sl_family_name(AF_PACKET), "other");
    assert_string_equal(sl_family_name(0), "other");
}

static void test_type_names(void **state)
{
    (void)state;
    assert_string_equal(sl_type_name(SOCK_STREAM), "stream");
    assert_string_equal(sl_type_name(SOCK_DGRAM), "dgram");
    assert_string_equal(sl_type_name(SOCK_SEQPACKET), "seqpacket");
    assert_string_equal(sl_type_name(SOCK_RAW), "raw");
    assert_string_equal(sl_type_name(0), "other");
    assert_string_equal(sl_type_name(SOCK_RDM), "other");
}

static void test_proto_names(void **state)
{
    (void)state;
    assert_string_equal(sl_proto_name(AF_INET, SOCK_STREAM, 0), "tcp");
    assert_string_equal(sl_proto_name(AF_INET6, SOCK_STREAM, IPPROTO_TCP), "tcp");
    assert_string_equal(sl_proto_name(AF_INET, SOCK_DGRAM, 0), "udp");
    assert_string_equal(sl_proto_name(AF_INET6, SOCK_DGRAM, IPPROTO_UDP), "udp");
    assert_string_equal(sl_proto_name(AF_INET, SOCK_DGRAM, IPPROTO_ICMP), "icmp");
    assert_string_equal(sl_proto_name(AF_INET6, SOCK_DGRAM, IPPROTO_ICMPV6), "icmp6");
    assert_string_equal(sl_proto_name(AF_INET, SOCK_STREAM, IPPROTO_SCTP), "sctp");
    assert_string_equal(sl_proto_name(AF_INET, SOCK_DGRAM, IPPROTO_UDPLITE), "udplite");
    assert_string_equal(sl_proto_name(AF_INET, SOCK_STREAM, 262), "mptcp");
    assert_null(sl_proto_name(AF_INET, SOCK_RAW, 0));
    assert_null(sl_proto_name(AF_UNIX, SOCK_STREAM, 0));
    assert_null(sl_proto_name(AF_INET, SOCK_STREAM, 200));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, NULL, teardown)
    const struct CMUnitTest tests[] = {
        T(test_inode_of_a_socket),
        T(test_inode_of_a_regular_file_is_enotsock),
        T(test_inode_of_a_closed_fd_is_ebadf),
        T(test_inodes_differ_between_sockets),
        T(test_meta_of_tcp_socket),
        T(test_meta_of_udp_and_unix_sockets),
        T(test_meta_errors_preserve_errno),
        T(test_tcp_state_listen),
        T(test_tcp_state_fresh_socket_is_close),
        T(test_tcp_state_established_pair),
        T(test_tcp_state_close_wait_after_peer_closes),
        T(test_tcp_state_errors),
        T(test_addr_local_and_peer),
        T(test_addr_peer_of_unconnected_is_enotconn),
        T(test_addr_of_abstract_unix_socket),
        T(test_each_fd_sees_an_fd_you_opened),
        T(test_each_fd_matches_the_fd_table),
        T(test_each_fd_stops_when_asked),
        T(test_count_fds_agrees_with_a_walk),
        T(test_format_inet),
        T(test_format_inet6),
        T(test_format_unix_path),
        T(test_format_unix_abstract),
        T(test_format_unix_unnamed_is_empty),
        T(test_format_nothing_or_unknown_is_empty),
        T(test_format_truncates_to_outlen),
        T(test_addr_round_trip_inet),
        T(test_addr_round_trip_inet6),
        T(test_addr_from_other_families_is_none),
        T(test_tcp_state_names),
        T(test_family_names),
        T(test_type_names),
        T(test_proto_names),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
