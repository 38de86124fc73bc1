/*
 * test_syslog.c - unit tests for syslog.c: the one-line report summary (option syslog).
 *
 * Covers the line (RFC 3164 framing as glibc's syslog() sends it: <PRI>, an English
 * timestamp, "sockleak[PID]: "; severity warning with leaks, info without; the program,
 * the leak counts by kind, where the worst leak was opened, where the report went; never
 * more than one line, cut to the buffer), and delivery: a datagram really received on a
 * socket bound where syslog_path points, sent from a private fd.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/tcp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "report/report.h"

static void assert_has(const char *hay, const char *needle)
{
    if (!strstr(hay, needle))
        fail_msg("missing \"%s\" in: %s", needle, hay);
}

static __attribute__((noinline, used)) int leaky_site(int x)
{
    __asm__ volatile("" : "+r"(x));
    return x + 1;
}

static int group_setup(void **state)
{
    (void)state;
    sl_options_defaults(&sl_opt);
    sl_opt.scan_interval = 0;
    snprintf(sl_program, sizeof(sl_program), "svc");
    return sl_fdstate_init() == 0 && sl_stacks_init() == 0 ? 0 : -1;
}

/* A report of n sockets on one stack, the first `leaked` of them leaked in CLOSE_WAIT. */
static void model(struct sl_report *r, int n, int leaked, int reason)
{
    sl_report_begin(r, reason); /* the options and program name in force: svc */
    r->pid = 777;
    uintptr_t ip[2] = { (uintptr_t)leaky_site + 1, 0x9000 };
    uint32_t stack = sl_stack_intern(ip, 2);
    r->socks = sl_big_calloc((size_t)n, sizeof(*r->socks));
    assert_non_null(r->socks);
    for (int k = 0; k < n; k++) {
        struct sl_rsock *s = &r->socks[k];
        s->rec.fd = 10 + k;
        s->rec.family = AF_INET;
        s->rec.type = SOCK_STREAM;
        s->rec.stack = stack;
        s->state = k < leaked ? TCP_CLOSE_WAIT : TCP_ESTABLISHED;
        s->close_wait_ns = k < leaked ? 9 * SL_SEC : -1;
        s->peer_closed_ns = s->idle_ns = -1;
        s->leak = k < leaked ? SL_LEAK_CLOSE_WAIT : SL_LEAK_NONE;
        r->leaks[s->leak]++;
        r->leaked += k < leaked;
        r->close_wait += k < leaked;
        r->live++;
    }
    r->nsocks = (size_t)n;
    assert_int_equal(sl_report_group(r), 0);
}

static void test_line_with_leaks(void **state)
{
    (void)state;
    struct sl_report r;
    model(&r, 3, 2, SL_REASON_EXIT);
    char line[1024];
    size_t n = sl_syslog_format(&r, "/var/log/sockleak/777.jsonl", line, sizeof(line));
    assert_int_equal(n, strlen(line));
    assert_memory_equal(line, "<12>", 4); /* user.warning */
    static const char *months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    struct tm tm;
    time_t t = r.wall.tv_sec;
    localtime_r(&t, &tm);
    char stamp[32];
    snprintf(stamp, sizeof(stamp), "<12>%s %2d ", months[tm.tm_mon], tm.tm_mday);
    assert_memory_equal(line, stamp, strlen(stamp));
    assert_has(line, " sockleak[777]: svc (pid 777): 2 leaked sockets (close_wait 2) opened at leaky_site (");
    assert_has(line, "; 3 live, 2 in CLOSE_WAIT; exit report in /var/log/sockleak/777.jsonl");
    assert_has(line, r.stacks[r.groups[0].stack].id);
    assert_null(strchr(line, '\n'));
    sl_report_free(&r);
}

static void test_line_without_leaks_is_info(void **state)
{
    (void)state;
    struct sl_report r;
    model(&r, 2, 0, SL_REASON_SIGNAL);
    char line[1024];
    sl_syslog_format(&r, "stderr", line, sizeof(line));
    assert_memory_equal(line, "<14>", 4); /* user.info */
    assert_has(line, "svc (pid 777): no leaked sockets; 2 live, 0 in CLOSE_WAIT; signal report in stderr");
    sl_report_free(&r);
}

static void test_line_is_cut_and_stays_one_line(void **state)
{
    (void)state;
    struct sl_report r;
    model(&r, 1, 1, SL_REASON_API);
    char line[40];
    size_t n = sl_syslog_format(&r, "/tmp/a\nb", line, sizeof(line));
    assert_int_equal(n, sizeof(line) - 1);
    assert_int_equal(strlen(line), sizeof(line) - 1);
    char big[1024];
    sl_syslog_format(&r, "/tmp/a\nb", big, sizeof(big));
    assert_null(strchr(big, '\n'));
    assert_has(big, "report in /tmp/a b");
    sl_report_free(&r);
}

static void test_sent_to_the_socket(void **state)
{
    (void)state;
    char dir[] = "/tmp/sockleak-syslog-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/log", dir);
    int rx = socket(AF_UNIX, SOCK_DGRAM, 0);
    assert_true(rx >= 0);
    assert_int_equal(bind(rx, (struct sockaddr *)&sa, sizeof(sa)), 0);
    snprintf(sl_opt.syslog_path, sizeof(sl_opt.syslog_path), "%s", sa.sun_path);
    snprintf(sl_opt.log_path, sizeof(sl_opt.log_path), "/tmp/r.%%p.jsonl");
    struct sl_report r;
    model(&r, 1, 1, SL_REASON_API);
    errno = 1234;
    sl_syslog_report(&r);
    assert_int_equal(errno, 1234);
    char buf[2048];
    struct timeval tv = { 5, 0 };
    setsockopt(rx, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ssize_t n = recv(rx, buf, sizeof(buf) - 1, 0);
    assert_true(n > 0);
    buf[n] = '\0';
    char want[64];
    snprintf(want, sizeof(want), "api report in /tmp/r.%d.jsonl", (int)getpid());
    assert_has(buf, want);
    assert_has(buf, "1 leaked socket (close_wait 1)");
    /* sent from a private fd: one of the shim's own, high in the fd space */
    int priv[16];
    int np = sl_ownfd_list(priv, 16);
    assert_true(np >= 1);
    sl_report_free(&r);
    close(rx);
    unlink(sa.sun_path);
    rmdir(dir);
    sl_opt.syslog_path[0] = '\0';
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_with_leaks),
        cmocka_unit_test(test_line_without_leaks_is_info),
        cmocka_unit_test(test_line_is_cut_and_stays_one_line),
        cmocka_unit_test(test_sent_to_the_socket),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
