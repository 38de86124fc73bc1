/*
 * cmocka_user.c - a cmocka suite that checks each test for sockets left open with the
 * installed <sockleak_test.h>: test_leaky opens a socket and forgets it, test_clean
 * closes its own. Under sockleak, test_leaky fails with sockleak's report (naming
 * open_and_forget); without it both pass.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <sockleak_test.h>

static __attribute__((noinline)) int open_and_forget(void)
{
    return socket(AF_INET, SOCK_STREAM, 0);
}

static void test_leaky(void **state)
{
    (void)state;
    SOCKLEAK_BEGIN();
    assert_true(open_and_forget() >= 0);
    SOCKLEAK_VERIFY_NONE();
}

static void test_clean(void **state)
{
    (void)state;
    SOCKLEAK_BEGIN();
    close(open_and_forget());
    SOCKLEAK_VERIFY_NONE();
}

int main(void)
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(test_leaky), cmocka_unit_test(test_clean) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
