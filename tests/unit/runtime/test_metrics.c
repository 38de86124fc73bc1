/*
 * test_metrics.c - unit tests for metrics.c: the summary behind sockleak_stats() and
 * the Prometheus textfile (metrics_path).
 *
 * Covers counting (family and state buckets, CLOSE_WAIT and its oldest, leaks by kind,
 * ignored and listening sockets, distinct stacks), the text format (every sample after
 * its HELP and TYPE lines, the pid and program labels on every sample, label values
 * escaped, every leak kind present even at 0), a real scan of tracked sockets leaving
 * its summary as the latest view (a unix pair, a TCP connection in CLOSE_WAIT, one of
 * them ignored), and the file: written whole through FILE.tmp.<pid> and a rename, mode
 * 0644, %p expanded, no temporary file left behind. (promtool and node_exporter read
 * real files in tests/prometheus/check.sh.)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "runtime/runtime.h"

static void assert_has(const char *hay, const char *needle)
{
    if (!hay || !strstr(hay, needle))
        fail_msg("missing %s in:\n%s", needle, hay ? hay : "(null)");
}

static void assert_lacks(const char *hay, const char *needle)
{
    if (hay && strstr(hay, needle))
        fail_msg("unexpected %s in:\n%s", needle, hay);
}

/* ---- fixtures ---- */

static int real_fds[16];
static int nreal;
static char dir[64];

static int keep(int fd)
{
    assert_true(fd >= 0);
    real_fds[nreal++] = fd;
    return fd;
}

static int group_setup(void **state)
{
    (void)state;
    sl_options_defaults(&sl_opt);
    sl_opt.scan_interval = 0; /* the scanner thread stays idle: tests scan by hand */
    snprintf(sl_program, sizeof(sl_program), "unit-test");
    if (sl_fdstate_init() != 0 || sl_stacks_init() != 0)
        return -1;
    strcpy(dir, "/tmp/sockleak-metrics-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    rmdir(dir);
    return 0;
}

static int setup(void **state)
{
    (void)state;
    sl_opt.close_wait_after = 5 * SL_SEC;
    sl_opt.max_age = 0;
    sl_opt.metrics_path[0] = '\0';
    nreal = 0;
    return sl_fd_live() == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    struct sl_rec_info *v = NULL;
    long n = sl_fd_snapshot(&v);
    for (long i = 0; i < n; i++)
        sl_fd_release(sl_fd_detach(v[i].fd));
    if (n >= 0)
        sl_big_free(v);
    for (int i = 0; i < nreal; i++)
        if (real_fds[i] >= 0)
            close(real_fds[i]);
    nreal = 0;
    return 0;
}

static struct sl_rsock rsock(int fd, int family, int type, int state, int leak, uint32_t stack)
{
    struct sl_rsock s;
    memset(&s, 0, sizeof(s));
    s.rec.fd = fd;
    s.rec.family = (uint16_t)family;
    s.rec.type = (uint8_t)type;
    s.rec.stack = stack;
    s.state = state;
    s.close_wait_ns = s.peer_closed_ns = s.idle_ns = -1;
    s.leak = leak;
    return s;
}

/* A model: 2 inet ESTABLISHED (stack 1), 2 inet CLOSE_WAIT leaked (stack 2, 3s and
 * 7s), 1 inet6 LISTEN (stack 1), 1 unix stream (stack 3, ignored), 1 inet TCP whose
 * state was not read. */
static void model(struct sl_metrics *m)
{
    sl_metrics_begin(m, sl_now_ns());
    struct sl_rsock s[7] = {
        rsock(3, AF_INET, SOCK_STREAM, TCP_ESTABLISHED, 0, 1),
        rsock(4, AF_INET, SOCK_STREAM, TCP_ESTABLISHED, 0, 1),
        rsock(5, AF_INET, SOCK_STREAM, TCP_CLOSE_WAIT, SL_LEAK_CLOSE_WAIT, 2),
        rsock(6, AF_INET, SOCK_STREAM, TCP_CLOSE_WAIT, SL_LEAK_CLOSE_WAIT, 2),
        rsock(7, AF_INET6, SOCK_STREAM, TCP_LISTEN, 0, 1),
        rsock(8, AF_UNIX, SOCK_STREAM, 0, 0, 3),
        rsock(9, AF_INET, SOCK_STREAM, 0, 0, 1),
    };
    s[2].close_wait_ns = 3 * SL_SEC;
    s[3].close_wait_ns = 7 * SL_SEC;
    s[4].listening = true;
    s[5].rec.ignored = 1;
    for (size_t k = 0; k < SL_ARRAY_LEN(s); k++)
        sl_metrics_add(m, &s[k]);
    free(m->stack_seen);
    m->stack_seen = NULL;
    m->pid = 4321;
    m->program = "svc";
    m->open_fds = 12;
    m->fd_limit = 1024;
    m->reports = 2;
}

/* ---- counting ---- */

static void test_add_counts_by_family_state_and_kind(void **state)
{
    (void)state;
    struct sl_metrics m;
    model(&m);
    assert_int_equal(m.live, 7);
    assert_int_equal(m.by_family_state[0][TCP_ESTABLISHED], 2);
    assert_int_equal(m.by_family_state[0][TCP_CLOSE_WAIT], 2);
    assert_int_equal(m.by_family_state[0][SL_M_STATE_UNKNOWN], 1);
    assert_int_equal(m.by_family_state[1][TCP_LISTEN], 1);
    assert_int_equal(m.by_family_state[2][SL_M_STATE_NONE], 1);
    assert_int_equal(m.close_wait, 2);
    assert_int_equal(m.close_wait_oldest_ns, 7 * SL_SEC);
    assert_int_equal(m.leaked, 2);
    assert_int_equal(m.leaks[SL_LEAK_CLOSE_WAIT], 2);
    assert_int_equal(m.listening, 1);
    assert_int_equal(m.ignored, 1);
    assert_int_equal(m.stacks, 3);
}

static void test_scan_sock_classifies_like_reports(void **state)
{
    (void)state;
    struct sl_metrics m;
    int64_t now = sl_now_ns();
    sl_metrics_begin(&m, now);
    struct sl_rec_info i;
    memset(&i, 0, sizeof(i));
    i.fd = -1; /* never probed: SO_ACCEPTCONN fails, so "not listening" */
    i.family = AF_INET, i.type = SOCK_STREAM, i.created_ns = now - 10 * SL_SEC;
    sl_opt.close_wait_after = 2 * SL_SEC;
    sl_metrics_scan_sock(&m, &i, TCP_CLOSE_WAIT, now - 3 * SL_SEC, -1); /* leaked */
    sl_metrics_scan_sock(&m, &i, TCP_CLOSE_WAIT, now - 1 * SL_SEC, -1); /* not yet */
    i.ignored = 1;
    sl_metrics_scan_sock(&m, &i, TCP_CLOSE_WAIT, now - 9 * SL_SEC, -1); /* ignored: never */
    i.ignored = 0;
    i.family = AF_UNIX;
    sl_metrics_scan_sock(&m, &i, SL_STATE_PEER_CLOSED, now - 4 * SL_SEC, -1); /* leaked */
    sl_opt.max_age = 5 * SL_SEC;
    sl_metrics_scan_sock(&m, &i, SL_STATE_OPEN, 0, -1); /* 10s old: max_age */
    free(m.stack_seen);
    assert_int_equal(m.live, 5);
    assert_int_equal(m.close_wait, 3);
    assert_int_equal(m.leaked, 3);
    assert_int_equal(m.leaks[SL_LEAK_CLOSE_WAIT], 1);
    assert_int_equal(m.leaks[SL_LEAK_PEER_CLOSED], 1);
    assert_int_equal(m.leaks[SL_LEAK_MAX_AGE], 1);
    assert_int_equal(m.ignored, 1);
    assert_true(m.close_wait_oldest_ns >= 9 * SL_SEC);
}

/* A leaked half-closed socket's unread bytes are read at the scan (SIOCINQ), and only
 * a leaked one's. */
static void test_scan_reads_unread_bytes_of_leaked_sockets(void **state)
{
    (void)state;
    int sv[2], sw[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sw), 0);
    char data[100] = { 0 };
    assert_int_equal(write(sv[1], data, 100), 100);
    assert_int_equal(write(sw[1], data, 30), 30);
    close(sv[1]);
    close(sw[1]);
    struct sl_metrics m;
    int64_t now = sl_now_ns();
    sl_metrics_begin(&m, now);
    struct sl_rec_info i;
    memset(&i, 0, sizeof(i));
    i.family = AF_UNIX, i.type = SOCK_STREAM, i.created_ns = now - 10 * SL_SEC;
    sl_opt.close_wait_after = 2 * SL_SEC;
    sl_opt.max_age = 0;
    i.fd = sv[0];
    assert_int_equal(sl_metrics_scan_sock(&m, &i, SL_STATE_PEER_CLOSED, now - 3 * SL_SEC, -1), SL_LEAK_PEER_CLOSED);
    i.fd = sw[0]; /* half-closed for 1s: not leaked yet, not read */
    assert_int_equal(sl_metrics_scan_sock(&m, &i, SL_STATE_PEER_CLOSED, now - 1 * SL_SEC, -1), 0);
    free(m.stack_seen);
    assert_int_equal(m.unread, 100);
    close(sv[0]);
    close(sw[0]);
}

/* ---- the text format ---- */

static void test_format_samples_follow_help_and_type(void **state)
{
    (void)state;
    struct sl_metrics m;
    model(&m);
    struct sl_buf b;
    sl_buf_init(&b);
    sl_metrics_format(&m, &b);
    assert_false(b.failed);
    assert_int_equal(b.data[b.len - 1], '\n');
    /* every sample: its family was announced, and it carries pid and program first */
    char announced[64][80];
    int na = 0;
    char *text = strndup(b.data, b.len);
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char name[80];
        if (sscanf(line, "# TYPE %79s", name) == 1) {
            assert_true(na < 64);
            strcpy(announced[na++], name);
            continue;
        }
        if (line[0] == '#')
            continue;
        size_t n = strcspn(line, "{");
        bool found = false;
        for (int k = 0; k < na; k++)
            found |= strlen(announced[k]) == n && !strncmp(announced[k], line, n);
        if (!found)
            fail_msg("sample without TYPE: %s", line);
        static const char labels[] = "{pid=\"4321\",program=\"svc\"";
        if (strncmp(line + n, labels, strlen(labels)))
            fail_msg("sample without pid and program labels: %s", line);
    }
    free(text);
    assert_has(b.data, "# TYPE sockleak_live_sockets gauge\n");
    assert_has(b.data, "sockleak_live_sockets{pid=\"4321\",program=\"svc\",family=\"inet\",state=\"ESTABLISHED\"} 2\n");
    assert_has(b.data, "sockleak_live_sockets{pid=\"4321\",program=\"svc\",family=\"inet\",state=\"CLOSE_WAIT\"} 2\n");
    assert_has(b.data, "sockleak_live_sockets{pid=\"4321\",program=\"svc\",family=\"inet\",state=\"unknown\"} 1\n");
    assert_has(b.data, "sockleak_live_sockets{pid=\"4321\",program=\"svc\",family=\"inet6\",state=\"LISTEN\"} 1\n");
    assert_has(b.data, "sockleak_live_sockets{pid=\"4321\",program=\"svc\",family=\"unix\",state=\"none\"} 1\n");
    assert_lacks(b.data, "family=\"netlink\""); /* empty buckets are not written */
    assert_has(b.data, "sockleak_close_wait_sockets{pid=\"4321\",program=\"svc\"} 2\n");
    assert_has(b.data, "sockleak_close_wait_oldest_seconds{pid=\"4321\",program=\"svc\"} 7\n");
    assert_has(b.data, "sockleak_leaked_sockets{pid=\"4321\",program=\"svc\"} 2\n");
    assert_has(b.data, "sockleak_leaked_sockets_by_kind{pid=\"4321\",program=\"svc\",kind=\"close_wait\"} 2\n");
    assert_has(b.data, "sockleak_leaked_sockets_by_kind{pid=\"4321\",program=\"svc\",kind=\"max_age\"} 0\n");
    assert_has(b.data, "sockleak_ignored_sockets{pid=\"4321\",program=\"svc\"} 1\n");
    assert_has(b.data, "sockleak_listening_sockets{pid=\"4321\",program=\"svc\"} 1\n");
    assert_has(b.data, "sockleak_stacks{pid=\"4321\",program=\"svc\"} 3\n");
    assert_has(b.data, "sockleak_open_fds{pid=\"4321\",program=\"svc\"} 12\n");
    assert_has(b.data, "sockleak_fd_limit{pid=\"4321\",program=\"svc\"} 1024\n");
    assert_has(b.data, "# TYPE sockleak_reports_total counter\n");
    assert_has(b.data, "sockleak_reports_total{pid=\"4321\",program=\"svc\"} 2\n");
    assert_has(b.data, "# TYPE sockleak_untracked_sockets_total counter\n");
    assert_has(b.data, "# TYPE sockleak_unseen_sockets_total counter\n");
    assert_has(b.data, "# HELP sockleak_last_update_timestamp_seconds ");
    sl_buf_free(&b);
}

static void test_format_escapes_label_values(void **state)
{
    (void)state;
    struct sl_metrics m;
    model(&m);
    m.program = "we\"ird\\name\nx";
    struct sl_buf b;
    sl_buf_init(&b);
    sl_metrics_format(&m, &b);
    assert_has(b.data, "sockleak_stacks{pid=\"4321\",program=\"we\\\"ird\\\\name\\nx\"} 3\n");
    sl_buf_free(&b);
}

/* ---- a real scan ---- */

static void test_scan_leaves_latest_view(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    keep(sv[0]), keep(sv[1]);
    sl_fd_created(sv[0], SL_ORIGIN_SOCKETPAIR, AF_UNIX, SOCK_STREAM, 0, NULL, 0);
    sl_fd_created(sv[1], SL_ORIGIN_SOCKETPAIR, AF_UNIX, SOCK_STREAM, 0, NULL, 0);
    /* a TCP connection whose peer hangs up: CLOSE_WAIT on our side */
    int l = keep(socket(AF_INET, SOCK_STREAM, 0));
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    assert_int_equal(bind(l, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(listen(l, 4), 0);
    socklen_t len = sizeof(sin);
    assert_int_equal(getsockname(l, (struct sockaddr *)&sin, &len), 0);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(connect(c, (struct sockaddr *)&sin, sizeof(sin)), 0);
    int s = keep(accept(l, NULL, NULL));
    sl_fd_created(s, SL_ORIGIN_ACCEPT, AF_INET, SOCK_STREAM, 0, NULL, 0);
    close(c);
    int st = 0;
    for (int i = 0; i < 1000 && st != TCP_CLOSE_WAIT; i++) {
        assert_int_equal(sl_probe_tcp_state(s, &st), 0);
        if (st != TCP_CLOSE_WAIT)
            nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
    }
    assert_int_equal(sl_fd_ignore(sv[1]), 0);
    sl_opt.close_wait_after = 0;
    sl_scan(false);
    struct sl_metrics m;
    assert_true(sl_metrics_latest(&m));
    assert_int_equal(m.live, 4); /* the listener was never recorded: the scan adopted it */
    assert_int_equal(m.listening, 1);
    assert_int_equal(m.close_wait, 1);
    assert_int_equal(m.leaked, 1);
    assert_int_equal(m.leaks[SL_LEAK_CLOSE_WAIT], 1);
    assert_int_equal(m.ignored, 1);
    assert_int_equal(m.by_family_state[2][SL_M_STATE_NONE], 2);
    assert_int_equal(m.by_family_state[0][TCP_CLOSE_WAIT], 1);
    assert_int_equal(m.pid, getpid());
    assert_true(m.open_fds >= 5);
    assert_true(m.opened >= 3);
}

static void test_ignore_errors(void **state)
{
    (void)state;
    assert_int_equal(sl_fd_ignore(-1), -EBADF);
    int p[2];
    assert_int_equal(pipe(p), 0);
    keep(p[0]), keep(p[1]);
    assert_int_equal(sl_fd_ignore(p[0]), -ENOTSOCK);
    close(p[1]);
    real_fds[nreal - 1] = -1;
    assert_int_equal(sl_fd_ignore(p[1]), -EBADF);
    /* a socket the registry never saw is adopted, then marked */
    int u = keep(socket(AF_UNIX, SOCK_DGRAM, 0));
    assert_false(sl_fd_tracked(u));
    assert_int_equal(sl_fd_ignore(u), 0);
    assert_true(sl_fd_tracked(u));
    struct sl_rec_info *v = NULL;
    long n = sl_fd_snapshot(&v);
    assert_int_equal(n, 1);
    assert_int_equal(v[0].ignored, 1);
    assert_int_equal(v[0].origin, SL_ORIGIN_UNSEEN);
    sl_big_free(v);
}

/* ---- the file ---- */

static int count_entries(const char *d)
{
    DIR *dp = opendir(d);
    assert_non_null(dp);
    int n = 0;
    for (struct dirent *e; (e = readdir(dp));)
        n += e->d_name[0] != '.';
    closedir(dp);
    return n;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void test_write_is_whole_and_readable(void **state)
{
    (void)state;
    struct sl_metrics m;
    model(&m);
    char path[128];
    snprintf(path, sizeof(path), "%s/a.prom", dir);
    assert_int_equal(sl_metrics_write(&m, path), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    assert_int_equal(count_entries(dir), 1); /* no FILE.tmp.<pid> left */
    struct sl_buf b;
    sl_buf_init(&b);
    sl_metrics_format(&m, &b);
    assert_string_equal(slurp(path), b.data);
    sl_buf_free(&b);
    /* a rewrite replaces it */
    m.leaked = 40;
    assert_int_equal(sl_metrics_write(&m, path), 0);
    assert_has(slurp(path), "sockleak_leaked_sockets{pid=\"4321\",program=\"svc\"} 40\n");
    assert_int_equal(count_entries(dir), 1);
    unlink(path);
    /* a directory that is not there: an error, nothing written */
    snprintf(path, sizeof(path), "%s/missing/a.prom", dir);
    assert_int_equal(sl_metrics_write(&m, path), -ENOENT);
}

static void test_publish_writes_metrics_path_with_pid(void **state)
{
    (void)state;
    snprintf(sl_opt.metrics_path, sizeof(sl_opt.metrics_path), "%s/sockleak-%%p.prom", dir);
    struct sl_metrics m;
    sl_metrics_begin(&m, sl_now_ns());
    sl_metrics_publish(&m, 7);
    char path[128];
    snprintf(path, sizeof(path), "%s/sockleak-%d.prom", dir, (int)getpid());
    char *text = slurp(path);
    assert_non_null(text);
    char want[96];
    snprintf(want, sizeof(want), "sockleak_open_fds{pid=\"%d\",program=\"unit-test\"} 7\n", (int)getpid());
    assert_has(text, want);
    unlink(path);
    sl_opt.metrics_path[0] = '\0';
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_add_counts_by_family_state_and_kind),
        T(test_scan_sock_classifies_like_reports),
        T(test_scan_reads_unread_bytes_of_leaked_sockets),
        T(test_format_samples_follow_help_and_type),
        T(test_format_escapes_label_values),
        T(test_scan_leaves_latest_view),
        T(test_ignore_errors),
        T(test_write_is_whole_and_readable),
        T(test_publish_writes_metrics_path_with_pid),
    };
#undef T
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
