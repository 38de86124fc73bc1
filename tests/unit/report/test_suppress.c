/*
 * test_suppress.c - suppression rules: parsing kind:pattern lines (comments, blanks,
 * bad lines reported and skipped), and matching stacks by function, module or
 * fingerprint and sockets by peer or local address, with globs.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdio.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "report/report.h"

static int nwarn;
static char lastwarn[512];

static void warn(const char *msg)
{
    nwarn++;
    snprintf(lastwarn, sizeof(lastwarn), "%s", msg);
}

static int setup(void **state)
{
    (void)state;
    sl_suppress_reset();
    nwarn = 0;
    lastwarn[0] = '\0';
    return 0;
}

static void test_parse_rules_comments_and_blanks(void **state)
{
    (void)state;
    assert_int_equal(sl_suppress_parse("# known sockets\n\nfunction:pool_*   # the pool\n"
                                       "  module:*libpq.so*\r\nstack:2f6c0e1d9a7b4c33\npeer:10.0.0.5:5432\n"
                                       "local:*:8080",
                                       warn),
                     0);
    assert_int_equal(nwarn, 0);
    assert_int_equal(sl_suppress_count(), 5);
    assert_string_equal(sl_suppress_text(0), "function:pool_*");
    assert_string_equal(sl_suppress_text(1), "module:*libpq.so*");
    assert_string_equal(sl_suppress_text(4), "local:*:8080");
    assert_null(sl_suppress_text(5));
}

static void test_parse_bad_lines_are_named_and_skipped(void **state)
{
    (void)state;
    assert_int_equal(sl_suppress_parse("leak:foo\nfunction:\nnocolon\nfunction:ok_*\n", warn), 3);
    assert_int_equal(nwarn, 3);
    assert_non_null(strstr(lastwarn, "'nocolon'"));
    assert_int_equal(sl_suppress_count(), 1);
    assert_string_equal(sl_suppress_text(0), "function:ok_*");
}

static void test_stack_rules(void **state)
{
    (void)state;
    sl_suppress_parse("function:pool_*\nmodule:*/libpq.so.5\nstack:deadbeef*\n", warn);
    struct sl_frame f[2] = { { .function = "fetch_user", .module = "/usr/bin/app" },
                             { .function = "pool_acquire", .module = "/usr/bin/app" } };
    assert_int_equal(sl_suppress_stack(f, 2, "0123456789abcdef"), 0); /* frame 1 matches function:pool_* */
    assert_int_equal(sl_suppress_stack(f, 1, "0123456789abcdef"), -1);
    struct sl_frame g[1] = { { .function = NULL, .module = "/usr/lib/x86_64-linux-gnu/libpq.so.5" } };
    assert_int_equal(sl_suppress_stack(g, 1, "0123456789abcdef"), 1);
    assert_int_equal(sl_suppress_stack(f, 1, "deadbeef00000000"), 2);
    assert_int_equal(sl_suppress_stack(NULL, 0, "none"), -1);
}

static void test_language_frame_rules(void **state)
{
    (void)state;
    sl_suppress_parse("function:Pool.*\nfile:*/healthcheck.py\n", warn);
    struct sl_frame f[2] = { { .function = "socket.__init__", .file = "/usr/lib/python3.11/socket.py",
                               .lang = SL_LANG_PYTHON },
                             { .function = "Pool.grab", .file = "/srv/app/pool.py", .lang = SL_LANG_PYTHON } };
    assert_int_equal(sl_suppress_stack(f, 2, "0123456789abcdef"), 0);
    struct sl_frame g[2] = { { .function = "ping", .file = "/srv/app/healthcheck.py", .lang = SL_LANG_PYTHON },
                             { .function = "main", .file = "/srv/app/main.py", .lang = SL_LANG_PYTHON } };
    assert_int_equal(sl_suppress_stack(g, 2, "0123456789abcdef"), 1);
    assert_int_equal(sl_suppress_stack(g + 1, 1, "0123456789abcdef"), -1);
    struct sl_frame n[1] = { { .function = "fetch_user", .module = "/usr/bin/app" } }; /* no file */
    assert_int_equal(sl_suppress_stack(n, 1, "0123456789abcdef"), -1);
}

static void test_address_rules(void **state)
{
    (void)state;
    sl_suppress_parse("peer:10.0.0.5:5432\nlocal:*:8080\npeer:[::1]:*\n", warn);
    assert_int_equal(sl_suppress_addr("10.0.0.1:40000", "10.0.0.5:5432"), 0);
    assert_int_equal(sl_suppress_addr("0.0.0.0:8080", NULL), 1);
    assert_int_equal(sl_suppress_addr("[::1]:5555", "[::1]:6379"), 2);
    assert_int_equal(sl_suppress_addr("10.0.0.1:40000", "10.0.0.6:5432"), -1);
    assert_int_equal(sl_suppress_addr(NULL, NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_parse_rules_comments_and_blanks, setup),
        cmocka_unit_test_setup(test_parse_bad_lines_are_named_and_skipped, setup),
        cmocka_unit_test_setup(test_stack_rules, setup),
        cmocka_unit_test_setup(test_language_frame_rules, setup),
        cmocka_unit_test_setup(test_address_rules, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
