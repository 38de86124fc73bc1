/*
 * test_options.c - unit tests for options.c: SOCKLEAK_OPTIONS parsing.
 *
 * Covers the defaults (one per row of the table), every key with valid values, the
 * ':' and whitespace separators, quoted values, and each kind of problem: every bad
 * input must give exactly the expected problem count, one warn() line per problem
 * (captured by a test callback) naming the key with the offending text made printable,
 * keep that key's default and still apply the other keys of the same string. Also the
 * helpers sl_parse_duration, sl_parse_signal and sl_signal_name.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/base.h"

/* ---- the warn() callback: remembers every line ---- */

#define MAX_LINES 64
static char *lines[MAX_LINES];
static int nlines;

static void capture_warn(const char *msg)
{
    if (nlines < MAX_LINES)
        lines[nlines] = strdup(msg);
    nlines++;
}

static void clear_lines(void)
{
    for (int i = 0; i < nlines && i < MAX_LINES; i++)
        free(lines[i]);
    nlines = 0;
}

static int reset(void **state)
{
    (void)state;
    clear_lines();
    return 0;
}

/* Parse text into *o, capturing warnings; returns the problem count. */
static int parse(struct sl_options *o, const char *text)
{
    clear_lines();
    return sl_options_parse(o, text, capture_warn);
}

/* Line i must exist and contain every string given (NULL-terminated). */
static void assert_line_has(int i, ...)
{
    assert_true(i < nlines);
    assert_non_null(lines[i]);
    va_list ap;
    va_start(ap, i);
    for (const char *s; (s = va_arg(ap, const char *)) != NULL;) {
        if (!strstr(lines[i], s))
            fail_msg("warning %d \"%s\" does not contain \"%s\"", i, lines[i], s);
    }
    va_end(ap);
}

/* Every byte of every captured line is printable ASCII. */
static void assert_lines_printable(void)
{
    for (int i = 0; i < nlines && i < MAX_LINES; i++)
        for (const unsigned char *p = (const unsigned char *)lines[i]; *p; p++)
            if (*p < 0x20 || *p >= 0x7f)
                fail_msg("warning %d has unprintable byte 0x%02x: %s", i, *p, lines[i]);
}

static void assert_defaults(const struct sl_options *o)
{
    assert_string_equal(o->log_path, "stderr");
    assert_int_equal(o->format, SL_FMT_TEXT);
    assert_int_equal(o->report_at_exit, 1);
    assert_int_equal(o->dump_signal, SIGUSR2);
    assert_int_equal(o->close_wait_after, 5 * SL_SEC);
    assert_int_equal(o->scan_interval, 1 * SL_SEC);
    assert_int_equal(o->stack_depth, 16);
    assert_int_equal(o->verbose, 0);
    assert_int_equal(o->max_tracked, 0);
    assert_int_equal(o->fd_threshold, 80);
    assert_int_equal(o->max_sockets, 0);
    assert_int_equal(o->report_interval, 0);
    assert_int_equal(o->max_age, 0);
    assert_int_equal(o->idle_after, 0);
    assert_int_equal(o->scan_method, SL_SCAN_AUTO);
    assert_int_equal(o->source_lines, 1);
    assert_int_equal(o->own_fd_table, 1);
    assert_string_equal(o->metrics_path, "");
    assert_string_equal(o->syslog_path, "");
    assert_int_equal(o->python_frames, 1);
    assert_int_equal(o->java_frames, 1);
    assert_int_equal(o->node_frames, 1);
    assert_int_equal(o->native_frames, SL_NATIVE_BELOW);
}

static void test_language_options_parse(void **state)
{
    (void)state;
    struct sl_options o;
    assert_int_equal(parse(&o, "python_frames=0:java_frames=off:node_frames=no:native_frames=spliced"), 0);
    assert_int_equal(o.python_frames, 0);
    assert_int_equal(o.java_frames, 0);
    assert_int_equal(o.node_frames, 0);
    assert_int_equal(o.native_frames, SL_NATIVE_SPLICED);
    assert_int_equal(parse(&o, "native_frames=none"), 0);
    assert_int_equal(o.native_frames, SL_NATIVE_NONE);
    assert_int_equal(parse(&o, "native_frames=all"), 1); /* named, default kept */
    assert_int_equal(o.native_frames, SL_NATIVE_BELOW);
}

/* the detection options of issue 4 */
static void test_detection_options_parse(void **state)
{
    (void)state;
    struct sl_options o;
    assert_int_equal(parse(&o, "fd_threshold=90:max_sockets=500:report_interval=30s:max_age=10m:idle_after=90s:"
                               "scan_method=sock_diag"),
                     0);
    assert_int_equal(o.fd_threshold, 90);
    assert_int_equal(o.max_sockets, 500);
    assert_int_equal(o.report_interval, 30 * SL_SEC);
    assert_int_equal(o.max_age, 600 * SL_SEC);
    assert_int_equal(o.idle_after, 90 * SL_SEC);
    assert_int_equal(o.scan_method, SL_SCAN_SOCK_DIAG);
    assert_int_equal(parse(&o, "scan_method=tcp_info"), 0);
    assert_int_equal(o.scan_method, SL_SCAN_TCP_INFO);
    assert_int_equal(parse(&o, "fd_threshold=101:scan_method=fast:max_sockets=-1:max_age=-1s"), 4);
    assert_int_equal(o.fd_threshold, 80);
    assert_int_equal(o.scan_method, SL_SCAN_AUTO);
}

/* the operations options of issue 6 */
static void test_metrics_path_parses(void **state)
{
    (void)state;
    struct sl_options o;
    assert_int_equal(parse(&o, "metrics_path=/var/lib/node-exporter/sockleak-%p.prom"), 0);
    assert_string_equal(o.metrics_path, "/var/lib/node-exporter/sockleak-%p.prom");
    assert_int_equal(parse(&o, "metrics_path=none"), 0);
    assert_string_equal(o.metrics_path, "");
    assert_int_equal(parse(&o, "metrics_path=/a:b"), 1); /* ':' splits: "b" is not key=value */
    assert_int_equal(parse(&o, "metrics_path='/a:b.prom'"), 0);
    assert_string_equal(o.metrics_path, "/a:b.prom");
}

static void test_syslog_parses(void **state)
{
    (void)state;
    struct sl_options o;
    assert_int_equal(parse(&o, "syslog=1"), 0);
    assert_string_equal(o.syslog_path, "/dev/log");
    assert_int_equal(parse(&o, "syslog=on"), 0);
    assert_string_equal(o.syslog_path, "/dev/log");
    assert_int_equal(parse(&o, "syslog=0"), 0);
    assert_string_equal(o.syslog_path, "");
    assert_int_equal(parse(&o, "syslog=/run/systemd/journal/dev-log"), 0);
    assert_string_equal(o.syslog_path, "/run/systemd/journal/dev-log");
    assert_int_equal(parse(&o, "syslog=relative/log"), 1); /* a socket path must be absolute */
    assert_line_has(0, "syslog", "relative/log", NULL);
    assert_string_equal(o.syslog_path, "");
    char long_path[200];
    memset(long_path, 'a', sizeof(long_path) - 1);
    long_path[0] = '/';
    long_path[sizeof(long_path) - 1] = '\0';
    char text[256];
    snprintf(text, sizeof(text), "syslog=%s", long_path);
    assert_int_equal(parse(&o, text), 1); /* longer than sun_path */
    assert_string_equal(o.syslog_path, "");
}

/* ---- defaults ---- */

static void test_defaults_match_the_table(void **state)
{
    (void)state;
    struct sl_options o;
    memset(&o, 0x5a, sizeof(o));
    sl_options_defaults(&o);
    assert_defaults(&o);
}

static void test_option_names_list_every_key(void **state)
{
    (void)state;
    static const char *want[] = { "log_path", "format", "report_at_exit", "dump_signal", "close_wait_after",
                                  "scan_interval", "stack_depth", "verbose", "max_tracked", "fd_threshold",
                                  "max_sockets", "report_interval", "max_age", "idle_after", "scan_method",
                                  "own_fd_table", "source_lines", "suppressions", "metrics_path", "syslog",
                                  "unwinder", "default_suppressions", "follow_children", "python_frames",
                                  "java_frames", "node_frames", "native_frames" };
    for (size_t i = 0; i < SL_ARRAY_LEN(want); i++) {
        assert_non_null(sl_option_name(i));
        assert_string_equal(sl_option_name(i), want[i]);
    }
    assert_null(sl_option_name(SL_ARRAY_LEN(want)));
}

static void test_parse_null_gives_defaults(void **state)
{
    (void)state;
    struct sl_options o;
    memset(&o, 0x5a, sizeof(o));
    assert_int_equal(parse(&o, NULL), 0);
    assert_int_equal(nlines, 0);
    assert_defaults(&o);
}

static void test_parse_empty_string_is_clean(void **state)
{
    (void)state;
    struct sl_options o;
    memset(&o, 0x5a, sizeof(o));
    assert_int_equal(parse(&o, ""), 0);
    assert_int_equal(nlines, 0);
    assert_defaults(&o);
}

static void test_parse_only_separators_is_clean(void **state)
{
    (void)state;
    struct sl_options o;
    assert_int_equal(parse(&o, " ::\t\n\r: "), 0);
    assert_int_equal(nlines, 0);
    assert_defaults(&o);
}

static void test_parse_starts_from_defaults(void **state)
{
    (void)state;
    struct sl_options o;
    assert_int_equal(parse(&o, "verbose=2"), 0);
    assert_int_equal(parse(&o, "stack_depth=4"), 0);
    assert_int_equal(o.verbose, 0); /* the first parse's value does not leak into the second */
    assert_int_equal(o.stack_depth, 4);
}

/* ---- valid values for each key ---- */

static void test_log_path_values(void **state)
{
    (void)state;
    struct sl_options o;
    assert_int_equal(parse(&o, "log_path=stdout"), 0);
    assert_string_equal(o.log_path, "stdout");
    assert_int_equal(parse(&o, "log_path=/tmp/sockleak.%p.log"), 0);
    assert_string_equal(o.log_path, "/tmp/sockleak.%p.log");
    char text[1100] = "log_path=/";
    memset(text + 10, 'a', 1022); /* path of 1023 bytes: the longest that fits */
    text[10 + 1022] = '\0';
    assert_int_equal(parse(&o, text), 0);
    assert_int_equal(strlen(o.log_path), 1023);
}

static void test_format_values(void **state)
{
    (void)state;
    struct sl_options o;
    assert_int_equal(parse(&o, "format=json"), 0);
    assert_int_equal(o.format, SL_FMT_JSON);
    assert_int_equal(parse(&o, "format=JSONL"), 0);
    assert_int_equal(o.format, SL_FMT_JSON);
    assert_int_equal(parse(&o, "format=json:format=Text"), 0);
    assert_int_equal(o.format, SL_FMT_TEXT);
}

static void test_report_at_exit_values(void **state)
{
    (void)state;
    struct sl_options o;
    static const char *off[] = { "0", "false", "no", "off", "OFF" }, *on[] = { "1", "true", "yes", "on", "Yes" };
    char text[64];
    for (size_t i = 0; i < SL_ARRAY_LEN(off); i++) {
        snprintf(text, sizeof(text), "report_at_exit=%s", off[i]);
        assert_int_equal(parse(&o, text), 0);
        assert_int_equal(o.report_at_exit, 0);
        snprintf(text, sizeof(text), "report_at_exit=0:report_at_exit=%s", on[i]);
        assert_int_equal(parse(&o, text), 0);
        assert_int_equal(o.report_at_exit, 1);
    }
}

static void test_dump_signal_values(void **state)
{
    (void)state;
    struct sl_options o;
    assert_int_equal(parse(&o, "dump_signal=SIGUSR1"), 0);
    assert_int_equal(o.dump_signal, SIGUSR1);
    assert_int_equal(parse(&o, "dump_signal=hup"), 0);
    assert_int_equal(o.dump_signal, SIGHUP);
    assert_int_equal(parse(&o, "dump_signal=10"), 0);
    assert_int_equal(o.dump_signal, 10);
    assert_int_equal(parse(&o, "dump_signal=SIGRTMIN+2"), 0);
    assert_int_equal(o.dump_signal, SIGRTMIN + 2);
    assert_int_equal(parse(&o, "dump_signal=none"), 0);
    assert_int_equal(o.dump_signal, 0);
    assert_int_equal(parse(&o, "dump_signal=0"), 0);
    assert_int_equal(o.dump_signal, 0);
}

static void test_duration_keys_values(void **state)
{
    (void)state;
    struct sl_options o;
    assert_int_equal(parse(&o, "close_wait_after=250ms:scan_interval=2m"), 0);
    assert_int_equal(o.close_wait_after, 250 * SL_MS);
    assert_int_equal(o.scan_interval, 120 * SL_SEC);
    assert_int_equal(parse(&o, "close_wait_after=1.5:scan_interval=0"), 0);
    assert_int_equal(o.close_wait_after, 1500 * SL_MS);
    assert_int_equal(o.scan_interval, 0);
}

static void test_integer_keys_values(void **state)
{
    (void)state;
    struct sl_options o;
    assert_int_equal(parse(&o, "stack_depth=0:verbose=2:max_tracked=1000"), 0);
    assert_int_equal(o.stack_depth, 0);
    assert_int_equal(o.verbose, 2);
    assert_int_equal(o.max_tracked, 1000);
    assert_int_equal(parse(&o, "stack_depth=64:verbose=1:max_tracked=1073741824"), 0);
    assert_int_equal(o.stack_depth, SL_MAX_DEPTH);
    assert_int_equal(o.verbose, 1);
    assert_int_equal(o.max_tracked, 1L << 30);
}

/* ---- separators and quotes ---- */

static void test_colon_separates_pairs(void **state)
{
    (void)state;
    struct sl_options o;
    assert_int_equal(parse(&o, "verbose=1:format=json::stack_depth=8:"), 0);
    assert_int_equal(o.verbose, 1);
    assert_int_equal(o.format, SL_FMT_JSON);
    assert_int_equal(o.stack_depth, 8);
}

static void test_whitespace_separates_pairs(void **state)
{
    (void)state;
    struct sl_options o;
    assert_int_equal(parse(&o, "  verbose=2 format=json\tstack_depth=3\nmax_tracked=7\r\nreport_at_exit=0 "), 0);
    assert_int_equal(o.verbose, 2);
    assert_int_equal(o.format, SL_FMT_JSON);
    assert_int_equal(o.stack_depth, 3);
    assert_int_equal(o.max_tracked, 7);
    assert_int_equal(o.report_at_exit, 0);
}

static void test_single_quoted_value_keeps_colon(void **state)
{
    (void)state;
    struct sl_options o;
    assert_int_equal(parse(&o, "log_path='/tmp/a:b.log':verbose=1"), 0);
    assert_string_equal(o.log_path, "/tmp/a:b.log");
    assert_int_equal(o.verbose, 1);
}

static void test_double_quoted_value_keeps_separators(void **state)
{
    (void)state;
    struct sl_options o;
    assert_int_equal(parse(&o, "verbose=1 log_path=\"/tmp/my logs:x/r.log\" stack_depth=5"), 0);
    assert_string_equal(o.log_path, "/tmp/my logs:x/r.log");
    assert_int_equal(o.verbose, 1);
    assert_int_equal(o.stack_depth, 5);
}

/* ---- problems: one line each, key keeps its default, others apply ---- */

static void test_unknown_key_is_one_problem(void **state)
{
    (void)state;
    struct sl_options o;
    assert_int_equal(parse(&o, "verbose=1:colour=blue:stack_depth=4"), 1);
    assert_int_equal(nlines, 1);
    assert_line_has(0, "unknown option", "'colour'", NULL);
    assert_int_equal(o.verbose, 1);
    assert_int_equal(o.stack_depth, 4);
}

static void test_missing_equals_is_one_problem(void **state)
{
    (void)state;
    struct sl_options o;
    assert_int_equal(parse(&o, "format=json:verbose:stack_depth=2"), 1);
    assert_int_equal(nlines, 1);
    assert_line_has(0, "'verbose'", "not key=value", NULL);
    assert_int_equal(o.verbose, 0);
    assert_int_equal(o.format, SL_FMT_JSON);
    assert_int_equal(o.stack_depth, 2);
}

static void test_bad_bool_value(void **state)
{
    (void)state;
    struct sl_options o;
    assert_int_equal(parse(&o, "report_at_exit=maybe:verbose=2"), 1);
    assert_int_equal(nlines, 1);
    assert_line_has(0, "report_at_exit", "'maybe'", NULL);
    assert_int_equal(o.report_at_exit, 1);
    assert_int_equal(o.verbose, 2);
}

static void test_bad_int_value(void **state)
{
    (void)state;
    struct sl_options o;
    assert_int_equal(parse(&o, "verbose=lots:stack_depth=1x:format=json"), 2);
    assert_int_equal(nlines, 2);
    assert_line_has(0, "verbose", "'lots'", NULL);
    assert_line_has(1, "stack_depth", "'1x'", NULL);
    assert_int_equal(o.verbose, 0);
    assert_int_equal(o.stack_depth, 16);
    assert_int_equal(o.format, SL_FMT_JSON);
}

static void test_bad_long_value(void **state)
{
    (void)state;
    struct sl_options o;
    assert_int_equal(parse(&o, "max_tracked=many:verbose=1"), 1);
    assert_line_has(0, "max_tracked", "'many'", NULL);
    assert_int_equal(parse(&o, "max_tracked=1073741825:verbose=1"), 1);
    assert_int_equal(nlines, 1);
    assert_line_has(0, "max_tracked", "'1073741825'", NULL);
    assert_int_equal(o.max_tracked, 0);
    assert_int_equal(o.verbose, 1);
}

static void test_int_out_of_range(void **state)
{
    (void)state;
    struct sl_options o;
    assert_int_equal(parse(&o, "stack_depth=65 verbose=3 max_tracked=-1 scan_interval=3s"), 3);
    assert_int_equal(nlines, 3);
    assert_line_has(0, "stack_depth", "'65'", NULL);
    assert_line_has(1, "verbose", "'3'", NULL);
    assert_line_has(2, "max_tracked", "'-1'", NULL);
    assert_int_equal(o.stack_depth, 16);
    assert_int_equal(o.verbose, 0);
    assert_int_equal(o.max_tracked, 0);
    assert_int_equal(o.scan_interval, 3 * SL_SEC);
}

static void test_negative_duration(void **state)
{
    (void)state;
    struct sl_options o;
    assert_int_equal(parse(&o, "close_wait_after=-5s:verbose=1"), 1);
    assert_int_equal(nlines, 1);
    assert_line_has(0, "close_wait_after", "'-5s'", NULL);
    assert_int_equal(o.close_wait_after, 5 * SL_SEC);
    assert_int_equal(o.verbose, 1);
}

static void test_duration_with_unknown_unit(void **state)
{
    (void)state;
    struct sl_options o;
    assert_int_equal(parse(&o, "scan_interval=5d:close_wait_after=9x:verbose=1"), 2);
    assert_int_equal(nlines, 2);
    assert_line_has(0, "scan_interval", "'5d'", NULL);
    assert_line_has(1, "close_wait_after", "'9x'", NULL);
    assert_int_equal(o.scan_interval, 1 * SL_SEC);
    assert_int_equal(o.close_wait_after, 5 * SL_SEC);
    assert_int_equal(o.verbose, 1);
}

static void test_empty_values(void **state)
{
    (void)state;
    struct sl_options o;
    assert_int_equal(parse(&o, "log_path=:scan_interval=:verbose=2"), 2);
    assert_int_equal(nlines, 2);
    assert_line_has(0, "log_path", "''", NULL);
    assert_line_has(1, "scan_interval", "''", NULL);
    assert_string_equal(o.log_path, "stderr");
    assert_int_equal(o.scan_interval, 1 * SL_SEC);
    assert_int_equal(o.verbose, 2);
}

static void test_bad_format_value(void **state)
{
    (void)state;
    struct sl_options o;
    assert_int_equal(parse(&o, "format=xml:verbose=1"), 1);
    assert_int_equal(nlines, 1);
    assert_line_has(0, "format", "'xml'", NULL);
    assert_int_equal(o.format, SL_FMT_TEXT);
    assert_int_equal(o.verbose, 1);
}

static void test_log_path_too_long(void **state)
{
    (void)state;
    struct sl_options o;
    char text[1200] = "verbose=1:log_path=/";
    size_t n = strlen(text);
    memset(text + n, 'b', 1023); /* 1024 bytes of path: one too many */
    text[n + 1023] = '\0';
    assert_int_equal(parse(&o, text), 1);
    assert_int_equal(nlines, 1);
    assert_line_has(0, "log_path", "'/bbbb", "...", NULL);
    assert_string_equal(o.log_path, "stderr");
    assert_int_equal(o.verbose, 1);
}

static void test_unknown_signal(void **state)
{
    (void)state;
    struct sl_options o;
    assert_int_equal(parse(&o, "dump_signal=SIGFOO:verbose=1"), 1);
    assert_int_equal(nlines, 1);
    assert_line_has(0, "dump_signal", "'SIGFOO'", NULL);
    assert_int_equal(o.dump_signal, SIGUSR2);
    assert_int_equal(o.verbose, 1);
}

static void test_uncatchable_and_fault_signals_refused(void **state)
{
    (void)state;
    struct sl_options o;
    assert_int_equal(parse(&o, "dump_signal=SIGKILL dump_signal=SEGV dump_signal=9 dump_signal=11 verbose=1"), 4);
    assert_int_equal(nlines, 4);
    assert_line_has(0, "dump_signal", "'SIGKILL'", NULL);
    assert_line_has(1, "dump_signal", "'SEGV'", NULL);
    assert_line_has(2, "dump_signal", "'9'", NULL);
    assert_line_has(3, "dump_signal", "'11'", NULL);
    assert_int_equal(o.dump_signal, SIGUSR2);
    assert_int_equal(o.verbose, 1);
}

static void test_unterminated_quote(void **state)
{
    (void)state;
    struct sl_options o;
    assert_int_equal(parse(&o, "verbose=1:log_path='/tmp/x:stack_depth=3"), 1);
    assert_int_equal(nlines, 1);
    assert_line_has(0, "unterminated quote", "'log_path'", NULL);
    assert_string_equal(o.log_path, "stderr");
    assert_int_equal(o.stack_depth, 16); /* swallowed by the open quote */
    assert_int_equal(o.verbose, 1);
}

static void test_non_utf8_key_is_made_printable(void **state)
{
    (void)state;
    struct sl_options o;
    assert_int_equal(parse(&o, "verb\xff\xfeose=1:stack_depth=2"), 1);
    assert_int_equal(nlines, 1);
    assert_line_has(0, "unknown option", "'verb\\xff\\xfeose'", NULL);
    assert_lines_printable();
    assert_int_equal(o.verbose, 0);
    assert_int_equal(o.stack_depth, 2);
}

static void test_non_utf8_value_is_made_printable(void **state)
{
    (void)state;
    struct sl_options o;
    assert_int_equal(parse(&o, "format=\xc3\x28\x80:verbose=2"), 1);
    assert_int_equal(nlines, 1);
    assert_line_has(0, "format", "'\\xc3(\\x80'", NULL);
    assert_lines_printable();
    assert_int_equal(o.format, SL_FMT_TEXT);
    assert_int_equal(o.verbose, 2);
}

static void test_control_bytes_are_made_printable(void **state)
{
    (void)state;
    struct sl_options o;
    assert_int_equal(parse(&o, "format=\x1b[31mred\x07:verbose=2"), 1);
    assert_int_equal(nlines, 1);
    assert_line_has(0, "format", "'\\x1b[31mred\\x07'", NULL);
    assert_lines_printable();
    assert_int_equal(o.verbose, 2);
}

static void test_one_megabyte_value(void **state)
{
    (void)state;
    struct sl_options o;
    size_t big = 1 << 20;
    char *text = malloc(big + 64);
    assert_non_null(text);
    strcpy(text, "verbose=2:stack_depth=");
    size_t n = strlen(text);
    memset(text + n, '7', big);
    strcpy(text + n + big, ":format=json");
    assert_int_equal(parse(&o, text), 1);
    free(text);
    assert_int_equal(nlines, 1);
    assert_line_has(0, "stack_depth", "'7777", "...", NULL);
    assert_true(strlen(lines[0]) < 400); /* the echo is cut short */
    assert_int_equal(o.stack_depth, 16);
    assert_int_equal(o.verbose, 2);
    assert_int_equal(o.format, SL_FMT_JSON);
}

static void test_one_megabyte_key(void **state)
{
    (void)state;
    struct sl_options o;
    size_t big = 1 << 20;
    char *text = malloc(big + 64);
    assert_non_null(text);
    memset(text, 'k', big);
    strcpy(text + big, "=1 verbose=1");
    assert_int_equal(parse(&o, text), 1);
    free(text);
    assert_int_equal(nlines, 1);
    assert_line_has(0, "unknown option", "'kkkk", "...", NULL);
    assert_true(strlen(lines[0]) < 400);
    assert_int_equal(o.verbose, 1);
}

static void test_one_megabyte_of_junk_words(void **state)
{
    (void)state;
    struct sl_options o;
    size_t big = 1 << 20;
    char *text = malloc(big + 1);
    assert_non_null(text);
    for (size_t i = 0; i < big; i += 2)
        text[i] = 'x', text[i + 1] = ' ';
    text[big] = '\0';
    assert_int_equal(parse(&o, text), (int)(big / 2));
    free(text);
    assert_int_equal(nlines, 9); /* 8 lines and the summary */
    assert_line_has(8, "524280 more problems not shown", NULL);
    assert_defaults(&o);
}

static void test_more_than_eight_problems_are_summarized(void **state)
{
    (void)state;
    struct sl_options o;
    assert_int_equal(parse(&o, "k0=1:k1=1:k2=1:k3=1:k4=1:verbose=2:k5=1:k6=1:k7=1:k8=1:k9=1"), 10);
    assert_int_equal(nlines, 9);
    char key[16];
    for (int i = 0; i < 8; i++) {
        snprintf(key, sizeof(key), "'k%d'", i);
        assert_line_has(i, "unknown option", key, NULL);
    }
    assert_line_has(8, "2 more problems not shown", NULL);
    assert_int_equal(o.verbose, 2);
}

static void test_eight_problems_have_no_summary(void **state)
{
    (void)state;
    struct sl_options o;
    assert_int_equal(parse(&o, "k0=1 k1=1 k2=1 k3=1 k4=1 k5=1 k6=1 k7=1"), 8);
    assert_int_equal(nlines, 8);
    assert_line_has(7, "'k7'", NULL);
    for (int i = 0; i < nlines; i++)
        assert_null(strstr(lines[i], "not shown"));
}

static void test_null_warn_still_counts(void **state)
{
    (void)state;
    struct sl_options o;
    assert_int_equal(sl_options_parse(&o, "a=1 b c=3 d=4 e=5 f=6 g=7 h=8 i=9 j=10 verbose=1", NULL), 10);
    assert_int_equal(o.verbose, 1);
}

/* ---- sl_parse_duration ---- */

static void assert_duration(const char *s, int64_t want)
{
    int64_t ns = -1;
    int r = sl_parse_duration(s, &ns);
    if (r != 0)
        fail_msg("sl_parse_duration(\"%s\") = %d, want 0", s, r);
    if (ns != want)
        fail_msg("sl_parse_duration(\"%s\") gave %lld ns, want %lld", s, (long long)ns, (long long)want);
}

static void assert_duration_bad(const char *s, int want)
{
    int64_t ns = 12345;
    int r = sl_parse_duration(s, &ns);
    if (r != want)
        fail_msg("sl_parse_duration(\"%s\") = %d, want %d", s, r, want);
    assert_int_equal(ns, 12345); /* untouched on error */
}

static void test_parse_duration_units(void **state)
{
    (void)state;
    assert_duration("500ms", 500 * SL_MS);
    assert_duration("5s", 5 * SL_SEC);
    assert_duration("2m", 120 * SL_SEC);
    assert_duration("1h", 3600 * SL_SEC);
    assert_duration("0", 0);
    assert_duration("0ms", 0);
}

static void test_parse_duration_bare_number_is_seconds(void **state)
{
    (void)state;
    assert_duration("10", 10 * SL_SEC);
    assert_duration("0.25", 250 * SL_MS);
}

static void test_parse_duration_fractions(void **state)
{
    (void)state;
    assert_duration("1.5s", 1500 * SL_MS);
    assert_duration("1.5m", 90 * SL_SEC);
    assert_duration("0.5h", 1800 * SL_SEC);
    assert_duration("2.5ms", 2500000);
    assert_duration("0.7s", 700 * SL_MS);
    assert_duration("0.001s", 1 * SL_MS);
}

/* "0.071m" is 4.26 s exactly: a fraction times the unit must not lose a nanosecond */
static void test_parse_duration_fractions_are_exact_in_minutes_and_hours(void **state)
{
    (void)state;
    assert_duration("0.071m", 4260 * SL_MS);
    assert_duration("0.285m", 17100 * SL_MS);
    assert_duration("0.009h", 32400 * SL_MS);
    assert_duration("0.145h", 522 * SL_SEC);
}

static void test_parse_duration_rejects_bad_syntax(void **state)
{
    (void)state;
    static const char *bad[] = { "", "s", "ms", "-1s", "+1s", ".5s", "1.s", "5x", "5 s", " 5s", "5sec",
                                 "1e3", "5S", "1..2", "0x10", "5d" };
    for (size_t i = 0; i < SL_ARRAY_LEN(bad); i++)
        assert_duration_bad(bad[i], -EINVAL);
}

static void test_parse_duration_caps_at_thirty_days(void **state)
{
    (void)state;
    assert_duration("720h", 30LL * 86400 * SL_SEC);
    assert_duration("2592000", 30LL * 86400 * SL_SEC);
    assert_duration_bad("744h", -ERANGE);      /* 31 days */
    assert_duration_bad("2678400s", -ERANGE);  /* 31 days */
    assert_duration_bad("44640m", -ERANGE);    /* 31 days */
    assert_duration_bad("720.5h", -ERANGE);
    assert_duration_bad("2592001", -ERANGE);
    assert_duration_bad("99999999999999999999999", -ERANGE);
}

/* ---- sl_parse_signal / sl_signal_name ---- */

static void assert_signal(const char *s, int want)
{
    int sig = -1;
    int r = sl_parse_signal(s, &sig);
    if (r != 0)
        fail_msg("sl_parse_signal(\"%s\") = %d, want 0", s, r);
    if (sig != want)
        fail_msg("sl_parse_signal(\"%s\") gave %d, want %d", s, sig, want);
}

static void assert_signal_bad(const char *s)
{
    int sig = -1;
    int r = sl_parse_signal(s, &sig);
    if (r != -EINVAL)
        fail_msg("sl_parse_signal(\"%s\") = %d (signal %d), want -EINVAL", s, r, sig);
}

static void test_parse_signal_names(void **state)
{
    (void)state;
    assert_signal("SIGUSR2", SIGUSR2);
    assert_signal("USR2", SIGUSR2);
    assert_signal("usr2", SIGUSR2);
    assert_signal("SigUsr1", SIGUSR1);
    assert_signal("SIGTERM", SIGTERM);
    assert_signal("WINCH", SIGWINCH);
}

static void test_parse_signal_numbers(void **state)
{
    (void)state;
    assert_signal("12", 12);
    assert_signal("1", SIGHUP);
}

static void test_parse_signal_realtime(void **state)
{
    (void)state;
    assert_signal("SIGRTMIN+3", SIGRTMIN + 3);
    assert_signal("RTMAX-1", SIGRTMAX - 1);
    assert_signal("rtmin", SIGRTMIN);
    assert_signal("SIGRTMAX", SIGRTMAX);
    assert_signal("SIGRTMIN+0", SIGRTMIN);
}

static void test_parse_signal_none(void **state)
{
    (void)state;
    assert_signal("none", 0);
    assert_signal("NONE", 0);
    assert_signal("0", 0);
}

static void test_parse_signal_rejects_bad(void **state)
{
    (void)state;
    static const char *bad[] = { "", "SIG", "SIGFOO", "USR3", "-1", "65", "12x", "0x0c", "RTMIN-1", "RTMAX+1",
                                 "RTMIN+99", "RTMIN+", "RTMINX", "SIGUSR2 " };
    for (size_t i = 0; i < SL_ARRAY_LEN(bad); i++)
        assert_signal_bad(bad[i]);
}

static void test_parse_signal_refuses_uncatchable_and_faults(void **state)
{
    (void)state;
    static const char *bad[] = { "SIGKILL", "KILL", "9", "SIGSTOP", "19", "SIGSEGV", "segv", "11",
                                 "SIGBUS", "SIGFPE", "SIGILL", "SIGTRAP", "SIGSYS" };
    for (size_t i = 0; i < SL_ARRAY_LEN(bad); i++)
        assert_signal_bad(bad[i]);
}

static void test_signal_name(void **state)
{
    (void)state;
    assert_string_equal(sl_signal_name(SIGUSR2), "SIGUSR2");
    assert_string_equal(sl_signal_name(SIGINT), "SIGINT");
    assert_string_equal(sl_signal_name(SIGKILL), "SIGKILL");
    assert_string_equal(sl_signal_name(SIGRTMIN + 3), "SIGRTMIN+3");
    assert_string_equal(sl_signal_name(SIGRTMIN), "SIGRTMIN+0");
    assert_string_equal(sl_signal_name(0), "SIG?");
    assert_string_equal(sl_signal_name(NSIG + 5), "SIG?");
    assert_string_equal(sl_signal_name(-1), "SIG?");
}

static void test_signal_name_parses_back(void **state)
{
    (void)state;
    for (int sig = 1; sig < NSIG; sig++) {
        int back = -1;
        if (sl_parse_signal(sl_signal_name(sig), &back) != 0)
            continue; /* refused (SIGKILL, ...) or glibc-reserved */
        if (back != sig)
            fail_msg("signal %d is named %s, which parses as %d", sig, sl_signal_name(sig), back);
    }
    int back = -1;
    assert_int_equal(sl_parse_signal(sl_signal_name(SIGRTMAX), &back), 0);
    assert_int_equal(back, SIGRTMAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_defaults_match_the_table, reset, reset),
        cmocka_unit_test_setup_teardown(test_option_names_list_every_key, reset, reset),
        cmocka_unit_test_setup_teardown(test_detection_options_parse, reset, reset),
        cmocka_unit_test_setup_teardown(test_language_options_parse, reset, reset),
        cmocka_unit_test_setup_teardown(test_metrics_path_parses, reset, reset),
        cmocka_unit_test_setup_teardown(test_syslog_parses, reset, reset),
        cmocka_unit_test_setup_teardown(test_parse_null_gives_defaults, reset, reset),
        cmocka_unit_test_setup_teardown(test_parse_empty_string_is_clean, reset, reset),
        cmocka_unit_test_setup_teardown(test_parse_only_separators_is_clean, reset, reset),
        cmocka_unit_test_setup_teardown(test_parse_starts_from_defaults, reset, reset),
        cmocka_unit_test_setup_teardown(test_log_path_values, reset, reset),
        cmocka_unit_test_setup_teardown(test_format_values, reset, reset),
        cmocka_unit_test_setup_teardown(test_report_at_exit_values, reset, reset),
        cmocka_unit_test_setup_teardown(test_dump_signal_values, reset, reset),
        cmocka_unit_test_setup_teardown(test_duration_keys_values, reset, reset),
        cmocka_unit_test_setup_teardown(test_integer_keys_values, reset, reset),
        cmocka_unit_test_setup_teardown(test_colon_separates_pairs, reset, reset),
        cmocka_unit_test_setup_teardown(test_whitespace_separates_pairs, reset, reset),
        cmocka_unit_test_setup_teardown(test_single_quoted_value_keeps_colon, reset, reset),
        cmocka_unit_test_setup_teardown(test_double_quoted_value_keeps_separators, reset, reset),
        cmocka_unit_test_setup_teardown(test_unknown_key_is_one_problem, reset, reset),
        cmocka_unit_test_setup_teardown(test_missing_equals_is_one_problem, reset, reset),
        cmocka_unit_test_setup_teardown(test_bad_bool_value, reset, reset),
        cmocka_unit_test_setup_teardown(test_bad_int_value, reset, reset),
        cmocka_unit_test_setup_teardown(test_bad_long_value, reset, reset),
        cmocka_unit_test_setup_teardown(test_int_out_of_range, reset, reset),
        cmocka_unit_test_setup_teardown(test_negative_duration, reset, reset),
        cmocka_unit_test_setup_teardown(test_duration_with_unknown_unit, reset, reset),
        cmocka_unit_test_setup_teardown(test_empty_values, reset, reset),
        cmocka_unit_test_setup_teardown(test_bad_format_value, reset, reset),
        cmocka_unit_test_setup_teardown(test_log_path_too_long, reset, reset),
        cmocka_unit_test_setup_teardown(test_unknown_signal, reset, reset),
        cmocka_unit_test_setup_teardown(test_uncatchable_and_fault_signals_refused, reset, reset),
        cmocka_unit_test_setup_teardown(test_unterminated_quote, reset, reset),
        cmocka_unit_test_setup_teardown(test_non_utf8_key_is_made_printable, reset, reset),
        cmocka_unit_test_setup_teardown(test_non_utf8_value_is_made_printable, reset, reset),
        cmocka_unit_test_setup_teardown(test_control_bytes_are_made_printable, reset, reset),
        cmocka_unit_test_setup_teardown(test_one_megabyte_value, reset, reset),
        cmocka_unit_test_setup_teardown(test_one_megabyte_key, reset, reset),
        cmocka_unit_test_setup_teardown(test_one_megabyte_of_junk_words, reset, reset),
        cmocka_unit_test_setup_teardown(test_more_than_eight_problems_are_summarized, reset, reset),
        cmocka_unit_test_setup_teardown(test_eight_problems_have_no_summary, reset, reset),
        cmocka_unit_test_setup_teardown(test_null_warn_still_counts, reset, reset),
        cmocka_unit_test(test_parse_duration_units),
        cmocka_unit_test(test_parse_duration_bare_number_is_seconds),
        cmocka_unit_test(test_parse_duration_fractions),
        cmocka_unit_test(test_parse_duration_fractions_are_exact_in_minutes_and_hours),
        cmocka_unit_test(test_parse_duration_rejects_bad_syntax),
        cmocka_unit_test(test_parse_duration_caps_at_thirty_days),
        cmocka_unit_test(test_parse_signal_names),
        cmocka_unit_test(test_parse_signal_numbers),
        cmocka_unit_test(test_parse_signal_realtime),
        cmocka_unit_test(test_parse_signal_none),
        cmocka_unit_test(test_parse_signal_rejects_bad),
        cmocka_unit_test(test_parse_signal_refuses_uncatchable_and_faults),
        cmocka_unit_test(test_signal_name),
        cmocka_unit_test(test_signal_name_parses_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
