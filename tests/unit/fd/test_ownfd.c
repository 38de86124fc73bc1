/*
 * test_ownfd.c - unit tests for ownfd.c: the shim's own file descriptors.
 *
 * Covers sl_ownfd_adopt moving a low fd to the top of the fd space (at or above the
 * soft RLIMIT_NOFILE minus 32, below the limit), closing the old number, keeping the
 * file and setting close-on-exec; an fd already high staying where it is; adopted fds
 * being known to sl_ownfd_is and marked in the registry's watch bitmap; sl_ownfd_list
 * returning them sorted even when adopted out of order; sl_ownfd_close forgetting and
 * closing (and reporting EBADF the second time); sl_ownfd_forget leaving the fd open.
 * Teardown closes whatever a test left adopted.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fd/fd.h"

static long soft_limit;

static int group_setup(void **state)
{
    (void)state;
    sl_options_defaults(&sl_opt);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < 256)
        return -1; /* too few fds for these tests */
    /* the top of the fd space as ownfd.c sees it: the soft limit, at most 2^20 */
    soft_limit = rl.rlim_cur == RLIM_INFINITY ? 1024 : rl.rlim_cur > (1 << 20) ? (1 << 20) : (long)rl.rlim_cur;
    return sl_fdstate_init();
}

static int teardown(void **state)
{
    (void)state;
    int fds[16];
    int n = sl_ownfd_list(fds, 16);
    for (int i = 0; i < n; i++)
        sl_ownfd_close(fds[i]);
    return 0;
}

static int open_null(void)
{
    int fd = open("/dev/null", O_RDONLY);
    assert_true(fd >= 0);
    assert_true(fd < soft_limit - 32);
    return fd;
}

static bool is_open(int fd)
{
    return fcntl(fd, F_GETFD) >= 0;
}

static void test_adopt_moves_fd_high(void **state)
{
    (void)state;
    int fd = open_null();
    struct stat before;
    assert_int_equal(fstat(fd, &before), 0);
    int hi = sl_ownfd_adopt(fd, false);
    assert_int_not_equal(hi, fd);
    assert_in_range(hi, soft_limit - 32, soft_limit - 1);
    assert_false(is_open(fd)); /* the low number is free again */
    struct stat after;
    assert_int_equal(fstat(hi, &after), 0);
    assert_int_equal(after.st_rdev, before.st_rdev);
    assert_int_equal(after.st_ino, before.st_ino);
    assert_true(fcntl(hi, F_GETFD) & FD_CLOEXEC);
}

static void test_adopted_fd_is_private_and_watched(void **state)
{
    (void)state;
    int fd = open_null();
    int hi = sl_ownfd_adopt(fd, false);
    assert_true(sl_ownfd_is(hi));
    assert_false(sl_ownfd_is(fd));
    assert_true(sl_fd_watched(hi));
    assert_false(sl_fd_watched(hi + 1 < soft_limit ? hi + 1 : hi - 1));
}

static void test_adopt_keeps_an_fd_already_high(void **state)
{
    (void)state;
    int fd = open_null();
    int want = (int)soft_limit - 3;
    assert_int_equal(dup2(fd, want), want);
    close(fd);
    assert_int_equal(sl_ownfd_adopt(want, false), want);
    assert_true(sl_ownfd_is(want));
    assert_true(is_open(want));
}

static void test_adopt_preserves_errno(void **state)
{
    (void)state;
    int fd = open_null();
    errno = 4321;
    int hi = sl_ownfd_adopt(fd, false);
    assert_int_equal(errno, 4321);
    assert_true(sl_ownfd_is(hi));
}

static void test_list_is_sorted(void **state)
{
    (void)state;
    /* adopted out of order: a high number first, then two moved below it */
    int fd = open_null();
    int top = (int)soft_limit - 2;
    assert_int_equal(dup2(fd, top), top);
    close(fd);
    int a = sl_ownfd_adopt(top, false);
    int b = sl_ownfd_adopt(open_null(), false);
    int c = sl_ownfd_adopt(open_null(), false);
    assert_true(b < a && c < a && b != c);
    int out[16];
    int n = sl_ownfd_list(out, 16);
    assert_int_equal(n, 3);
    for (int i = 1; i < n; i++)
        if (out[i - 1] >= out[i])
            fail_msg("privfd list not ascending: [%d]=%d, [%d]=%d", i - 1, out[i - 1], i, out[i]);
    assert_int_equal(out[0], b < c ? b : c);
    assert_int_equal(out[1], b < c ? c : b);
    assert_int_equal(out[2], a);
}

static void test_list_is_empty_without_private_fds(void **state)
{
    (void)state;
    int out[16];
    assert_int_equal(sl_ownfd_list(out, 16), 0);
}

static void test_close_forgets_and_closes(void **state)
{
    (void)state;
    int hi = sl_ownfd_adopt(open_null(), false);
    assert_true(is_open(hi));
    errno = 4321;
    assert_int_equal(sl_ownfd_close(hi), 0);
    assert_int_equal(errno, 4321);
    assert_false(sl_ownfd_is(hi));
    assert_false(sl_fd_watched(hi));
    assert_false(is_open(hi));
    int out[16];
    assert_int_equal(sl_ownfd_list(out, 16), 0);
}

static void test_close_twice_is_ebadf(void **state)
{
    (void)state;
    int hi = sl_ownfd_adopt(open_null(), false);
    assert_int_equal(sl_ownfd_close(hi), 0);
    errno = 4321;
    assert_int_equal(sl_ownfd_close(hi), -EBADF);
    assert_int_equal(errno, 4321);
}

static void test_forget_leaves_it_open(void **state)
{
    (void)state;
    int hi = sl_ownfd_adopt(open_null(), false);
    sl_ownfd_forget(hi);
    assert_false(sl_ownfd_is(hi));
    assert_false(sl_fd_watched(hi));
    assert_true(is_open(hi)); /* its owner closes it */
    close(hi);
}

static void test_is_false_for_other_numbers(void **state)
{
    (void)state;
    assert_false(sl_ownfd_is(-1));
    assert_false(sl_ownfd_is(0));
    assert_false(sl_ownfd_is((int)soft_limit - 1));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, NULL, teardown)
    const struct CMUnitTest tests[] = {
        T(test_adopt_moves_fd_high),
        T(test_adopted_fd_is_private_and_watched),
        T(test_adopt_keeps_an_fd_already_high),
        T(test_adopt_preserves_errno),
        T(test_list_is_sorted),
        T(test_list_is_empty_without_private_fds),
        T(test_close_forgets_and_closes),
        T(test_close_twice_is_ebadf),
        T(test_forget_leaves_it_open),
        T(test_is_false_for_other_numbers),
    };
#undef T
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
