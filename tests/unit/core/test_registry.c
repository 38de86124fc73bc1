/*
 * test_registry.c - unit tests for core/registry.c and core/verbs.c: the registry of live socket fds.
 *
 * The verbs are called directly, as the wrappers would after the real call; where a
 * test needs a socket it makes a real one (this binary is not preloaded, so socket()
 * and dup() are plain libc calls), elsewhere it uses fd numbers far above anything
 * open, which the registry treats alike. Covers creation and its snapshot fields, the
 * watch bitmap, replacement of stale records, dup, accept and connect, the close
 * protocol (detach then release or reattach, also over ranges), the write-backs
 * matched by generation (CLOSE_WAIT clock, inode, meta, stale drops), end-of-file
 * (the EOF state bit and its record), checkpoints, max_tracked, and concurrent use from
 * four threads.
 *
 * The scanner thread that the first insert starts is kept idle (scan_interval=0) so it
 * cannot drop the made-up fd numbers behind the tests' backs. Every test starts from an
 * empty registry: teardown detaches and releases everything and closes real fds.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/core.h"

#define FAKE 5000 /* made-up fd numbers start here: never open in this process */

static int real_fds[16];
static int nreal;

/* A real socket, closed by teardown. */
static int open_socket(int family, int type, int proto)
{
    int fd = socket(family, type, proto);
    assert_true(fd >= 0);
    assert_true(nreal < (int)SL_ARRAY_LEN(real_fds));
    real_fds[nreal++] = fd;
    return fd;
}

static int dup_socket(int fd)
{
    int d = dup(fd);
    assert_true(d >= 0);
    real_fds[nreal++] = d;
    return d;
}

/* Copy of fd's record from a snapshot; false if fd is not in it. Fails on duplicates. */
static bool find_rec(int fd, struct sl_rec_info *out)
{
    struct sl_rec_info *v = NULL;
    long n = sl_fd_snapshot(&v);
    assert_true(n >= 0);
    int found = 0;
    for (long i = 0; i < n; i++)
        if (v[i].fd == fd) {
            *out = v[i];
            found++;
        }
    sl_big_free(v);
    assert_true(found <= 1);
    return found == 1;
}

static struct sl_rec_info must_find(int fd)
{
    struct sl_rec_info i;
    if (!find_rec(fd, &i))
        fail_msg("fd %d is not in the snapshot", fd);
    return i;
}

static struct sl_fd_stats stats(void)
{
    struct sl_fd_stats st;
    sl_fd_stats(&st);
    return st;
}

static void create_fake(int fd, int family, int type, int proto)
{
    sl_fd_created(fd, SL_ORIGIN_SOCKET, family, type, proto, NULL, 0);
}

static pid_t gettid_raw(void)
{
    return (pid_t)syscall(SYS_gettid);
}

/* ---- fixtures ---- */

static int group_setup(void **state)
{
    (void)state;
    sl_options_defaults(&sl_opt);
    sl_opt.scan_interval = 0; /* the scanner thread must never drop our made-up fds */
    if (sl_fdstate_init() != 0 || sl_stacks_init() != 0)
        return -1;
    return 0;
}

static int setup(void **state)
{
    (void)state;
    sl_opt.max_tracked = 0;
    sl_opt.stack_depth = 16;
    nreal = 0;
    return stats().live == 0 ? 0 : -1; /* the previous test cleaned up */
}

/* Detach and release every record, one fd at a time (not through detach_range, so a
 * bug there cannot leak records into the next test). */
static void release_all(void)
{
    struct sl_rec_info *v = NULL;
    long n = sl_fd_snapshot(&v);
    for (long i = 0; i < n; i++)
        sl_fd_release(sl_fd_detach(v[i].fd));
    if (n >= 0)
        sl_big_free(v);
}

static int teardown(void **state)
{
    (void)state;
    release_all();
    for (int i = 0; i < nreal; i++)
        close(real_fds[i]);
    nreal = 0;
    sl_opt.max_tracked = 0;
    sl_opt.stack_depth = 16;
    return 0;
}

/* ---- creation ---- */

static void test_created_socket_appears_in_snapshot(void **state)
{
    (void)state;
    int fd = open_socket(AF_INET, SOCK_STREAM, 0);
    int64_t before = sl_now_coarse_ns(); /* creation times come from the coarse clock */
    sl_fd_created(fd, SL_ORIGIN_SOCKET, AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_TCP, NULL, 0);
    int64_t after = sl_now_ns();
    struct sl_rec_info i = must_find(fd);
    assert_int_equal(i.fd, fd);
    assert_int_equal(i.family, AF_INET);
    assert_int_equal(i.type, SOCK_STREAM); /* flags masked */
    assert_int_equal(i.proto, IPPROTO_TCP);
    assert_int_equal(i.origin, SL_ORIGIN_SOCKET);
    assert_int_not_equal(i.stack, 0);
    assert_non_null(sl_stack_get(i.stack));
    assert_in_range(sl_stack_get(i.stack)->depth, 1, 16);
    assert_int_equal(i.orig_stack, 0);
    assert_int_equal(i.tid, gettid_raw());
    assert_in_range(i.created_ns, before, after);
    assert_int_not_equal(i.gen, 0);
    assert_int_equal(i.ino, 0);
    assert_int_equal(i.tcp_state, 0);
    assert_int_equal(i.close_wait_ns, 0);
    assert_int_equal(i.peer.family, 0);
    assert_true(sl_fd_tracked(fd));
    struct sl_fd_stats st = stats();
    assert_int_equal(st.live, 1);
}

static void test_created_counts_opened(void **state)
{
    (void)state;
    struct sl_fd_stats a = stats();
    create_fake(FAKE, AF_INET, SOCK_DGRAM, 0);
    create_fake(FAKE + 1, AF_UNIX, SOCK_STREAM, 0);
    struct sl_fd_stats b = stats();
    assert_int_equal(b.opened - a.opened, 2);
    assert_int_equal(b.live, 2);
    assert_int_equal(b.stale - a.stale, 0);
}

static void test_created_with_peer_records_it(void **state)
{
    (void)state;
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(8080) };
    inet_pton(AF_INET, "192.0.2.7", &sin.sin_addr);
    sl_fd_created(FAKE, SL_ORIGIN_ACCEPT, AF_INET, SOCK_STREAM, 0, (struct sockaddr *)&sin, sizeof(sin));
    struct sl_rec_info i = must_find(FAKE);
    assert_int_equal(i.peer.family, AF_INET);
    assert_int_equal(i.peer.port, htons(8080));
    assert_memory_equal(i.peer.addr, &sin.sin_addr, 4);
}

static void test_stack_depth_zero_records_no_stack(void **state)
{
    (void)state;
    sl_opt.stack_depth = 0;
    create_fake(FAKE, AF_INET, SOCK_STREAM, 0);
    assert_int_equal(must_find(FAKE).stack, 0);
}

static void test_same_call_site_same_stack(void **state)
{
    (void)state;
    volatile int n = 2; /* a real loop: unrolled, it would be two call sites */
    for (int k = 0; k < n; k++)
        create_fake(FAKE + k, AF_INET, SOCK_STREAM, 0);
    uint32_t s0 = must_find(FAKE).stack, s1 = must_find(FAKE + 1).stack;
    assert_int_not_equal(s0, 0);
    assert_int_equal(s0, s1);
}

static void test_created_ignores_negative_fd(void **state)
{
    (void)state;
    struct sl_fd_stats a = stats();
    sl_fd_created(-1, SL_ORIGIN_SOCKET, AF_INET, SOCK_STREAM, 0, NULL, 0);
    struct sl_fd_stats b = stats();
    assert_int_equal(b.opened, a.opened);
    assert_int_equal(b.live, 0);
}

static void test_inherited_has_no_stack(void **state)
{
    (void)state;
    sl_fd_inherited(FAKE, AF_INET6, SOCK_STREAM, 0);
    struct sl_rec_info i = must_find(FAKE);
    assert_int_equal(i.origin, SL_ORIGIN_INHERITED);
    assert_int_equal(i.family, AF_INET6);
    assert_int_equal(i.stack, 0);
}

/* ---- the watch bitmap ---- */

static void test_watched_true_for_tracked(void **state)
{
    (void)state;
    int fd = open_socket(AF_UNIX, SOCK_STREAM, 0);
    assert_false(sl_fd_watched(fd));
    sl_fd_created(fd, SL_ORIGIN_SOCKET, AF_UNIX, SOCK_STREAM, 0, NULL, 0);
    assert_true(sl_fd_watched(fd));
    create_fake(FAKE + 63, AF_INET, SOCK_STREAM, 0);
    assert_true(sl_fd_watched(FAKE + 63));
}

static void test_watched_false_for_untracked_numbers(void **state)
{
    (void)state;
    create_fake(FAKE + 1, AF_INET, SOCK_STREAM, 0);
    assert_false(sl_fd_watched(FAKE));     /* neighbours in the same bitmap word */
    assert_false(sl_fd_watched(FAKE + 2));
    assert_false(sl_fd_watched(7777));
    assert_false(sl_fd_watched(-1));
    assert_false(sl_fd_tracked(FAKE));
    assert_false(sl_fd_tracked(-1));
}

/* ---- stale replacement ---- */

static void test_create_on_tracked_number_replaces_old_record(void **state)
{
    (void)state;
    int fd = open_socket(AF_INET, SOCK_STREAM, 0);
    sl_fd_created(fd, SL_ORIGIN_SOCKET, AF_INET, SOCK_STREAM, 0, NULL, 0);
    struct sl_rec_info old = must_find(fd);
    struct sl_fd_stats a = stats();
    /* the shim missed a close: the same number comes back as another socket */
    sl_fd_created(fd, SL_ORIGIN_SOCKETPAIR, AF_UNIX, SOCK_DGRAM, 0, NULL, 0);
    struct sl_fd_stats b = stats();
    struct sl_rec_info cur = must_find(fd); /* fails if both records are listed */
    assert_int_equal(cur.origin, SL_ORIGIN_SOCKETPAIR);
    assert_int_equal(cur.family, AF_UNIX);
    assert_int_equal(cur.type, SOCK_DGRAM);
    assert_int_not_equal(cur.gen, old.gen);
    assert_int_equal(b.stale - a.stale, 1);
    assert_int_equal(b.opened - a.opened, 1);
    assert_int_equal(b.live, a.live);
    assert_true(sl_fd_watched(fd));
}

/* ---- dup, accept, connect ---- */

static void test_dup_copies_family_and_sets_origin_dup(void **state)
{
    (void)state;
    int a = open_socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
    sl_fd_created(a, SL_ORIGIN_SOCKET, AF_INET, SOCK_DGRAM, IPPROTO_UDP, NULL, 0);
    struct sl_rec_info ai = must_find(a);
    int b = dup_socket(a);
    sl_fd_dup(a, b);
    struct sl_rec_info bi = must_find(b);
    assert_int_equal(bi.fd, b);
    assert_int_equal(bi.family, AF_INET);
    assert_int_equal(bi.type, SOCK_DGRAM);
    assert_int_equal(bi.proto, IPPROTO_UDP);
    assert_int_equal(bi.origin, SL_ORIGIN_DUP);
    assert_int_not_equal(ai.stack, 0);
    assert_int_equal(bi.orig_stack, ai.stack);
    assert_int_not_equal(bi.stack, 0);
    assert_int_not_equal(bi.gen, ai.gen);
    assert_true(sl_fd_watched(b));
    struct sl_rec_info again = must_find(a); /* the original is untouched */
    assert_int_equal(again.origin, SL_ORIGIN_SOCKET);
    assert_int_equal(again.gen, ai.gen);
    assert_int_equal(stats().live, 2);
}

/* oldfd not recorded (another thread closed it after the copy was made, or has not
 * recorded it yet): the copy is still recorded if it is a socket */
static void test_dup_of_untracked_socket_records_the_copy(void **state)
{
    (void)state;
    int a = open_socket(AF_INET, SOCK_STREAM, 0);
    int b = dup_socket(a);
    struct sl_fd_stats s0 = stats();
    sl_fd_dup(a, b);
    assert_true(sl_fd_tracked(b));
    assert_true(sl_fd_watched(b));
    assert_false(sl_fd_tracked(a));
    struct sl_rec_info i = must_find(b);
    assert_int_equal(i.origin, SL_ORIGIN_DUP);
    assert_int_equal(i.orig_stack, 0);
    assert_int_equal(i.ino, 0); /* read from the fd when probed */
    assert_int_equal(stats().opened, s0.opened + 1);
}

static void test_dup_of_untracked_non_socket_records_nothing(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    int d = dup(p[0]);
    assert_true(d >= 0);
    struct sl_fd_stats s0 = stats();
    sl_fd_dup(p[0], d);
    struct sl_fd_stats s1 = stats();
    assert_false(sl_fd_tracked(d));
    assert_false(sl_fd_watched(d));
    assert_int_equal(s1.live, 0);
    assert_int_equal(s1.opened, s0.opened);
    close(d);
    close(p[0]);
    close(p[1]);
}

static void test_dup_onto_itself_changes_nothing(void **state)
{
    (void)state;
    create_fake(FAKE, AF_INET, SOCK_STREAM, 0);
    struct sl_rec_info before = must_find(FAKE);
    sl_fd_dup(FAKE, FAKE);
    struct sl_rec_info after = must_find(FAKE);
    assert_int_equal(after.gen, before.gen);
    assert_int_equal(after.origin, SL_ORIGIN_SOCKET);
}

static void test_accepted_inherits_listener_meta_and_peer(void **state)
{
    (void)state;
    create_fake(FAKE, AF_INET6, SOCK_STREAM, IPPROTO_TCP);
    struct sockaddr_in6 peer = { .sin6_family = AF_INET6, .sin6_port = htons(4242), .sin6_scope_id = 3 };
    inet_pton(AF_INET6, "2001:db8::5", &peer.sin6_addr);
    sl_fd_accepted(FAKE, FAKE + 1, (struct sockaddr *)&peer, sizeof(peer));
    struct sl_rec_info i = must_find(FAKE + 1);
    assert_int_equal(i.origin, SL_ORIGIN_ACCEPT);
    assert_int_equal(i.family, AF_INET6);
    assert_int_equal(i.type, SOCK_STREAM);
    assert_int_equal(i.proto, IPPROTO_TCP);
    assert_int_equal(i.peer.family, AF_INET6);
    assert_int_equal(i.peer.port, htons(4242));
    assert_int_equal(i.peer.scope, 3);
    assert_memory_equal(i.peer.addr, &peer.sin6_addr, 16);
}

static void test_accepted_from_untracked_listener_takes_peer_family(void **state)
{
    (void)state;
    struct sockaddr_un peer = { .sun_family = AF_UNIX };
    sl_fd_accepted(FAKE, FAKE + 1, (struct sockaddr *)&peer, sizeof(sa_family_t));
    struct sl_rec_info i = must_find(FAKE + 1);
    assert_int_equal(i.origin, SL_ORIGIN_ACCEPT);
    assert_int_equal(i.family, AF_UNIX);
    assert_int_equal(i.type, 0); /* unknown until a probe fills it in */
    assert_int_equal(i.peer.family, 0);
}

static void test_connect_records_inet_peer(void **state)
{
    (void)state;
    create_fake(FAKE, AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(443) };
    inet_pton(AF_INET, "10.1.2.3", &sin.sin_addr);
    sl_fd_connect(FAKE, (struct sockaddr *)&sin, sizeof(sin));
    struct sl_rec_info i = must_find(FAKE);
    assert_int_equal(i.peer.family, AF_INET);
    assert_int_equal(i.peer.port, htons(443));
    assert_memory_equal(i.peer.addr, "\x0a\x01\x02\x03", 4);
}

static void test_connect_ignores_non_inet_and_untracked(void **state)
{
    (void)state;
    create_fake(FAKE, AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sun = { .sun_family = AF_UNIX, .sun_path = "/tmp/x.sock" };
    sl_fd_connect(FAKE, (struct sockaddr *)&sun, sizeof(sun));
    assert_int_equal(must_find(FAKE).peer.family, 0);
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(1) };
    sl_fd_connect(FAKE + 1, (struct sockaddr *)&sin, sizeof(sin)); /* untracked: no record made */
    assert_false(sl_fd_tracked(FAKE + 1));
    assert_int_equal(stats().live, 1);
}

/* ---- the close protocol ---- */

static void test_detach_release_removes_and_counts_closed(void **state)
{
    (void)state;
    int fd = open_socket(AF_INET, SOCK_STREAM, 0);
    sl_fd_created(fd, SL_ORIGIN_SOCKET, AF_INET, SOCK_STREAM, 0, NULL, 0);
    struct sl_fd_stats a = stats();
    struct sl_rec *r = sl_fd_detach(fd);
    assert_non_null(r);
    assert_false(sl_fd_tracked(fd));
    /* busy until release: a scan between detach and the real close must not take the
     * still-open socket for one nobody tracks; a close of it meanwhile costs nothing */
    assert_false(sl_fd_watched(fd));
    assert_true(sl_fd_busy(fd));
    assert_false(find_rec(fd, &(struct sl_rec_info){ 0 }));
    assert_int_equal(stats().live, a.live - 1);
    assert_int_equal(stats().closed - a.closed, 1); /* counted at detach */
    sl_fd_release(r);
    assert_false(sl_fd_watched(fd));
    assert_false(sl_fd_busy(fd));
    struct sl_fd_stats b = stats();
    assert_int_equal(b.closed - a.closed, 1);
    assert_int_equal(b.live, a.live - 1);
    assert_int_equal(b.stale, a.stale);
}

/* Every stripe's table empties and fills again; its sentinel never shows. */
static void test_tables_empty_and_refill(void **state)
{
    (void)state;
    for (int round = 0; round < 3; round++) {
        for (int k = 0; k < 64; k++) /* two fds on each of the 32 stripes */
            create_fake(FAKE + k, AF_INET, SOCK_STREAM, 0);
        assert_int_equal(stats().live, 64);
        struct sl_rec_info *v = NULL;
        assert_int_equal(sl_fd_snapshot(&v), 64);
        for (int k = 0; k < 64; k++)
            assert_true(v[k].fd >= FAKE && v[k].fd < FAKE + 64);
        sl_big_free(v);
        /* the widest range there is, as closefrom(0) would ask */
        struct sl_fd_stats a = stats();
        struct sl_rec *list = sl_fd_detach_range(0, ~0U);
        assert_non_null(list);
        assert_int_equal(stats().closed - a.closed, 64);
        sl_fd_release(list);
        assert_int_equal(stats().live, 0);
        assert_int_equal(sl_fd_snapshot(&v), 0);
        sl_big_free(v);
    }
}

/* Sixteen fd numbers share a word of the state map: a change to one leaves its
 * neighbours alone. */
static void test_state_of_neighbours_is_their_own(void **state)
{
    (void)state;
    const int base = FAKE + 16 * 3; /* the first number of a word */
    for (int k = -1; k <= 16; k++)
        create_fake(base + k, AF_INET, SOCK_STREAM, 0);
    struct sl_rec *a = sl_fd_detach(base);
    struct sl_rec *b = sl_fd_detach(base + 15);
    for (int k = -1; k <= 16; k++) {
        bool gone = k == 0 || k == 15;
        assert_int_equal(sl_fd_watched(base + k), !gone);
        assert_true(sl_fd_busy(base + k));
    }
    sl_fd_release(a);
    sl_fd_reattach(b);
    for (int k = -1; k <= 16; k++) {
        assert_int_equal(sl_fd_watched(base + k), k != 0);
        assert_int_equal(sl_fd_busy(base + k), k != 0);
    }
}

/* A close that fails with EBADF on a number whose socket we saw closed is a double
 * close; once a new socket takes the number, it is not. */
static void test_bad_close_after_release_is_a_double_close(void **state)
{
    (void)state;
    long before = atomic_load(&sl_count.double_closes);
    sl_fd_bad_close(FAKE + 1007); /* never tracked: a plain EBADF */
    assert_int_equal(atomic_load(&sl_count.double_closes), before);
    create_fake(FAKE + 1007, AF_INET, SOCK_STREAM, 0);
    sl_fd_bad_close(FAKE + 1007); /* tracked: not closed yet */
    assert_int_equal(atomic_load(&sl_count.double_closes), before);
    sl_fd_release(sl_fd_detach(FAKE + 1007));
    sl_fd_bad_close(FAKE + 1007);
    assert_int_equal(atomic_load(&sl_count.double_closes), before + 1);
    create_fake(FAKE + 1007, AF_INET, SOCK_STREAM, 0);
    sl_fd_bad_close(FAKE + 1007);
    assert_int_equal(atomic_load(&sl_count.double_closes), before + 1);
    struct sl_dclose ev[4];
    long lost = 0;
    size_t n = sl_ring_take(&sl_dclose_ring, ev, sizeof(ev[0]), 4, &lost);
    assert_int_equal(n, 1);
    assert_int_equal(ev[0].fd, FAKE + 1007);
}

/* The one-fd protocol of close() and dup2(). */
static void test_detach_one_release_one(void **state)
{
    (void)state;
    int fd = open_socket(AF_INET, SOCK_STREAM, 0);
    sl_fd_created(fd, SL_ORIGIN_SOCKET, AF_INET, SOCK_STREAM, 0, NULL, 0);
    struct sl_rec_info before = must_find(fd);
    struct sl_fd_stats a = stats();
    struct sl_rec_info copy;
    assert_true(sl_fd_detach_one(fd, &copy));
    assert_int_equal(copy.gen, before.gen);
    assert_int_equal(copy.stack, before.stack);
    assert_false(sl_fd_tracked(fd));
    assert_false(sl_fd_watched(fd));
    assert_true(sl_fd_busy(fd)); /* open until the real close: no scan adopts it */
    assert_int_equal(stats().closed - a.closed, 1);
    assert_int_equal(stats().live, a.live - 1);
    sl_fd_release_one(fd);
    assert_false(sl_fd_busy(fd));
    assert_false(sl_fd_detach_one(fd, NULL)); /* not tracked any more */
    assert_false(sl_fd_detach_one(-1, NULL));
}

/* A scan that found a number open and untracked adopts it as unseen, unless a wrapper
 * has recorded the number (or started closing it) since: the scan's inode may be of a
 * socket closed meanwhile, and replacing a live record with it would lose that socket. */
static void test_unseen_never_replaces_a_record_or_a_closing_number(void **state)
{
    (void)state;
    int fd = open_socket(AF_INET, SOCK_STREAM, 0);
    sl_fd_created(fd, SL_ORIGIN_SOCKET, AF_INET, SOCK_STREAM, 0, NULL, 0);
    struct sl_rec_info before = must_find(fd);
    sl_fd_unseen(fd, AF_INET, SOCK_STREAM, 0, 1, 999999999); /* a stale inode */
    struct sl_rec_info after = must_find(fd);
    assert_int_equal(after.gen, before.gen);
    assert_int_equal(after.origin, SL_ORIGIN_SOCKET);
    assert_true(after.ino != 999999999);
    sl_opt.max_tracked = 1; /* at the limit, too: the record stays (teardown resets it) */
    sl_fd_unseen(fd, AF_INET, SOCK_STREAM, 0, 1, 999999999);
    assert_int_equal(must_find(fd).gen, before.gen);
    sl_opt.max_tracked = 0;
    assert_true(sl_fd_detach_one(fd, NULL)); /* closing: no adoption until the close ends */
    sl_fd_unseen(fd, AF_INET, SOCK_STREAM, 0, 1, 999999999);
    assert_false(sl_fd_tracked(fd));
    sl_fd_release_one(fd);
    sl_fd_unseen(fd, AF_INET, SOCK_STREAM, 0, 1, 999999999); /* now an untracked number */
    struct sl_rec_info adopted = must_find(fd);
    assert_int_equal(adopted.origin, SL_ORIGIN_UNSEEN);
    assert_true(sl_fd_detach_one(fd, NULL));
    sl_fd_release_one(fd);
}

static void test_detach_one_reattach_one(void **state)
{
    (void)state;
    create_fake(FAKE + 20, AF_INET, SOCK_STREAM, 0);
    struct sl_rec_info before = must_find(FAKE + 20);
    struct sl_fd_stats a = stats();
    struct sl_rec_info copy;
    assert_true(sl_fd_detach_one(FAKE + 20, &copy));
    sl_fd_reattach_one(&copy); /* the real call failed */
    struct sl_rec_info after = must_find(FAKE + 20);
    assert_int_equal(after.gen, before.gen);
    assert_true(sl_fd_watched(FAKE + 20));
    struct sl_fd_stats b = stats();
    assert_int_equal(b.closed, a.closed);
    assert_int_equal(b.live, a.live);
    /* and when a new socket took the number meanwhile, the new record stays */
    assert_true(sl_fd_detach_one(FAKE + 20, &copy));
    create_fake(FAKE + 20, AF_UNIX, SOCK_DGRAM, 0);
    uint64_t newer = must_find(FAKE + 20).gen;
    sl_fd_reattach_one(&copy);
    assert_int_equal(must_find(FAKE + 20).gen, newer);
    assert_int_equal(stats().live, 1);
    assert_true(sl_fd_watched(FAKE + 20));
}

/* The double-close ring keeps the last 512 events; older ones are counted lost. */
static void test_double_close_ring_laps(void **state)
{
    (void)state;
    struct sl_dclose ev[1024];
    long lost = 0;
    sl_ring_take(&sl_dclose_ring, ev, sizeof(ev[0]), 1024, &lost); /* what earlier tests left */
    create_fake(FAKE + 1100, AF_INET, SOCK_STREAM, 0);
    sl_fd_release(sl_fd_detach(FAKE + 1100));
    for (int i = 0; i < 600; i++)
        sl_fd_bad_close(FAKE + 1100);
    lost = 0;
    size_t n = sl_ring_take(&sl_dclose_ring, ev, sizeof(ev[0]), 1024, &lost);
    assert_int_equal(n, 512);
    assert_int_equal(lost, 88);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(ev[i].fd, FAKE + 1100);
    /* and a reader with less room counts the rest lost */
    for (int i = 0; i < 10; i++)
        sl_fd_bad_close(FAKE + 1100);
    lost = 0;
    assert_int_equal(sl_ring_take(&sl_dclose_ring, ev, sizeof(ev[0]), 4, &lost), 4);
    assert_int_equal(lost, 6);
}

static void test_detach_untracked_returns_null(void **state)
{
    (void)state;
    assert_null(sl_fd_detach(FAKE));
    assert_null(sl_fd_detach(-1));
}

static void test_detach_reattach_puts_it_back(void **state)
{
    (void)state;
    create_fake(FAKE, AF_INET, SOCK_STREAM, 0);
    struct sl_rec_info before = must_find(FAKE);
    struct sl_fd_stats a = stats();
    struct sl_rec *r = sl_fd_detach(FAKE);
    assert_non_null(r);
    assert_false(sl_fd_tracked(FAKE));
    sl_fd_reattach(r); /* the real close failed */
    struct sl_rec_info after = must_find(FAKE);
    assert_int_equal(after.gen, before.gen);
    assert_int_equal(after.stack, before.stack);
    assert_true(sl_fd_tracked(FAKE));
    assert_true(sl_fd_watched(FAKE));
    struct sl_fd_stats b = stats();
    assert_int_equal(b.live, a.live);
    assert_int_equal(b.closed, a.closed);
}

static void test_reattach_loses_to_a_newer_record(void **state)
{
    (void)state;
    create_fake(FAKE, AF_INET, SOCK_STREAM, 0);
    struct sl_rec *r = sl_fd_detach(FAKE);
    assert_non_null(r);
    create_fake(FAKE, AF_UNIX, SOCK_DGRAM, 0); /* the number was reused meanwhile */
    uint64_t newer = must_find(FAKE).gen;
    sl_fd_reattach(r);
    struct sl_rec_info i = must_find(FAKE);
    assert_int_equal(i.gen, newer);
    assert_int_equal(i.family, AF_UNIX);
    assert_int_equal(stats().live, 1);
}

static void test_detach_range_detaches_exactly_the_tracked_fds_inside(void **state)
{
    (void)state;
    /* around the range's ends and across 64-bit bitmap words */
    static const int inside[] = { FAKE + 10, FAKE + 63, FAKE + 64, FAKE + 127, FAKE + 200 };
    static const int outside[] = { FAKE + 9, FAKE + 201, FAKE + 400 };
    for (size_t k = 0; k < SL_ARRAY_LEN(inside); k++)
        create_fake(inside[k], AF_INET, SOCK_STREAM, 0);
    for (size_t k = 0; k < SL_ARRAY_LEN(outside); k++)
        create_fake(outside[k], AF_INET, SOCK_STREAM, 0);
    struct sl_fd_stats a = stats();
    struct sl_rec *list = sl_fd_detach_range(FAKE + 10, FAKE + 200);
    assert_non_null(list);
    for (size_t k = 0; k < SL_ARRAY_LEN(inside); k++)
        assert_false(sl_fd_tracked(inside[k]));
    for (size_t k = 0; k < SL_ARRAY_LEN(outside); k++) {
        assert_true(sl_fd_tracked(outside[k]));
        assert_true(sl_fd_watched(outside[k]));
    }
    assert_int_equal(stats().live, (long)SL_ARRAY_LEN(outside));
    sl_fd_release(list);
    for (size_t k = 0; k < SL_ARRAY_LEN(inside); k++)
        assert_false(sl_fd_watched(inside[k]));
    struct sl_fd_stats b = stats();
    assert_int_equal(b.closed - a.closed, (long)SL_ARRAY_LEN(inside)); /* the list held exactly those */
}

/* A number reused by a new socket between detach and release keeps its watch bit. */
static void test_release_keeps_watch_bit_of_a_new_socket_on_the_number(void **state)
{
    (void)state;
    create_fake(FAKE, AF_INET, SOCK_STREAM, 0);
    struct sl_rec *r = sl_fd_detach(FAKE);
    assert_non_null(r);
    create_fake(FAKE, AF_INET, SOCK_DGRAM, 0); /* another thread got the number */
    sl_fd_release(r);
    assert_true(sl_fd_watched(FAKE));
    assert_true(sl_fd_tracked(FAKE));
    assert_int_equal(must_find(FAKE).type, SOCK_DGRAM);
}

static void test_detach_range_to_the_top_like_closefrom(void **state)
{
    (void)state;
    create_fake(FAKE, AF_INET, SOCK_STREAM, 0);
    create_fake(FAKE + 5, AF_INET, SOCK_STREAM, 0);
    create_fake(FAKE + 1000, AF_INET, SOCK_STREAM, 0);
    struct sl_fd_stats a = stats();
    sl_fd_release(sl_fd_detach_range(FAKE + 1, UINT_MAX));
    struct sl_fd_stats b = stats();
    assert_int_equal(b.closed - a.closed, 2);
    assert_int_equal(b.live, 1);
    assert_true(sl_fd_tracked(FAKE));
    assert_false(sl_fd_tracked(FAKE + 5));
    assert_false(sl_fd_tracked(FAKE + 1000));
}

static void test_detach_range_reattach_restores_all(void **state)
{
    (void)state;
    for (int k = 0; k < 5; k++)
        create_fake(FAKE + 3 * k, AF_INET, SOCK_STREAM, 0);
    struct sl_rec *list = sl_fd_detach_range(FAKE, FAKE + 12);
    assert_int_equal(stats().live, 0);
    sl_fd_reattach(list);
    assert_int_equal(stats().live, 5);
    for (int k = 0; k < 5; k++)
        assert_true(sl_fd_watched(FAKE + 3 * k));
}

static void test_detach_range_without_tracked_fds_is_null(void **state)
{
    (void)state;
    create_fake(FAKE, AF_INET, SOCK_STREAM, 0);
    create_fake(FAKE + 100, AF_INET, SOCK_STREAM, 0);
    assert_null(sl_fd_detach_range(FAKE + 1, FAKE + 99));
    assert_int_equal(stats().live, 2);
}

/* ---- write-backs matched by generation ---- */

static void test_set_state_starts_close_wait_clock_once(void **state)
{
    (void)state;
    create_fake(FAKE, AF_INET, SOCK_STREAM, 0);
    uint64_t gen = must_find(FAKE).gen;
    int64_t cw = -1;
    assert_true(sl_fd_set_state(FAKE, gen, TCP_CLOSE_WAIT, 1000, &cw));
    assert_int_equal(TCP_CLOSE_WAIT, 8);
    assert_int_equal(cw, 1000);
    cw = -1;
    assert_true(sl_fd_set_state(FAKE, gen, TCP_CLOSE_WAIT, 5000, &cw));
    assert_int_equal(cw, 1000); /* the clock keeps its start */
    struct sl_rec_info i = must_find(FAKE);
    assert_int_equal(i.tcp_state, TCP_CLOSE_WAIT);
    assert_int_equal(i.close_wait_ns, 1000);
}

static void test_set_state_other_state_clears_clock(void **state)
{
    (void)state;
    create_fake(FAKE, AF_INET, SOCK_STREAM, 0);
    uint64_t gen = must_find(FAKE).gen;
    int64_t cw = -1;
    assert_true(sl_fd_set_state(FAKE, gen, TCP_CLOSE_WAIT, 1000, &cw));
    assert_true(sl_fd_set_state(FAKE, gen, TCP_LAST_ACK, 6000, &cw));
    assert_int_equal(cw, 0);
    struct sl_rec_info i = must_find(FAKE);
    assert_int_equal(i.tcp_state, TCP_LAST_ACK);
    assert_int_equal(i.close_wait_ns, 0);
    assert_true(sl_fd_set_state(FAKE, gen, TCP_CLOSE_WAIT, 9000, &cw)); /* a new stay starts anew */
    assert_int_equal(cw, 9000);
}

static void test_set_state_wrong_gen_is_false(void **state)
{
    (void)state;
    create_fake(FAKE, AF_INET, SOCK_STREAM, 0);
    uint64_t gen = must_find(FAKE).gen;
    int64_t cw = 77;
    assert_false(sl_fd_set_state(FAKE, gen + 1, TCP_CLOSE_WAIT, 1000, &cw));
    assert_int_equal(cw, 77);
    struct sl_rec_info i = must_find(FAKE);
    assert_int_equal(i.tcp_state, 0);
    assert_int_equal(i.close_wait_ns, 0);
    assert_false(sl_fd_set_state(FAKE + 1, gen, TCP_ESTABLISHED, 1000, NULL)); /* no record at all */
}

/* sl_fd_observe dates the CLOSE_WAIT clock from the hint (the peer's last ACK, which
 * carried the FIN), but never before the last probe that saw the socket open. */
static void test_observe_close_wait_uses_hint_not_before_last_open_probe(void **state)
{
    (void)state;
    create_fake(FAKE, AF_INET, SOCK_STREAM, 0);
    uint64_t gen = must_find(FAKE).gen;
    int64_t t0 = must_find(FAKE).created_ns, cw = -1;
    /* seen ESTABLISHED at t0+1s */
    assert_true(sl_fd_observe(FAKE, gen, TCP_ESTABLISHED, t0, t0 + 1000000000, &cw));
    assert_int_equal(cw, 0);
    /* at t0+3s in CLOSE_WAIT, last ACK 1.5s ago: entered at t0+1.5s */
    assert_true(sl_fd_observe(FAKE, gen, TCP_CLOSE_WAIT, t0 + 1500000000, t0 + 3000000000, &cw));
    assert_int_equal(cw, t0 + 1500000000);
    /* later probes keep the start, whatever their hint */
    assert_true(sl_fd_observe(FAKE, gen, TCP_CLOSE_WAIT, t0 + 2900000000, t0 + 4000000000, &cw));
    assert_int_equal(cw, t0 + 1500000000);
    /* leaves, and comes back with a hint older than the probe that saw it leave */
    assert_true(sl_fd_observe(FAKE, gen, TCP_LAST_ACK, t0, t0 + 5000000000, &cw));
    assert_true(sl_fd_observe(FAKE, gen, TCP_CLOSE_WAIT, t0 + 100, t0 + 6000000000, &cw));
    assert_int_equal(cw, t0 + 5000000000);
    /* a hint in the future is clamped to now */
    create_fake(FAKE + 1, AF_INET, SOCK_STREAM, 0);
    uint64_t g1 = must_find(FAKE + 1).gen;
    int64_t t1 = must_find(FAKE + 1).created_ns;
    assert_true(sl_fd_observe(FAKE + 1, g1, TCP_CLOSE_WAIT, t1 + 9000, t1 + 5000, &cw));
    assert_int_equal(cw, t1 + 5000);
}

/* A create writes the record's hot line alone: what the number's earlier record had in
 * its cold part (inode, CLOSE_WAIT clock, end-of-file) and its peer must not show
 * through in the new socket's record. */
static void test_reused_number_shows_nothing_of_the_earlier_record(void **state)
{
    (void)state;
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(8080) };
    inet_pton(AF_INET, "192.0.2.7", &sin.sin_addr);
    sl_fd_created(FAKE, SL_ORIGIN_ACCEPT, AF_INET, SOCK_STREAM, 0, (struct sockaddr *)&sin, sizeof(sin));
    uint64_t gen = must_find(FAKE).gen;
    assert_true(sl_fd_set_state(FAKE, gen, TCP_CLOSE_WAIT, 1000, NULL));
    assert_true(sl_fd_set_inode(FAKE, gen, 7, 123456));
    assert_true(sl_fd_set_eof(FAKE, gen, 0, 2000));
    assert_int_equal(must_find(FAKE).peer.family, AF_INET);
    sl_fd_release(sl_fd_detach(FAKE));

    create_fake(FAKE, AF_INET, SOCK_STREAM, 0);
    struct sl_rec_info i = must_find(FAKE);
    assert_int_not_equal(i.gen, gen);
    assert_int_equal(i.peer.family, 0);
    assert_int_equal(i.peer.port, 0);
    assert_int_equal(i.ino, 0);
    assert_int_equal(i.dev, 0);
    assert_int_equal(i.tcp_state, 0);
    assert_int_equal(i.close_wait_ns, 0);
    assert_int_equal(i.eof_ns, 0);
    assert_int_equal(i.reported_ns, 0);
    assert_int_equal(i.open_seen_ns, i.created_ns);
    int64_t cw = -1;
    assert_true(sl_fd_set_state(FAKE, i.gen, TCP_CLOSE_WAIT, 5000, &cw));
    assert_int_equal(cw, 5000); /* its own clock, not the earlier record's */
    i = must_find(FAKE);
    assert_int_equal(i.ino, 0);
    assert_int_equal(i.open_seen_ns, i.created_ns);
}

static void test_set_inode_and_meta_write_back(void **state)
{
    (void)state;
    sl_fd_accepted(FAKE + 50, FAKE, NULL, 0); /* family/type unknown */
    uint64_t gen = must_find(FAKE).gen;
    assert_true(sl_fd_set_inode(FAKE, gen, 7, 123456));
    assert_true(sl_fd_set_meta(FAKE, gen, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP));
    assert_false(sl_fd_set_inode(FAKE, gen + 1, 8, 1));
    assert_false(sl_fd_set_meta(FAKE, gen + 1, AF_UNIX, SOCK_DGRAM, 0));
    struct sl_rec_info i = must_find(FAKE);
    assert_int_equal(i.dev, 7);
    assert_int_equal(i.ino, 123456);
    assert_int_equal(i.family, AF_INET);
    assert_int_equal(i.type, SOCK_STREAM);
    assert_int_equal(i.proto, IPPROTO_TCP);
}

static void test_drop_stale_only_when_gen_matches(void **state)
{
    (void)state;
    create_fake(FAKE, AF_INET, SOCK_STREAM, 0);
    uint64_t gen = must_find(FAKE).gen;
    struct sl_fd_stats a = stats();
    sl_fd_drop_stale(FAKE, gen + 1);
    assert_true(sl_fd_tracked(FAKE));
    assert_int_equal(stats().stale, a.stale);
    sl_fd_drop_stale(FAKE, gen);
    assert_false(sl_fd_tracked(FAKE));
    assert_false(sl_fd_watched(FAKE));
    struct sl_fd_stats b = stats();
    assert_int_equal(b.stale - a.stale, 1);
    assert_int_equal(b.live, a.live - 1);
    assert_int_equal(b.closed, a.closed);
}

static void test_gens_are_unique(void **state)
{
    (void)state;
    for (int k = 0; k < 70; k++) /* more than one per stripe */
        create_fake(FAKE + k, AF_INET, SOCK_STREAM, 0);
    struct sl_rec_info *v = NULL;
    long n = sl_fd_snapshot(&v);
    assert_int_equal(n, 70);
    for (long x = 0; x < n; x++)
        for (long y = x + 1; y < n; y++)
            assert_int_not_equal(v[x].gen, v[y].gen);
    sl_big_free(v);
}

/* ---- end-of-file ---- */

static bool eof_armed(int fd)
{
    return sl_fd_eof_armed(fd);
}

static void test_eof_bit_for_stream_sockets_only(void **state)
{
    (void)state;
    create_fake(FAKE, AF_INET, SOCK_STREAM, 0);
    create_fake(FAKE + 1, AF_UNIX, SOCK_STREAM, 0);
    create_fake(FAKE + 2, AF_INET, SOCK_DGRAM, 0);
    create_fake(FAKE + 3, AF_UNIX, SOCK_SEQPACKET, 0);
    sl_fd_accepted(FAKE + 50, FAKE + 4, NULL, 0); /* type unknown yet: armed until known */
    assert_true(eof_armed(FAKE));
    assert_true(eof_armed(FAKE + 1));
    assert_false(eof_armed(FAKE + 2));
    assert_false(eof_armed(FAKE + 3));
    assert_true(eof_armed(FAKE + 4));
    assert_true(sl_fd_set_meta(FAKE + 4, must_find(FAKE + 4).gen, AF_INET, SOCK_DGRAM, 0));
    assert_false(eof_armed(FAKE + 4)); /* learned: a datagram socket */
    assert_false(eof_armed(FAKE + 5));
    assert_false(eof_armed(-1));
    assert_true(sl_fd_watched(FAKE + 2)); /* the other bits are untouched */
}

static void test_eof_recorded_once_and_bit_cleared(void **state)
{
    (void)state;
    create_fake(FAKE, AF_INET, SOCK_STREAM, 0);
    uint64_t gen = must_find(FAKE).gen;
    assert_false(sl_fd_set_eof(FAKE, gen + 1, 7, 1000)); /* another record's */
    assert_true(eof_armed(FAKE));
    assert_true(sl_fd_set_eof(FAKE, gen, 7, 1000));
    assert_false(eof_armed(FAKE));
    assert_true(sl_fd_watched(FAKE));
    assert_true(sl_fd_set_eof(FAKE, gen, 9, 2000)); /* the first one stays */
    struct sl_rec_info i = must_find(FAKE);
    assert_int_equal(i.eof_stack, 7);
    assert_int_equal(i.eof_ns, 1000);
}

static void test_eof_bit_follows_close_and_reattach(void **state)
{
    (void)state;
    create_fake(FAKE, AF_INET, SOCK_STREAM, 0);
    create_fake(FAKE + 1, AF_INET, SOCK_STREAM, 0);
    struct sl_rec_info old;
    assert_true(sl_fd_detach_one(FAKE, &old));
    assert_false(eof_armed(FAKE)); /* closing: its reads are plain */
    sl_fd_reattach_one(&old);      /* the close failed */
    assert_true(eof_armed(FAKE));
    assert_true(sl_fd_set_eof(FAKE + 1, must_find(FAKE + 1).gen, 0, 5));
    struct sl_rec *list = sl_fd_detach_range(FAKE, FAKE + 1);
    assert_false(eof_armed(FAKE));
    sl_fd_reattach(list);
    assert_true(eof_armed(FAKE));
    assert_false(eof_armed(FAKE + 1)); /* its end-of-file is recorded: stays plain */
    sl_fd_release(sl_fd_detach(FAKE));
    assert_false(eof_armed(FAKE));
    sl_fd_drop_stale(FAKE + 1, must_find(FAKE + 1).gen);
    create_fake(FAKE + 2, AF_INET, SOCK_STREAM, 0);
    sl_fd_drop_stale(FAKE + 2, must_find(FAKE + 2).gen);
    assert_false(eof_armed(FAKE + 2));
}

static void test_dup_of_a_socket_past_its_eof_is_not_armed(void **state)
{
    (void)state;
    int fd = open_socket(AF_INET, SOCK_STREAM, 0);
    sl_fd_created(fd, SL_ORIGIN_SOCKET, AF_INET, SOCK_STREAM, 0, NULL, 0);
    assert_true(sl_fd_set_eof(fd, must_find(fd).gen, 3, 42));
    int d = dup_socket(fd);
    sl_fd_dup(fd, d);
    assert_false(eof_armed(d));
    assert_int_equal(must_find(d).eof_ns, 42);
}

static void test_eof_verb_records_the_calling_stack(void **state)
{
    (void)state;
    int fd = open_socket(AF_INET, SOCK_STREAM, 0);
    sl_fd_created(fd, SL_ORIGIN_SOCKET, AF_INET, SOCK_STREAM, 0, NULL, 0);
    int64_t before = sl_now_coarse_ns();
    sl_fd_eof(fd);
    struct sl_rec_info i = must_find(fd);
    assert_int_not_equal(i.eof_stack, 0);
    assert_int_not_equal(i.eof_stack, i.stack); /* another call site */
    assert_in_range(i.eof_ns, before, sl_now_ns());
    assert_false(eof_armed(fd));
    sl_fd_eof(fd); /* a second end-of-file changes nothing */
    assert_int_equal(must_find(fd).eof_ns, i.eof_ns);
}

static void test_eof_verb_learns_the_type_of_an_unknown_socket(void **state)
{
    (void)state;
    int u = open_socket(AF_INET, SOCK_DGRAM, 0);
    sl_fd_dup(FAKE + 60, u); /* the original is not recorded: a socket of unknown type */
    assert_int_equal(must_find(u).type, 0);
    assert_true(eof_armed(u));
    sl_fd_eof(u); /* a zero-length datagram, not an end-of-file */
    assert_int_equal(must_find(u).type, SOCK_DGRAM);
    assert_int_equal(must_find(u).eof_ns, 0);
    assert_false(eof_armed(u));
}

/* ---- checkpoints ---- */

static void test_checkpoint_orders_records(void **state)
{
    (void)state;
    create_fake(FAKE, AF_INET, SOCK_STREAM, 0);
    create_fake(FAKE + 1, AF_INET, SOCK_STREAM, 0);
    uint64_t cp = sl_fd_checkpoint();
    assert_true(must_find(FAKE + 1).gen <= cp);
    create_fake(FAKE + 2, AF_INET, SOCK_STREAM, 0);
    create_fake(FAKE + 33, AF_INET, SOCK_STREAM, 0); /* another stripe */
    sl_fd_release(sl_fd_detach(FAKE + 2));
    struct sl_rec_info *v = NULL;
    long n = sl_fd_snapshot_since(cp, &v);
    assert_int_equal(n, 1);
    assert_int_equal(v[0].fd, FAKE + 33);
    assert_true(v[0].gen > cp);
    sl_big_free(v);
    assert_int_equal(sl_fd_snapshot_since(0, &v), 3);
    sl_big_free(v);
}

static void test_open_since_counts_open_sockets_made_after(void **state)
{
    (void)state;
    int before = open_socket(AF_INET, SOCK_STREAM, 0);
    sl_fd_created(before, SL_ORIGIN_SOCKET, AF_INET, SOCK_STREAM, 0, NULL, 0);
    uint64_t cp = sl_fd_checkpoint();
    int fds[4] = { open_socket(AF_INET, SOCK_STREAM, 0), open_socket(AF_UNIX, SOCK_STREAM, 0),
                   open_socket(AF_INET, SOCK_STREAM, 0), open_socket(AF_INET, SOCK_DGRAM, 0) };
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    assert_int_equal(bind(fds[2], (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(listen(fds[2], 1), 0);
    for (int k = 0; k < 4; k++)
        sl_fd_created(fds[k], SL_ORIGIN_SOCKET, AF_INET, SOCK_STREAM, 0, NULL, 0);
    assert_int_equal(sl_fd_ignore(fds[3]), 0);
    create_fake(FAKE, AF_INET, SOCK_STREAM, 0); /* a number not open: closed behind our back */
    assert_int_equal(sl_fd_open_since(cp), 2);  /* not the listener, not the ignored one */
    assert_false(sl_fd_tracked(FAKE));           /* dropped as stale */
    assert_int_equal(sl_fd_open_since(sl_fd_checkpoint()), 0);
}

/* ---- max_tracked ---- */

static void test_max_tracked_refuses_beyond_the_limit(void **state)
{
    (void)state;
    sl_opt.max_tracked = 3;
    long nomem = atomic_load(&sl_count.nomem), untracked = atomic_load(&sl_count.untracked);
    for (int k = 0; k < 5; k++)
        create_fake(FAKE + k, AF_INET, SOCK_STREAM, 0);
    assert_int_equal(stats().live, 3);
    assert_true(sl_fd_tracked(FAKE + 2));
    assert_false(sl_fd_tracked(FAKE + 3));
    assert_false(sl_fd_tracked(FAKE + 4));
    assert_false(sl_fd_watched(FAKE + 4));
    assert_int_equal(atomic_load(&sl_count.nomem) - nomem, 2);
    assert_int_equal(atomic_load(&sl_count.untracked) - untracked, 2);
    sl_fd_release(sl_fd_detach(FAKE)); /* room again */
    create_fake(FAKE + 4, AF_INET, SOCK_STREAM, 0);
    assert_true(sl_fd_tracked(FAKE + 4));
    assert_int_equal(atomic_load(&sl_count.nomem) - nomem, 2);
}

/* ---- threads ---- */

#define NTHREADS 4
#define PER_THREAD 2000
#define THREAD_BASE 20000

static pthread_barrier_t barrier;

static void *churn(void *arg)
{
    int base = THREAD_BASE + (int)(intptr_t)arg * PER_THREAD;
    pthread_barrier_wait(&barrier);
    for (int i = 0; i < PER_THREAD; i++) {
        sl_fd_created(base + i, SL_ORIGIN_SOCKET, AF_INET, SOCK_STREAM, 0, NULL, 0);
        if (i % 3 == 0) /* close every third one again */
            sl_fd_release(sl_fd_detach(base + i));
    }
    return NULL;
}

static void test_threads_end_with_exact_live_count(void **state)
{
    (void)state;
    struct sl_fd_stats a = stats();
    pthread_t t[NTHREADS];
    assert_int_equal(pthread_barrier_init(&barrier, NULL, NTHREADS), 0);
    for (int k = 0; k < NTHREADS; k++)
        assert_int_equal(pthread_create(&t[k], NULL, churn, (void *)(intptr_t)k), 0);
    for (int k = 0; k < NTHREADS; k++)
        pthread_join(t[k], NULL);
    pthread_barrier_destroy(&barrier);
    long closed_each = (PER_THREAD + 2) / 3; /* i % 3 == 0 for i in [0, PER_THREAD) */
    long live = NTHREADS * (PER_THREAD - closed_each);
    struct sl_fd_stats b = stats();
    assert_int_equal(b.live, live);
    assert_int_equal(b.opened - a.opened, NTHREADS * PER_THREAD);
    assert_int_equal(b.closed - a.closed, NTHREADS * closed_each);
    assert_int_equal(b.stale, a.stale);
    struct sl_rec_info *v = NULL;
    assert_int_equal(sl_fd_snapshot(&v), live);
    sl_big_free(v);
    for (int fd = THREAD_BASE; fd < THREAD_BASE + NTHREADS * PER_THREAD; fd++)
        if (sl_fd_tracked(fd) != ((fd - THREAD_BASE) % PER_THREAD % 3 != 0))
            fail_msg("fd %d tracked=%d", fd, sl_fd_tracked(fd));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_created_socket_appears_in_snapshot),
        T(test_created_counts_opened),
        T(test_created_with_peer_records_it),
        T(test_stack_depth_zero_records_no_stack),
        T(test_same_call_site_same_stack),
        T(test_created_ignores_negative_fd),
        T(test_inherited_has_no_stack),
        T(test_watched_true_for_tracked),
        T(test_watched_false_for_untracked_numbers),
        T(test_create_on_tracked_number_replaces_old_record),
        T(test_dup_copies_family_and_sets_origin_dup),
        T(test_dup_of_untracked_socket_records_the_copy),
        T(test_dup_of_untracked_non_socket_records_nothing),
        T(test_dup_onto_itself_changes_nothing),
        T(test_accepted_inherits_listener_meta_and_peer),
        T(test_accepted_from_untracked_listener_takes_peer_family),
        T(test_connect_records_inet_peer),
        T(test_connect_ignores_non_inet_and_untracked),
        T(test_detach_release_removes_and_counts_closed),
        T(test_detach_untracked_returns_null),
        T(test_double_close_ring_laps),
        T(test_detach_one_release_one),
        T(test_unseen_never_replaces_a_record_or_a_closing_number),
        T(test_detach_one_reattach_one),
        T(test_tables_empty_and_refill),
        T(test_state_of_neighbours_is_their_own),
        T(test_bad_close_after_release_is_a_double_close),
        T(test_detach_reattach_puts_it_back),
        T(test_reattach_loses_to_a_newer_record),
        T(test_detach_range_detaches_exactly_the_tracked_fds_inside),
        T(test_release_keeps_watch_bit_of_a_new_socket_on_the_number),
        T(test_detach_range_to_the_top_like_closefrom),
        T(test_detach_range_reattach_restores_all),
        T(test_detach_range_without_tracked_fds_is_null),
        T(test_set_state_starts_close_wait_clock_once),
        T(test_set_state_other_state_clears_clock),
        T(test_set_state_wrong_gen_is_false),
        T(test_observe_close_wait_uses_hint_not_before_last_open_probe),
        T(test_set_inode_and_meta_write_back),
        T(test_reused_number_shows_nothing_of_the_earlier_record),
        T(test_drop_stale_only_when_gen_matches),
        T(test_gens_are_unique),
        T(test_eof_bit_for_stream_sockets_only),
        T(test_eof_recorded_once_and_bit_cleared),
        T(test_eof_bit_follows_close_and_reattach),
        T(test_dup_of_a_socket_past_its_eof_is_not_armed),
        T(test_eof_verb_records_the_calling_stack),
        T(test_eof_verb_learns_the_type_of_an_unknown_socket),
        T(test_checkpoint_orders_records),
        T(test_open_since_counts_open_sockets_made_after),
        T(test_max_tracked_refuses_beyond_the_limit),
        T(test_threads_end_with_exact_live_count),
    };
#undef T
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
