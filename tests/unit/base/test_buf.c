/*
 * test_buf.c - unit tests for buf.c: the growable report buffer.
 *
 * Covers growth past the first 4096-byte allocation through sl_buf_put and through
 * sl_buf_printf (short output, and output longer than its 256-byte stack buffer),
 * keeping contents NUL-terminated; sl_buf_json_str escaping (quotes, backslash, the
 * short escapes, other control characters as \u00XX, valid multi-byte UTF-8 kept,
 * invalid, overlong, surrogate and out-of-range sequences replaced by \ufffd, NULL
 * written as null); sl_buf_duration's formats for people; and the big-array helpers
 * (zeroed, contents kept across growth from malloc into a mapping and back down, and
 * memory given back to the system when a mapped block is freed).
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/base.h"

static int buf_setup(void **state)
{
    struct sl_buf *b = malloc(sizeof(*b));
    if (!b)
        return -1;
    sl_buf_init(b);
    *state = b;
    return 0;
}

static int buf_teardown(void **state)
{
    struct sl_buf *b = *state;
    sl_buf_free(b);
    free(b);
    return 0;
}

/* The buffer holds exactly want (and a NUL after it). */
static void assert_buf(const struct sl_buf *b, const char *want)
{
    assert_false(b->failed);
    assert_non_null(b->data);
    assert_int_equal(b->len, strlen(want));
    assert_int_equal(b->data[b->len], '\0');
    assert_string_equal(b->data, want);
}

static void assert_json(const char *in, const char *want)
{
    struct sl_buf b;
    sl_buf_init(&b);
    sl_buf_json_str(&b, in);
    if (!b.data || strcmp(b.data, want) != 0)
        fail_msg("sl_buf_json_str gave %s, want %s", b.data ? b.data : "(nothing)", want);
    assert_int_equal(b.len, strlen(want));
    sl_buf_free(&b);
}

static void assert_duration(int64_t ns, const char *want)
{
    struct sl_buf b;
    sl_buf_init(&b);
    sl_buf_duration(&b, ns);
    if (!b.data || strcmp(b.data, want) != 0)
        fail_msg("sl_buf_duration(%lld) gave \"%s\", want \"%s\"", (long long)ns, b.data ? b.data : "", want);
    sl_buf_free(&b);
}

/* ---- growth ---- */

static void test_init_is_empty(void **state)
{
    struct sl_buf *b = *state;
    assert_null(b->data);
    assert_int_equal(b->len, 0);
    assert_int_equal(b->cap, 0);
    assert_false(b->failed);
}

static void test_put_small_pieces(void **state)
{
    struct sl_buf *b = *state;
    sl_buf_put(b, "abcdef", 3);
    sl_buf_puts(b, "-xy-");
    sl_buf_putc(b, 'z');
    assert_buf(b, "abc-xy-z");
    assert_int_equal(b->cap, 4096);
}

static void test_put_keeps_embedded_bytes(void **state)
{
    struct sl_buf *b = *state;
    sl_buf_put(b, "a\0b", 3);
    assert_int_equal(b->len, 3);
    assert_memory_equal(b->data, "a\0b\0", 4);
}

static void test_put_grows_past_4096(void **state)
{
    struct sl_buf *b = *state;
    char chunk[1000];
    for (int i = 0; i < 10; i++) {
        memset(chunk, 'a' + i, sizeof(chunk));
        sl_buf_put(b, chunk, sizeof(chunk));
    }
    assert_false(b->failed);
    assert_int_equal(b->len, 10000);
    assert_true(b->cap > 10000);
    assert_int_equal(b->data[10000], '\0');
    for (int i = 0; i < 10; i++) {
        assert_int_equal(b->data[i * 1000], 'a' + i);
        assert_int_equal(b->data[i * 1000 + 999], 'a' + i);
    }
}

static void test_put_one_large_block(void **state)
{
    struct sl_buf *b = *state;
    size_t n = 100000;
    char *big = malloc(n);
    assert_non_null(big);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)('0' + i % 10);
    sl_buf_puts(b, "<");
    sl_buf_put(b, big, n);
    sl_buf_puts(b, ">");
    assert_false(b->failed);
    assert_int_equal(b->len, n + 2);
    assert_int_equal(b->data[0], '<');
    assert_memory_equal(b->data + 1, big, n);
    assert_int_equal(b->data[n + 1], '>');
    assert_int_equal(b->data[n + 2], '\0');
    free(big);
}

static void test_printf_short(void **state)
{
    struct sl_buf *b = *state;
    sl_buf_printf(b, "fd=%d name=%s", 42, "x");
    sl_buf_printf(b, " %05.1f", 3.14159);
    assert_buf(b, "fd=42 name=x 003.1");
}

static void test_printf_longer_than_its_stack_buffer(void **state)
{
    struct sl_buf *b = *state;
    char arg[300];
    memset(arg, 'q', sizeof(arg) - 1);
    arg[sizeof(arg) - 1] = '\0';
    sl_buf_puts(b, "start:");
    sl_buf_printf(b, "[%s]%d", arg, 7);
    assert_false(b->failed);
    assert_int_equal(b->len, 6 + 1 + 299 + 1 + 1);
    assert_memory_equal(b->data, "start:[qqq", 10);
    assert_string_equal(b->data + b->len - 3, "q]7");
}

static void test_printf_grows_past_4096(void **state)
{
    struct sl_buf *b = *state;
    sl_buf_puts(b, "x");
    sl_buf_printf(b, "%9000s|", "end"); /* one piece of 9001 bytes, past the first allocation */
    assert_false(b->failed);
    assert_int_equal(b->len, 9002);
    assert_true(b->cap >= 9003);
    assert_int_equal(b->data[0], 'x');
    assert_int_equal(b->data[1], ' ');
    assert_string_equal(b->data + b->len - 4, "end|");
    sl_buf_putc(b, '!'); /* still appends after a long printf */
    assert_int_equal(b->len, 9003);
    assert_string_equal(b->data + b->len - 5, "end|!");
}

static void test_many_printfs_accumulate(void **state)
{
    struct sl_buf *b = *state;
    for (int i = 0; i < 2000; i++)
        sl_buf_printf(b, "%04d,", i);
    assert_false(b->failed);
    assert_int_equal(b->len, 2000 * 5);
    assert_memory_equal(b->data, "0000,0001,", 10);
    assert_memory_equal(b->data + 1234 * 5, "1234,", 5);
    assert_string_equal(b->data + b->len - 5, "1999,");
}

static void test_free_resets(void **state)
{
    struct sl_buf *b = *state;
    sl_buf_puts(b, "something");
    sl_buf_free(b);
    assert_null(b->data);
    assert_int_equal(b->len, 0);
    assert_int_equal(b->cap, 0);
    sl_buf_puts(b, "again"); /* reusable after free */
    assert_buf(b, "again");
}

/* ---- JSON strings ---- */

static void test_json_plain(void **state)
{
    (void)state;
    assert_json("hello world", "\"hello world\"");
    assert_json("", "\"\"");
}

static void test_json_null(void **state)
{
    (void)state;
    assert_json(NULL, "null");
}

static void test_json_quotes_and_backslash(void **state)
{
    (void)state;
    assert_json("say \"hi\"", "\"say \\\"hi\\\"\"");
    assert_json("C:\\path\\", "\"C:\\\\path\\\\\"");
    assert_json("a/b", "\"a/b\"");
}

static void test_json_short_escapes(void **state)
{
    (void)state;
    assert_json("a\nb\rc\td\be\ff", "\"a\\nb\\rc\\td\\be\\ff\"");
}

static void test_json_control_chars_as_u00xx(void **state)
{
    (void)state;
    assert_json("\x01", "\"\\u0001\"");
    assert_json("x\x1fy", "\"x\\u001fy\"");
    assert_json("\x1b[0m", "\"\\u001b[0m\"");
    assert_json("\x7f", "\"\\u007f\"");
}

static void test_json_keeps_valid_utf8(void **state)
{
    (void)state;
    assert_json("caf\xc3\xa9", "\"caf\xc3\xa9\"");                 /* U+00E9, 2 bytes */
    assert_json("\xe2\x82\xac 5", "\"\xe2\x82\xac 5\"");             /* U+20AC, 3 bytes */
    assert_json("\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\"");         /* U+1F600, 4 bytes */
    assert_json("\xef\xbf\xbd", "\"\xef\xbf\xbd\"");                 /* U+FFFD itself */
    assert_json("\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\"");         /* U+10FFFF, the last */
}

static void test_json_replaces_invalid_bytes(void **state)
{
    (void)state;
    assert_json("a\xff" "b", "\"a\\ufffdb\"");
    assert_json("\x80", "\"\\ufffd\"");            /* lone continuation byte */
    assert_json("\xc3" "x", "\"\\ufffdx\"");       /* lead byte without continuation */
    assert_json("end\xe2\x82", "\"end\\ufffd\\ufffd\""); /* truncated at the end of the string */
}

static void test_json_replaces_overlong(void **state)
{
    (void)state;
    assert_json("\xc0\xaf", "\"\\ufffd\\ufffd\"");           /* '/' in two bytes */
    assert_json("\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\"");  /* '/' in three bytes */
    assert_json("\xc1\xbf", "\"\\ufffd\\ufffd\"");
}

static void test_json_replaces_surrogates(void **state)
{
    (void)state;
    assert_json("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""); /* U+D800 */
    assert_json("\xed\xbf\xbf", "\"\\ufffd\\ufffd\\ufffd\""); /* U+DFFF */
    assert_json("\xed\x9f\xbf", "\"\xed\x9f\xbf\"");          /* U+D7FF is fine */
}

static void test_json_replaces_beyond_u10ffff(void **state)
{
    (void)state;
    assert_json("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
    assert_json("\xf8\x88\x80\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\"");
}

static void test_json_appends_to_existing(void **state)
{
    struct sl_buf *b = *state;
    sl_buf_puts(b, "{\"k\":");
    sl_buf_json_str(b, "v\"");
    sl_buf_putc(b, '}');
    assert_buf(b, "{\"k\":\"v\\\"\"}");
}

/* ---- durations ---- */

static void test_duration_milliseconds(void **state)
{
    (void)state;
    assert_duration(850 * SL_MS, "850ms");
    assert_duration(0, "0ms");
    assert_duration(999999999, "999ms");
}

static void test_duration_seconds_with_a_tenth(void **state)
{
    (void)state;
    assert_duration(12400 * SL_MS, "12.4s");
    assert_duration(1 * SL_SEC, "1.0s");
    assert_duration(59999 * SL_MS, "59.9s");
}

static void test_duration_minutes_and_seconds(void **state)
{
    (void)state;
    assert_duration(192 * SL_SEC, "3m12s");
    assert_duration(60 * SL_SEC, "1m00s");
    assert_duration(3599 * SL_SEC, "59m59s");
}

static void test_duration_hours_and_minutes(void **state)
{
    (void)state;
    assert_duration((2 * 3600 + 5 * 60) * SL_SEC, "2h05m");
    assert_duration(3600 * SL_SEC, "1h00m");
    assert_duration((49 * 3600 + 59 * 60 + 59) * SL_SEC, "49h59m");
}

static void test_duration_negative_is_zero(void **state)
{
    (void)state;
    assert_duration(-1, "0ms");
    assert_duration(-5 * SL_SEC, "0ms");
}

/* Resident kB of this process. */
static long rss_kb(void)
{
    long size = 0, res = 0;
    FILE *f = fopen("/proc/self/statm", "re");
    assert_non_null(f);
    assert_int_equal(fscanf(f, "%ld %ld", &size, &res), 2);
    fclose(f);
    return res * 4;
}

static unsigned char pattern(size_t k)
{
    return (unsigned char)(k * 7 + 3);
}

/* Through malloc-sized blocks, up into a mapping, larger, then back down. */
static void test_big_zeroed_and_kept_across_growth(void **state)
{
    (void)state;
    static const size_t sizes[] = { 1000, 70 * 1024, 3 * 1024 * 1024, 200 * 1024, 100 };
    unsigned char *p = sl_big_calloc(4, 4);
    assert_non_null(p);
    for (size_t k = 0; k < 16; k++) {
        assert_int_equal(p[k], 0);
        p[k] = pattern(k);
    }
    size_t have = 16;
    for (size_t s = 0; s < SL_ARRAY_LEN(sizes); s++) {
        p = sl_big_realloc(p, sizes[s]);
        assert_non_null(p);
        size_t keep = have < sizes[s] ? have : sizes[s];
        for (size_t k = 0; k < keep; k++)
            if (p[k] != pattern(k))
                fail_msg("byte %zu lost growing to %zu", k, sizes[s]);
        for (size_t k = 0; k < sizes[s]; k++)
            p[k] = pattern(k);
        have = sizes[s];
    }
    sl_big_free(p);
    sl_big_free(NULL);
    unsigned char *q = sl_big_alloc(1 << 20); /* a mapped block comes zeroed too */
    assert_non_null(q);
    for (size_t k = 0; k < (1 << 20); k += 4093)
        assert_int_equal(q[k], 0);
    sl_big_free(q);
}

static void test_big_free_gives_memory_back(void **state)
{
    (void)state;
    long before = rss_kb();
    size_t n = 32 << 20;
    char *p = sl_big_alloc(n);
    assert_non_null(p);
    memset(p, 1, n);
    assert_true(rss_kb() >= before + 30 * 1024);
    sl_big_free(p);
    assert_true(rss_kb() < before + 4 * 1024);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, buf_setup, buf_teardown)
    const struct CMUnitTest tests[] = {
        T(test_init_is_empty),
        T(test_put_small_pieces),
        T(test_put_keeps_embedded_bytes),
        T(test_put_grows_past_4096),
        T(test_put_one_large_block),
        T(test_printf_short),
        T(test_printf_longer_than_its_stack_buffer),
        T(test_printf_grows_past_4096),
        T(test_many_printfs_accumulate),
        T(test_free_resets),
        T(test_json_plain),
        T(test_json_null),
        T(test_json_quotes_and_backslash),
        T(test_json_short_escapes),
        T(test_json_control_chars_as_u00xx),
        T(test_json_keeps_valid_utf8),
        T(test_json_replaces_invalid_bytes),
        T(test_json_replaces_overlong),
        T(test_json_replaces_surrogates),
        T(test_json_replaces_beyond_u10ffff),
        T(test_json_appends_to_existing),
        T(test_duration_milliseconds),
        T(test_duration_seconds_with_a_tenth),
        T(test_duration_minutes_and_seconds),
        T(test_duration_hours_and_minutes),
        T(test_duration_negative_is_zero),
        T(test_big_zeroed_and_kept_across_growth),
        T(test_big_free_gives_memory_back),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
