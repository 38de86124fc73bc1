/*
 * test_owntable.c - unit tests for owntable.c: the host's fds seen from a thread with an fd
 * table of its own.
 *
 * Covers: in a thread sharing the table, sl_owntable_get returning the number itself and
 * sl_owntable_put leaving it open; a thread leaving the table (sl_owntable_leave)
 * getting an empty table of its own (none of the process's fds copied into it, so the
 * process's close of a socket is the last one), reaching a process fd through a copy
 * that is the same file (same inode, same socket options), each copy closed by put;
 * -EBADF for numbers the process does not have, before and after the process closes
 * them; sl_owntable_lost false while the process's main thread lives; and a new fd made
 * by the thread staying out of the process's table.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fd/fd.h"

static int group_setup(void **state)
{
    (void)state;
    sl_options_defaults(&sl_opt);
    return sl_fdstate_init();
}

/* fds in the calling thread's own table (/proc/thread-self/fd), listed into out */
static int own_fds(int *out, int max)
{
    DIR *d = opendir("/proc/thread-self/fd");
    assert_non_null(d);
    int n = 0, self = dirfd(d);
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] >= '0' && e->d_name[0] <= '9' && atoi(e->d_name) != self && n < max)
            out[n++] = atoi(e->d_name);
    closedir(d);
    return n;
}

static uint64_t inode_of(int fd)
{
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    return (uint64_t)st.st_ino;
}

static void test_shared_thread_uses_the_number(void **state)
{
    (void)state;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s >= 0);
    assert_false(sl_tls_own_table);
    assert_int_equal(sl_owntable_get(s), s);
    sl_owntable_put(s);
    assert_true(fcntl(s, F_GETFD) >= 0); /* still open */
    assert_false(sl_owntable_lost());
    close(s);
}

struct arg {
    int sock;       /* a socket of the process's */
    uint64_t ino;
    int closed_num; /* a number the process closed before the thread started */
    int later;      /* set by the main thread after the thread left: a new socket */
    int made;       /* a pipe end the thread made in its own table */
    uint64_t made_ino;
    pthread_barrier_t b;
};

static void *in_own_table(void *p)
{
    struct arg *a = p;
    int r = sl_owntable_leave();
    if (r != 0) {
        /* without pidfd_getfd or close_range's unshare flag there is nothing to test */
        print_message("hostfd: leave_table: %s (skipped)\n", strerror(-r));
        pthread_barrier_wait(&a->b);
        pthread_barrier_wait(&a->b);
        return (void *)1;
    }
    assert_true(sl_tls_own_table);
    assert_false(sl_owntable_lost());
    /* nothing of the process's was copied: its table has one user, and its closes
     * are the last ones */
    int fds[64];
    int n = own_fds(fds, 64);
    assert_int_equal(n, 1); /* the pidfd */
    /* a copy of the process's socket: the same socket */
    int l = sl_owntable_get(a->sock);
    assert_true(l >= 0);
    assert_int_equal(inode_of(l), a->ino);
    int type = 0;
    socklen_t len = sizeof(type);
    assert_int_equal(getsockopt(l, SOL_SOCKET, SO_TYPE, &type, &len), 0);
    assert_int_equal(type, SOCK_STREAM);
    assert_int_equal(own_fds(fds, 64), 2);
    sl_owntable_put(l);
    assert_int_equal(own_fds(fds, 64), 1); /* put closed the copy */
    assert_int_equal(sl_owntable_get(a->closed_num), -EBADF);
    assert_int_equal(sl_owntable_get(-1), -EBADF);
    /* the probes go through it */
    uint64_t dev, ino;
    assert_int_equal(sl_probe_inode(a->sock, &dev, &ino), 0);
    assert_int_equal(ino, a->ino);
    assert_int_equal(own_fds(fds, 64), 1);
    /* what the thread opens stays in its own table */
    int pp[2];
    assert_int_equal(pipe(pp), 0);
    a->made = pp[0];
    a->made_ino = inode_of(pp[0]);
    pthread_barrier_wait(&a->b); /* the main thread checks its table, makes a socket */
    pthread_barrier_wait(&a->b);
    l = sl_owntable_get(a->later);
    assert_true(l >= 0);
    int dom = 0; /* a socket the process made after the thread left: reachable too */
    len = sizeof(dom);
    assert_int_equal(getsockopt(l, SOL_SOCKET, SO_DOMAIN, &dom, &len), 0);
    assert_int_equal(dom, AF_UNIX);
    sl_owntable_put(l);
    close(pp[0]);
    close(pp[1]);
    return NULL;
}

static void test_own_table_reaches_the_process_fds(void **state)
{
    (void)state;
    struct arg a = { .made = -1 };
    a.sock = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(a.sock >= 0);
    a.ino = inode_of(a.sock);
    a.closed_num = open("/dev/null", O_RDONLY);
    assert_true(a.closed_num >= 0);
    close(a.closed_num);
    pthread_barrier_init(&a.b, NULL, 2);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, in_own_table, &a), 0);
    pthread_barrier_wait(&a.b);
    void *skipped = NULL;
    if (a.made >= 0) {
        /* the thread's pipe end is not in the process's table (the number may hold
         * something else of the process's: stdout, say) */
        struct stat st;
        assert_true(fstat(a.made, &st) != 0 || (uint64_t)st.st_ino != a.made_ino);
    }
    a.later = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(a.later >= 0);
    pthread_barrier_wait(&a.b);
    pthread_join(t, &skipped);
    pthread_barrier_destroy(&a.b);
    close(a.sock);
    close(a.later);
    if (skipped)
        skip();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shared_thread_uses_the_number),
        cmocka_unit_test(test_own_table_reaches_the_process_fds),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
