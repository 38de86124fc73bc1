/*
 * test_report.c - unit tests for report.c, report_json.c and report_text.c.
 *
 * Two kinds of model: one built by hand (sockets filled in, then sl_report_group),
 * whose grouping and formatting can be checked exactly, and one collected with
 * sl_report_collect from real sockets tracked through sl_fd_created. Covers the JSON
 * contract keys and values (checked with a small JSON validator: one well-formed object
 * on a single line ending in '\n'), groups sorted most leaked first, the text report's
 * headline and SUMMARY line, CLOSE_WAIT leaks seen on a real loopback connection, dups
 * pointing at their original's stack, records whose fd was closed (or closed and
 * reused) behind the registry's back dropped from the report and counted, sockets
 * marked with sockleak_ignore (and their dups) listed but never leaked, where sockets
 * read end-of-file (grouped by place within a stack) and the bytes they never read,
 * reports scoped to a checkpoint, sl_format_rfc3339, and language frames (a hand-made
 * Python stack: first in both formats, with lang, no address; the headline names the
 * program's frame; ids from the frames' file names and lines; native_frames=none;
 * splicing).
 *
 * The scanner thread that the first tracked socket starts is kept idle
 * (scan_interval=0), so only the collector probes the registry. Teardown releases
 * every record and closes the test's real fds.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "report/report.h"

/* ---- a small JSON validator: returns the end of the value, or NULL ---- */

static const char *jv_value(const char *p, int depth);

static const char *jv_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
        p++;
    return p;
}

static const char *jv_string(const char *p)
{
    if (*p++ != '"')
        return NULL;
    while (*p != '"') {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20)
            return NULL; /* raw control characters (and the end of input) */
        if (c == '\\') {
            p++;
            if (*p == 'u') {
                for (int i = 1; i <= 4; i++)
                    if (!strchr("0123456789abcdefABCDEF", p[i]) || !p[i])
                        return NULL;
                p += 5;
            } else if (*p && strchr("\"\\/bfnrt", *p)) {
                p++;
            } else {
                return NULL;
            }
        } else {
            p++;
        }
    }
    return p + 1;
}

static const char *jv_number(const char *p)
{
    if (*p == '-')
        p++;
    if (*p < '0' || *p > '9')
        return NULL;
    if (*p == '0')
        p++;
    else
        while (*p >= '0' && *p <= '9')
            p++;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return NULL;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    return p;
}

static const char *jv_value(const char *p, int depth)
{
    if (depth > 32)
        return NULL;
    p = jv_ws(p);
    if (*p == '"')
        return jv_string(p);
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        p = jv_ws(p + 1);
        if (*p == close)
            return p + 1;
        for (;;) {
            if (close == '}') {
                p = jv_string(jv_ws(p));
                if (!p)
                    return NULL;
                p = jv_ws(p);
                if (*p++ != ':')
                    return NULL;
            }
            p = jv_value(p, depth + 1);
            if (!p)
                return NULL;
            p = jv_ws(p);
            if (*p == close)
                return p + 1;
            if (*p++ != ',')
                return NULL;
        }
    }
    if (!strncmp(p, "true", 4))
        return p + 4;
    if (!strncmp(p, "false", 5))
        return p + 5;
    if (!strncmp(p, "null", 4))
        return p + 4;
    return jv_number(p);
}

/* out is one JSON object on one line, ending in '\n'. */
static void assert_json_line(const struct sl_buf *out)
{
    assert_non_null(out->data);
    assert_false(out->failed);
    assert_true(out->len > 2);
    assert_int_equal(out->data[out->len - 1], '\n');
    const char *nl = strchr(out->data, '\n');
    if (nl != out->data + out->len - 1)
        fail_msg("JSON report has a newline at %ld of %zu", (long)(nl - out->data), out->len);
    assert_int_equal(out->data[0], '{');
    const char *end = jv_value(out->data, 0);
    if (!end || end != out->data + out->len - 1)
        fail_msg("JSON report is not one valid object (parsed up to byte %ld of %zu): %.300s",
                 end ? (long)(end - out->data) : -1L, out->len, out->data);
}

static void assert_has(const char *hay, const char *needle)
{
    if (!strstr(hay, needle))
        fail_msg("report does not contain %s:\n%s", needle, hay);
}

static void assert_lacks(const char *hay, const char *needle)
{
    if (strstr(hay, needle))
        fail_msg("report contains %s:\n%s", needle, hay);
}

/* The integers following each occurrence of key ("\"count\":") after start. */
static int ints_after(const char *start, const char *key, long *out, int max)
{
    int n = 0;
    for (const char *p = strstr(start, key); p && n < max; p = strstr(p + 1, key))
        out[n++] = strtol(p + strlen(key), NULL, 10);
    return n;
}

/* ---- fixtures ---- */

static int real_fds[16];
static int nreal;

static int keep(int fd)
{
    assert_true(fd >= 0);
    assert_true(nreal < (int)SL_ARRAY_LEN(real_fds));
    real_fds[nreal++] = fd;
    return fd;
}

static int group_setup(void **state)
{
    (void)state;
    sl_options_defaults(&sl_opt);
    sl_opt.scan_interval = 0; /* keep the scanner thread idle */
    if (sl_fdstate_init() != 0 || sl_stacks_init() != 0)
        return -1;
    sl_self_init();
    return 0;
}

static int setup(void **state)
{
    (void)state;
    sl_opt.close_wait_after = 5 * SL_SEC;
    sl_opt.stack_depth = 16;
    nreal = 0;
    struct sl_fd_stats st;
    sl_fd_stats(&st);
    return st.live == 0 ? 0 : -1;
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
        if (real_fds[i] >= 0)
            close(real_fds[i]);
    nreal = 0;
    return 0;
}

/* Close fd behind the registry's back (it stays tracked). */
static void close_behind_back(int fd)
{
    for (int i = 0; i < nreal; i++)
        if (real_fds[i] == fd)
            real_fds[i] = -1;
    close(fd);
}

static int tracked_socket(int family, int type)
{
    int fd = keep(socket(family, type, 0));
    sl_fd_created(fd, SL_ORIGIN_SOCKET, family, type, 0, NULL, 0);
    return fd;
}

/* A listener on 127.0.0.1; *port gets its port. */
static int tcp_listener(int *port)
{
    int l = keep(socket(AF_INET, SOCK_STREAM, 0));
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    assert_int_equal(bind(l, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(listen(l, 4), 0);
    socklen_t len = sizeof(sin);
    assert_int_equal(getsockname(l, (struct sockaddr *)&sin, &len), 0);
    *port = ntohs(sin.sin_port);
    return l;
}

static const struct sl_rsock *find_sock(const struct sl_report *r, int fd)
{
    for (size_t k = 0; k < r->nsocks; k++)
        if (r->socks[k].rec.fd == fd)
            return &r->socks[k];
    return NULL;
}

/* ---- a hand-made model ---- */

/* Code for hand-made stacks to point into: named frames in this binary. */
static __attribute__((noinline, used)) int site_alpha(int x)
{
    __asm__ volatile("" : "+r"(x));
    return x + 1;
}

static __attribute__((noinline, used)) int site_beta(int x)
{
    __asm__ volatile("" : "+r"(x));
    return x + 2;
}

static void anchor(void)
{
}

static uint32_t stack_of(uintptr_t top, uintptr_t seed)
{
    /* callers inside this program's text, distinct per seed: frames outside any module
     * would not count in the fingerprint */
    uintptr_t ip[3] = { top, (uintptr_t)anchor + 4 * seed, (uintptr_t)anchor + 64 + 4 * seed };
    uint32_t id = sl_stack_intern(ip, 3);
    assert_int_not_equal(id, 0);
    return id;
}

struct spec {
    int fd;
    uint32_t stack;
    int state;
    int64_t cw_ns; /* -1: not in CLOSE_WAIT */
    bool leak;
};

/* Fill r from specs (sorted by fd) and set its totals. */
static void fill_report(struct sl_report *r, const struct spec *s, size_t n)
{
    sl_report_begin(r, SL_REASON_API);
    r->wall.tv_sec = 1700000000;
    r->wall.tv_nsec = 123000000;
    r->uptime_ns = 65 * SL_SEC;
    r->socks = sl_big_calloc(n, sizeof(*r->socks));
    assert_non_null(r->socks);
    for (size_t k = 0; k < n; k++) {
        struct sl_rsock *x = &r->socks[k];
        x->rec.fd = s[k].fd;
        x->rec.family = AF_INET;
        x->rec.type = SOCK_STREAM;
        x->rec.origin = SL_ORIGIN_SOCKET;
        x->rec.stack = s[k].stack;
        x->rec.tid = 4242;
        x->rec.ino = 1000 + (uint64_t)k;
        x->state = s[k].state;
        x->close_wait_ns = s[k].cw_ns;
        x->peer_closed_ns = x->idle_ns = -1;
        x->leak = s[k].leak ? SL_LEAK_CLOSE_WAIT : SL_LEAK_NONE;
        x->unread = -1;
        r->leaks[x->leak]++;
        x->age_ns = (int64_t)(k + 1) * SL_SEC;
        x->local = (uint32_t)r->strings.len;
        char text[32];
        snprintf(text, sizeof(text), "10.0.0.1:%d", 40000 + s[k].fd);
        sl_buf_put(&r->strings, text, strlen(text) + 1);
        x->peer = (uint32_t)r->strings.len;
        sl_buf_put(&r->strings, "192.0.2.9:443", 14);
        r->live++;
        r->leaked += s[k].leak;
        r->close_wait += s[k].state == TCP_CLOSE_WAIT;
    }
    r->nsocks = n;
    r->stats.opened = 9;
    r->stats.closed = 2;
}

/* The same, grouped. */
static void hand_report(struct sl_report *r, const struct spec *s, size_t n)
{
    fill_report(r, s, n);
    assert_int_equal(sl_report_group(r), 0);
}

/* Four stacks: A 3 sockets none leaked, B 1 leaked, C 2 leaked, D 1 not leaked. */
static void four_groups(struct sl_report *r, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
    *a = stack_of((uintptr_t)site_alpha + 1, 1);
    *b = stack_of((uintptr_t)site_beta + 1, 2);
    *c = stack_of((uintptr_t)site_beta + 1, 3);
    *d = stack_of((uintptr_t)site_alpha + 1, 4);
    const struct spec specs[] = {
        { 10, *a, TCP_ESTABLISHED, -1, false },
        { 11, *a, TCP_ESTABLISHED, -1, false },
        { 12, *a, TCP_ESTABLISHED, -1, false },
        { 13, *b, TCP_CLOSE_WAIT, 10 * SL_SEC, true },
        { 14, *c, TCP_CLOSE_WAIT, 7 * SL_SEC, true },
        { 15, *c, TCP_CLOSE_WAIT, 20 * SL_SEC, true },
        { 16, *d, TCP_ESTABLISHED, -1, false },
    };
    hand_report(r, specs, SL_ARRAY_LEN(specs));
}

static void test_groups_sorted_most_leaked_first(void **state)
{
    (void)state;
    struct sl_report r;
    uint32_t a, b, c, d;
    four_groups(&r, &a, &b, &c, &d);
    assert_int_equal(r.ngroups, 4);
    assert_int_equal(r.groups[0].leaked, 2);
    assert_int_equal(r.groups[0].count, 2);
    assert_int_equal(r.groups[1].leaked, 1);
    assert_int_equal(r.groups[1].count, 1);
    assert_int_equal(r.groups[2].leaked, 0);
    assert_int_equal(r.groups[2].count, 3);
    assert_int_equal(r.groups[3].count, 1);
    /* sockets point at their group after the sort */
    assert_int_equal(r.socks[4].group, 0); /* fd 14, stack C */
    assert_int_equal(r.socks[5].group, 0);
    assert_int_equal(r.socks[3].group, 1); /* fd 13, stack B */
    assert_int_equal(r.socks[0].group, 2); /* fd 10, stack A */
    assert_int_equal(r.socks[6].group, 3); /* fd 16, stack D */
    sl_report_free(&r);
}

static void test_group_totals(void **state)
{
    (void)state;
    struct sl_report r;
    uint32_t a, b, c, d;
    four_groups(&r, &a, &b, &c, &d);
    const struct sl_rgroup *gc = &r.groups[0], *ga = &r.groups[2];
    assert_int_equal(gc->close_wait, 2);
    assert_int_equal(gc->cw_min_ns, 7 * SL_SEC);
    assert_int_equal(gc->cw_max_ns, 20 * SL_SEC);
    assert_int_equal(gc->states[TCP_CLOSE_WAIT], 2);
    assert_int_equal(gc->oldest_ns, 6 * SL_SEC);
    assert_int_equal(gc->first, 4);
    assert_int_equal(ga->states[TCP_ESTABLISHED], 3);
    assert_int_equal(ga->close_wait, 0);
    assert_int_equal(ga->cw_max_ns, -1);
    assert_int_equal(ga->origin, SL_ORIGIN_SOCKET);
    assert_int_equal(ga->first, 0);
    assert_int_equal(r.ngroups, 4); /* r.nstacks may hold more: stacks behind growth */
    for (size_t j = 0; j < r.ngroups; j++)
        assert_int_equal(strlen(r.stacks[j].id), 16);
    sl_report_free(&r);
}

static void test_group_stacks_are_symbolized(void **state)
{
    (void)state;
    struct sl_report r;
    uint32_t a, b, c, d;
    four_groups(&r, &a, &b, &c, &d);
    const struct sl_rstack *st = &r.stacks[r.groups[2].stack]; /* stack A */
    assert_int_equal(st->nframes, 3);
    assert_non_null(st->frames[0].function);
    assert_string_equal(st->frames[0].function, "site_alpha");
    assert_non_null(st->frames[1].module); /* callers in this program */
    assert_non_null(strstr(st->frames[1].module, "test_report"));
    assert_int_equal(site_alpha(1) + site_beta(1), 5);
    sl_report_free(&r);
}

static void test_json_is_one_valid_line(void **state)
{
    (void)state;
    struct sl_report r;
    uint32_t a, b, c, d;
    four_groups(&r, &a, &b, &c, &d);
    struct sl_buf out;
    sl_buf_init(&out);
    sl_report_format_json(&r, &out);
    assert_json_line(&out);
    sl_buf_free(&out);
    sl_report_free(&r);
}

static void test_json_has_contract_keys(void **state)
{
    (void)state;
    struct sl_report r;
    uint32_t a, b, c, d;
    four_groups(&r, &a, &b, &c, &d);
    struct sl_buf out;
    sl_buf_init(&out);
    sl_report_format_json(&r, &out);
    const char *j = out.data;
    char pid[32];
    snprintf(pid, sizeof(pid), "\"pid\":%d,", (int)getpid());
    assert_has(j, "{\"tool\":\"sockleak\",");
    assert_has(j, "\"version\":\"" SL_VERSION "\"");
    assert_has(j, pid);
    assert_has(j, "\"reason\":\"api\"");
    assert_has(j, "\"timestamp\":\"2023-11-14T22:13:20.123Z\"");
    assert_has(j, "\"summary\":{\"live\":7,\"close_wait\":3,\"leaked\":3,");
    assert_has(j, "\"opened\":9,\"closed\":2");
    assert_has(j, "\"sockets\":[{\"fd\":10,");
    assert_has(j, "\"stacks\":[{\"id\":\"");
    assert_has(j, "\"groups\":[{\"stack\":\"");
    assert_has(j, "\"function\":\"site_alpha\"");
    assert_has(j, "\"uptime_ms\":65000,");
    for (int fd = 10; fd <= 16; fd++) {
        char key[64];
        snprintf(key, sizeof(key), "{\"fd\":%d,\"family\":\"inet\"", fd);
        assert_has(j, key);
    }
    sl_buf_free(&out);
    sl_report_free(&r);
}

static void test_json_socket_fields(void **state)
{
    (void)state;
    struct sl_report r;
    uint32_t a, b, c, d;
    four_groups(&r, &a, &b, &c, &d);
    struct sl_buf out;
    sl_buf_init(&out);
    sl_report_format_json(&r, &out);
    char stack_c[64];
    snprintf(stack_c, sizeof(stack_c), "\"stack\":\"%s\"", r.stacks[r.groups[0].stack].id);
    const char *s15 = strstr(out.data, "{\"fd\":15,");
    assert_non_null(s15);
    const char *end = strchr(s15, '}');
    char one[1024];
    snprintf(one, sizeof(one), "%.*s", (int)(end - s15 + 1), s15);
    assert_has(one, "\"type\":\"stream\",\"protocol\":\"tcp\",\"state\":\"CLOSE_WAIT\"");
    assert_has(one, "\"local\":\"10.0.0.1:40015\",\"peer\":\"192.0.2.9:443\"");
    assert_has(one, "\"origin\":\"socket\"");
    assert_has(one, "\"age_ms\":6000,\"close_wait_ms\":20000,\"peer_closed_ms\":null,\"idle_ms\":null,\"listening\":false,\"leak\":\"close_wait\"");
    assert_has(one, stack_c);
    assert_has(one, "\"origin_stack\":null");
    assert_has(one, "\"inode\":1005");
    const char *s10 = strstr(out.data, "{\"fd\":10,");
    assert_non_null(s10);
    assert_has(s10, "\"close_wait_ms\":null,\"peer_closed_ms\":null,\"idle_ms\":null,\"listening\":false,\"leak\":null");
    sl_buf_free(&out);
    sl_report_free(&r);
}

static void test_json_groups_most_leaked_first(void **state)
{
    (void)state;
    struct sl_report r;
    uint32_t a, b, c, d;
    four_groups(&r, &a, &b, &c, &d);
    struct sl_buf out;
    sl_buf_init(&out);
    sl_report_format_json(&r, &out);
    const char *g = strstr(out.data, "\"groups\":[");
    assert_non_null(g);
    long count[8], leaked[8];
    assert_int_equal(ints_after(g, "\"count\":", count, 8), 4);
    assert_int_equal(ints_after(g, "\"leaked\":", leaked, 8), 4);
    assert_int_equal(leaked[0], 2);
    assert_int_equal(leaked[1], 1);
    assert_int_equal(leaked[2], 0);
    assert_int_equal(leaked[3], 0);
    assert_int_equal(count[0], 2);
    assert_int_equal(count[1], 1);
    assert_int_equal(count[2], 3);
    assert_int_equal(count[3], 1);
    assert_has(g, "\"max_close_wait_ms\":20000");
    sl_buf_free(&out);
    sl_report_free(&r);
}

static void test_text_headline_and_summary(void **state)
{
    (void)state;
    struct sl_report r;
    uint32_t a, b, c, d;
    four_groups(&r, &a, &b, &c, &d);
    struct sl_buf out;
    sl_buf_init(&out);
    sl_report_format_text(&r, &out);
    assert_non_null(out.data);
    char head[64];
    int n = snprintf(head, sizeof(head), "==%d==sockleak: ", (int)getpid());
    if (strncmp(out.data, head, (size_t)n) != 0)
        fail_msg("text report does not start with %s:\n%s", head, out.data);
    assert_has(out.data, "sockleak: 3 sockets stuck in CLOSE_WAIT for 7.0s to 20.0s, opened at site_beta");
    assert_has(out.data, "\nSUMMARY: sockleak: 3 leaked sockets in 2 stacks; 7 live in 4 stacks; "
                         "9 opened, 2 closed since start.\n");
    assert_int_equal(out.data[out.len - 1], '\n');
    sl_buf_free(&out);
    sl_report_free(&r);
}

static void test_text_blocks_most_leaked_first(void **state)
{
    (void)state;
    struct sl_report r;
    uint32_t a, b, c, d;
    four_groups(&r, &a, &b, &c, &d);
    struct sl_buf out;
    sl_buf_init(&out);
    sl_report_format_text(&r, &out);
    const char *two = strstr(out.data, "Leak of 2 sockets stuck in CLOSE_WAIT for 7.0s to 20.0s,");
    const char *one = strstr(out.data, "Leak of 1 socket stuck in CLOSE_WAIT for 10.0s,");
    const char *three = strstr(out.data, "3 live sockets, not leaked");
    assert_non_null(two);
    assert_non_null(one);
    assert_non_null(three);
    assert_true(two < one && one < three);
    assert_has(out.data, "  fds: 14 15\n");
    assert_has(out.data, "  fds: 10 11 12\n");
    assert_has(out.data, "in site_alpha tests/unit/report/test_report.c:"); /* file:line from the debug info */
    assert_has(out.data, "  peers: 192.0.2.9:443 (3)\n");
    sl_buf_free(&out);
    sl_report_free(&r);
}

static void test_text_without_leaks(void **state)
{
    (void)state;
    uint32_t a = stack_of((uintptr_t)site_alpha + 1, 9);
    const struct spec specs[] = { { 20, a, TCP_LISTEN, -1, false } };
    struct sl_report r;
    hand_report(&r, specs, 1);
    r.listening = 1;
    struct sl_buf out;
    sl_buf_init(&out);
    sl_report_format_text(&r, &out);
    char head[80];
    snprintf(head, sizeof(head), "==%d==sockleak: 1 live socket, none leaked\n", (int)getpid());
    assert_has(out.data, head);
    assert_true(!strncmp(out.data, head, strlen(head)));
    assert_has(out.data, "SUMMARY: sockleak: 0 leaked sockets in 0 stacks; 1 live in 1 stack;");
    assert_has(out.data, "1 listening\n");
    assert_lacks(out.data, "==coverage:");
    sl_buf_free(&out);
    sl_report_free(&r);
}

/* ---- collected reports ---- */

/* One stack, five CLOSE_WAIT leaks: two read end-of-file at site_alpha, one at
 * site_beta, two never did (one with 1500 bytes left unread); one ESTABLISHED. */
static void eof_groups(struct sl_report *r, uint32_t *open, uint32_t *x, uint32_t *y)
{
    *open = stack_of((uintptr_t)anchor + 200, 9);
    *x = stack_of((uintptr_t)site_alpha + 1, 10);
    *y = stack_of((uintptr_t)site_beta + 1, 11);
    const struct spec specs[] = {
        { 10, *open, TCP_CLOSE_WAIT, 3 * SL_SEC, true }, { 11, *open, TCP_CLOSE_WAIT, 3 * SL_SEC, true },
        { 12, *open, TCP_CLOSE_WAIT, 3 * SL_SEC, true }, { 13, *open, TCP_CLOSE_WAIT, 3 * SL_SEC, true },
        { 14, *open, TCP_CLOSE_WAIT, 3 * SL_SEC, true }, { 15, *open, TCP_ESTABLISHED, -1, false },
    };
    const uint32_t eof[] = { *y, *x, 0, *x, 0, 0 };  /* read 2s before the report */
    const long unread[] = { 0, 0, 1500, 0, 0, 700 };
    fill_report(r, specs, SL_ARRAY_LEN(specs));
    for (size_t k = 0; k < SL_ARRAY_LEN(specs); k++) {
        r->socks[k].rec.eof_stack = eof[k];
        r->socks[k].rec.eof_ns = eof[k] ? r->mono_ns - 2 * SL_SEC : 0;
        r->socks[k].unread = unread[k];
    }
    assert_int_equal(sl_report_group(r), 0);
}

static void test_eofs_grouped_by_place_most_first(void **state)
{
    (void)state;
    struct sl_report r;
    uint32_t open, x, y;
    eof_groups(&r, &open, &x, &y);
    assert_int_equal(r.ngroups, 1);
    const struct sl_rgroup *g = &r.groups[0];
    assert_int_equal(g->neofs, 2);
    const struct sl_reof *e = &r.eofs[g->first_eof];
    assert_int_equal(e[0].count, 2);
    assert_int_equal(e[0].leaked, 2);
    assert_string_equal(r.stacks[e[0].stack].frames[0].function, "site_alpha");
    assert_int_equal(e[1].count, 1);
    assert_string_equal(r.stacks[e[1].stack].frames[0].function, "site_beta");
    assert_in_range(e[0].newest_ns, 2 * SL_SEC, 2 * SL_SEC + SL_SEC / 10);
    assert_int_equal(g->eof_never, 2);     /* the half-closed ones without */
    assert_int_equal(g->unread_bytes, 1500); /* not the ESTABLISHED socket's 700 */
    sl_report_free(&r);
}

static void test_text_names_where_end_of_file_was_read(void **state)
{
    (void)state;
    struct sl_report r;
    uint32_t open, x, y;
    eof_groups(&r, &open, &x, &y);
    struct sl_buf out;
    sl_buf_init(&out);
    sl_report_format_text(&r, &out);
    assert_has(out.data, "sockleak: 5 sockets stuck in CLOSE_WAIT for 3.0s, opened at ");
    assert_has(out.data, "; end-of-file read at site_alpha (test_report");
    const char *a = strstr(out.data, "\n  end-of-file read at site_alpha (");
    const char *b = strstr(out.data, "\n  end-of-file read at site_beta (");
    assert_non_null(a);
    assert_non_null(b);
    assert_true(a < b); /* most sockets first */
    assert_has(a, "), never closed (2 sockets, 2.0s ago):\n    #0 0x");
    assert_has(a, " in site_alpha ");
    assert_has(b, "), never closed (1 socket, 2.0s ago):\n    #0 0x");
    assert_has(out.data, "\n  end-of-file never read: 2 sockets, 1500 bytes never read\n  states: ");
    sl_buf_free(&out);
    sl_report_free(&r);
}

static void test_json_eof_and_unread_keys(void **state)
{
    (void)state;
    struct sl_report r;
    uint32_t open, x, y;
    eof_groups(&r, &open, &x, &y);
    struct sl_buf out;
    sl_buf_init(&out);
    sl_report_format_json(&r, &out);
    assert_json_line(&out);
    const struct sl_rsock *s11 = find_sock(&r, 11);
    char want[128];
    snprintf(want, sizeof(want), "\"eof_stack\":\"%s\",\"eof_ms\":2000,\"unread_bytes\":0", r.stacks[s11->eof].id);
    assert_has(strstr(out.data, "{\"fd\":11,"), want);
    snprintf(want, sizeof(want), "{\"id\":\"%s\",", r.stacks[s11->eof].id);
    assert_has(out.data, want); /* in the stacks array */
    assert_has(strstr(out.data, "{\"fd\":12,"), "\"eof_stack\":null,\"eof_ms\":null,\"unread_bytes\":1500");
    assert_has(strstr(out.data, "{\"fd\":15,"), "\"unread_bytes\":700");
    sl_buf_free(&out);
    sl_report_free(&r);
}

static void test_collect_lists_tracked_sockets(void **state)
{
    (void)state;
    int port;
    int l = tcp_listener(&port);
    sl_fd_created(l, SL_ORIGIN_SOCKET, AF_INET, SOCK_STREAM, 0, NULL, 0);
    int u = tracked_socket(AF_INET, SOCK_DGRAM);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    keep(sv[0]);
    keep(sv[1]);
    sl_fd_created(sv[0], SL_ORIGIN_SOCKETPAIR, AF_UNIX, SOCK_STREAM, 0, NULL, 0);
    sl_fd_created(sv[1], SL_ORIGIN_SOCKETPAIR, AF_UNIX, SOCK_STREAM, 0, NULL, 0);
    struct sl_report r;
    assert_int_equal(sl_report_collect(&r, SL_REASON_API), 0);
    assert_int_equal(r.reason, SL_REASON_API);
    assert_int_equal(r.pid, getpid());
    assert_int_equal(r.nsocks, 4);
    assert_int_equal(r.live, 4);
    assert_int_equal(r.listening, 1);
    assert_int_equal(r.leaked, 0);
    assert_int_equal(r.dropped_now, 0);
    assert_false(r.truncated);
    for (size_t k = 1; k < r.nsocks; k++)
        assert_true(r.socks[k - 1].rec.fd < r.socks[k].rec.fd);
    const struct sl_rsock *ls = find_sock(&r, l);
    assert_non_null(ls);
    assert_int_equal(ls->state, TCP_LISTEN);
    char want[32];
    snprintf(want, sizeof(want), "127.0.0.1:%d", port);
    assert_non_null(sl_rstr(&r, ls->local));
    assert_string_equal(sl_rstr(&r, ls->local), want);
    assert_null(sl_rstr(&r, ls->peer));
    assert_int_not_equal(ls->rec.ino, 0);
    const struct sl_rsock *us = find_sock(&r, u);
    assert_non_null(us);
    assert_int_equal(us->state, 0); /* not TCP */
    assert_int_equal(us->rec.type, SOCK_DGRAM);
    assert_non_null(find_sock(&r, sv[0]));
    assert_int_equal(find_sock(&r, sv[1])->rec.origin, SL_ORIGIN_SOCKETPAIR);
    sl_report_free(&r);
}

static void test_collect_json_lists_real_fds(void **state)
{
    (void)state;
    int a = tracked_socket(AF_INET, SOCK_STREAM), b = tracked_socket(AF_INET6, SOCK_DGRAM);
    struct sl_report r;
    assert_int_equal(sl_report_collect(&r, SL_REASON_API), 0);
    struct sl_buf out;
    sl_buf_init(&out);
    sl_report_format_json(&r, &out);
    assert_json_line(&out);
    char key[64];
    snprintf(key, sizeof(key), "{\"fd\":%d,\"family\":\"inet\",\"type\":\"stream\"", a);
    assert_has(out.data, key);
    snprintf(key, sizeof(key), "{\"fd\":%d,\"family\":\"inet6\",\"type\":\"dgram\",\"protocol\":\"udp\"", b);
    assert_has(out.data, key);
    assert_has(out.data, "\"tool\":\"sockleak\"");
    assert_has(out.data, "\"reason\":\"api\"");
    assert_has(out.data, "\"summary\":{\"live\":2,");
    assert_has(out.data, "\"unwinder\":\"fast\"");
    sl_buf_free(&out);
    sl_report_free(&r);
}

static void test_collect_empty_registry(void **state)
{
    (void)state;
    struct sl_report r;
    assert_int_equal(sl_report_collect(&r, SL_REASON_EXIT), 0);
    assert_int_equal(r.nsocks, 0);
    assert_int_equal(r.ngroups, 0);
    struct sl_buf out;
    sl_buf_init(&out);
    sl_report_format_json(&r, &out);
    assert_json_line(&out);
    assert_has(out.data, "\"reason\":\"exit\"");
    assert_has(out.data, "\"sockets\":[],\"stacks\":[");
    sl_buf_free(&out);
    sl_buf_init(&out);
    sl_report_format_text(&r, &out);
    char want[128]; /* a clean exit: one line */
    snprintf(want, sizeof(want), "==%d==sockleak: no leaks in test_report: ", (int)getpid());
    assert_has(out.data, want);
    assert_non_null(strstr(out.data, " opened, all closed\n"));
    assert_int_equal(strchr(out.data, '\n') - out.data + 1, (long)out.len);
    sl_buf_free(&out);
    r.reason = SL_REASON_API; /* any other report is whole */
    sl_buf_init(&out);
    sl_report_format_text(&r, &out);
    assert_has(out.data, "sockleak: 0 live sockets, none leaked\n");
    assert_has(out.data, "SUMMARY: sockleak: 0 leaked sockets");
    sl_buf_free(&out);
    sl_report_free(&r);
}

static void test_collect_drops_fd_closed_behind_back(void **state)
{
    (void)state;
    int a = tracked_socket(AF_INET, SOCK_STREAM), b = tracked_socket(AF_INET, SOCK_STREAM);
    struct sl_fd_stats before;
    sl_fd_stats(&before);
    close_behind_back(a);
    struct sl_report r;
    assert_int_equal(sl_report_collect(&r, SL_REASON_API), 0);
    assert_int_equal(r.nsocks, 1);
    assert_null(find_sock(&r, a));
    assert_non_null(find_sock(&r, b));
    assert_int_equal(r.live, 1);
    assert_int_equal(r.dropped_now, 1);
    assert_int_equal(r.stats.stale - before.stale, 1);
    assert_false(sl_fd_tracked(a)); /* dropped from the registry too */
    struct sl_buf out;
    sl_buf_init(&out);
    sl_report_format_text(&r, &out);
    assert_has(out.data, "1 closed where the shim does not look");
    sl_buf_free(&out);
    sl_buf_init(&out);
    sl_report_format_json(&r, &out);
    char key[64];
    snprintf(key, sizeof(key), "\"fd\":%d,", a);
    assert_lacks(out.data, key);
    assert_has(out.data, "\"closed_behind_back\":1");
    sl_buf_free(&out);
    sl_report_free(&r);
}

static void test_collect_drops_fd_reused_behind_back(void **state)
{
    (void)state;
    int a = tracked_socket(AF_INET, SOCK_STREAM);
    struct sl_report r;
    assert_int_equal(sl_report_collect(&r, SL_REASON_API), 0); /* learns a's inode */
    uint64_t ino = find_sock(&r, a)->rec.ino;
    sl_report_free(&r);
    /* a is closed and its number taken by another socket, all unseen */
    int other = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(other >= 0);
    assert_int_equal(dup2(other, a), a);
    close(other);
    assert_int_equal(sl_report_collect(&r, SL_REASON_API), 0);
    assert_int_equal(r.dropped_now, 1);
    assert_int_equal(r.nsocks, 0);
    assert_false(sl_fd_tracked(a));
    assert_int_not_equal(ino, 0);
    sl_report_free(&r);
}

/* Wait (up to 1 s) until s is in CLOSE_WAIT. */
static void wait_close_wait(int s)
{
    int st = 0;
    for (int i = 0; i < 1000 && st != TCP_CLOSE_WAIT; i++) {
        assert_int_equal(sl_probe_tcp_state(s, &st), 0);
        if (st != TCP_CLOSE_WAIT)
            nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
    }
    assert_int_equal(st, TCP_CLOSE_WAIT);
}

/* A tracked accepted socket whose peer (never tracked) has hung up: in CLOSE_WAIT. */
static int tracked_close_wait_socket(void)
{
    int port;
    int l = tcp_listener(&port);
    int c = keep(socket(AF_INET, SOCK_STREAM, 0));
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    assert_int_equal(connect(c, (struct sockaddr *)&sin, sizeof(sin)), 0);
    int s = keep(accept(l, NULL, NULL));
    sl_fd_created(s, SL_ORIGIN_ACCEPT, AF_INET, SOCK_STREAM, 0, NULL, 0);
    close_behind_back(c);
    wait_close_wait(s);
    return s;
}

static void test_collect_close_wait_is_leak_after_threshold(void **state)
{
    (void)state;
    int s = tracked_close_wait_socket();
    struct sl_report r;
    assert_int_equal(sl_report_collect(&r, SL_REASON_API), 0); /* 5s threshold: not yet a leak */
    assert_int_equal(r.close_wait, 1);
    assert_int_equal(r.leaked, 0);
    assert_int_equal(find_sock(&r, s)->state, TCP_CLOSE_WAIT);
    assert_int_equal(find_sock(&r, s)->leak, SL_LEAK_NONE);
    sl_report_free(&r);
    sl_opt.close_wait_after = 0;
    assert_int_equal(sl_report_collect(&r, SL_REASON_API), 0);
    assert_int_equal(r.leaked, 1);
    const struct sl_rsock *x = find_sock(&r, s);
    assert_int_equal(x->leak, SL_LEAK_CLOSE_WAIT);
    assert_true(x->close_wait_ns >= 0);
    struct sl_buf out;
    sl_buf_init(&out);
    sl_report_format_json(&r, &out);
    assert_json_line(&out);
    assert_has(out.data, "\"state\":\"CLOSE_WAIT\"");
    assert_has(out.data, "\"leak\":\"close_wait\"");
    assert_has(out.data, "\"summary\":{\"live\":1,\"close_wait\":1,\"leaked\":1,");
    sl_buf_free(&out);
    sl_buf_init(&out);
    sl_report_format_text(&r, &out);
    assert_has(out.data, "sockleak: 1 socket stuck in CLOSE_WAIT for ");
    assert_has(out.data, "SUMMARY: sockleak: 1 leaked socket in 1 stack;");
    sl_buf_free(&out);
    sl_report_free(&r);
}

static void test_collect_unread_bytes_then_end_of_file(void **state)
{
    (void)state;
    int port;
    int l = tcp_listener(&port);
    int c = keep(socket(AF_INET, SOCK_STREAM, 0));
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    assert_int_equal(connect(c, (struct sockaddr *)&sin, sizeof(sin)), 0);
    int s = keep(accept(l, NULL, NULL));
    sl_fd_created(s, SL_ORIGIN_ACCEPT, AF_INET, SOCK_STREAM, 0, NULL, 0);
    sl_fd_created(l, SL_ORIGIN_SOCKET, AF_INET, SOCK_STREAM, 0, NULL, 0);
    assert_int_equal(write(c, "0123456789", 10), 10);
    close_behind_back(c);
    wait_close_wait(s);
    struct sl_report r;
    assert_int_equal(sl_report_collect(&r, SL_REASON_API), 0);
    assert_int_equal(find_sock(&r, s)->unread, 10); /* the FIN is not a byte */
    assert_int_equal(find_sock(&r, s)->eof, SL_NO_STR);
    assert_int_equal(find_sock(&r, l)->unread, -1); /* a listener */
    sl_report_free(&r);
    char buf[16];
    assert_int_equal(read(s, buf, sizeof(buf)), 10);
    assert_int_equal(read(s, buf, sizeof(buf)), 0);
    sl_fd_eof(s); /* what the read wrapper does then */
    assert_int_equal(sl_report_collect(&r, SL_REASON_API), 0);
    const struct sl_rsock *x = find_sock(&r, s);
    assert_int_equal(x->unread, 0);
    assert_int_not_equal(x->eof, SL_NO_STR);
    assert_string_equal(r.stacks[x->eof].frames[0].function, "test_collect_unread_bytes_then_end_of_file");
    sl_report_free(&r);
}

static void test_collect_since_keeps_what_open_since_counts(void **state)
{
    (void)state;
    int before = tracked_socket(AF_INET, SOCK_STREAM);
    uint64_t cp = sl_fd_checkpoint();
    int port;
    int l = tcp_listener(&port);
    sl_fd_created(l, SL_ORIGIN_SOCKET, AF_INET, SOCK_STREAM, 0, NULL, 0);
    int a = tracked_socket(AF_INET, SOCK_STREAM), b = tracked_socket(AF_UNIX, SOCK_DGRAM);
    int ign = tracked_socket(AF_INET, SOCK_STREAM);
    assert_int_equal(sl_fd_ignore(ign), 0);
    int gone = tracked_socket(AF_INET, SOCK_STREAM);
    sl_fd_release(sl_fd_detach(gone));
    assert_int_equal(sl_fd_open_since(cp), 2);
    struct sl_report r;
    assert_int_equal(sl_report_collect_since(&r, SL_REASON_API, cp), 0);
    assert_int_equal(r.nsocks, 2);
    assert_non_null(find_sock(&r, a));
    assert_non_null(find_sock(&r, b));
    assert_null(find_sock(&r, before));
    struct sl_buf out;
    sl_buf_init(&out);
    sl_report_format_text(&r, &out);
    char head[128];
    snprintf(head, sizeof(head), "sockleak: 2 sockets left open since checkpoint %llu, opened at ",
             (unsigned long long)cp);
    assert_has(out.data, head);
    assert_has(out.data, "\n1 live socket, left open since the checkpoint, opened by socket():\n");
    sl_buf_free(&out);
    sl_buf_init(&out);
    sl_report_format_json(&r, &out);
    snprintf(head, sizeof(head), "\"reason\":\"api\",\"checkpoint\":%llu,", (unsigned long long)cp);
    assert_has(out.data, head);
    sl_buf_free(&out);
    sl_report_free(&r);
}

static void test_collect_ignored_socket_is_never_leaked(void **state)
{
    (void)state;
    atomic_store(&sl_count.closed_late, 0); /* leaks closed by earlier tests would take the headline */
    int s = tracked_close_wait_socket();
    assert_int_equal(sl_fd_ignore(s), 0);
    int d = keep(dup(s)); /* a copy made afterwards: the same socket, ignored too */
    sl_fd_dup(s, d);
    sl_opt.close_wait_after = 0;
    struct sl_report r;
    assert_int_equal(sl_report_collect(&r, SL_REASON_API), 0);
    assert_int_equal(r.close_wait, 2);
    assert_int_equal(r.leaked, 0);
    assert_int_equal(r.ignored, 2);
    assert_int_equal(find_sock(&r, s)->leak, SL_LEAK_NONE);
    assert_int_equal(find_sock(&r, d)->leak, SL_LEAK_NONE);
    struct sl_buf out;
    sl_buf_init(&out);
    sl_report_format_json(&r, &out);
    assert_json_line(&out);
    assert_has(out.data, "\"leak\":null,\"ignored\":true,");
    assert_has(out.data, "\"ignored\":2,");
    sl_buf_free(&out);
    sl_buf_init(&out);
    sl_report_format_text(&r, &out);
    assert_has(out.data, "  ignored: 1 (marked long-lived with sockleak_ignore");
    assert_has(out.data, "sockleak: 2 live sockets, none leaked\n");
    assert_has(out.data, ", 0 listening, 2 ignored (sockleak_ignore)\n");
    assert_lacks(out.data, "not leaked yet");
    assert_has(out.data, "SUMMARY: sockleak: 0 leaked sockets");
    sl_buf_free(&out);
    sl_report_free(&r);
}

static void test_collect_dup_points_at_original_stack(void **state)
{
    (void)state;
    int a = tracked_socket(AF_INET, SOCK_STREAM);
    int b = keep(dup(a));
    sl_fd_dup(a, b);
    struct sl_report r;
    assert_int_equal(sl_report_collect(&r, SL_REASON_API), 0);
    const struct sl_rsock *sa = find_sock(&r, a), *sb = find_sock(&r, b);
    assert_non_null(sa);
    assert_non_null(sb);
    assert_int_equal(sb->rec.origin, SL_ORIGIN_DUP);
    assert_int_not_equal(sb->orig_stack, SL_NO_STR);
    assert_int_equal(sa->orig_stack, SL_NO_STR);
    assert_string_equal(r.stacks[sb->orig_stack].id, r.stacks[r.groups[sa->group].stack].id);
    struct sl_buf out;
    sl_buf_init(&out);
    sl_report_format_json(&r, &out);
    assert_json_line(&out);
    assert_has(out.data, "\"origin\":\"dup\"");
    char key[80];
    snprintf(key, sizeof(key), "\"origin_stack\":\"%s\"", r.stacks[sb->orig_stack].id);
    assert_has(out.data, key);
    sl_buf_free(&out);
    sl_report_free(&r);
}

static void test_collect_without_stacks(void **state)
{
    (void)state;
    sl_opt.stack_depth = 0;
    tracked_socket(AF_INET, SOCK_STREAM);
    struct sl_report r;
    assert_int_equal(sl_report_collect(&r, SL_REASON_API), 0);
    assert_int_equal(r.ngroups, 1);
    assert_string_equal(r.stacks[r.groups[0].stack].id, "none");
    assert_int_equal(r.stacks[r.groups[0].stack].nframes, 0);
    struct sl_buf out;
    sl_buf_init(&out);
    sl_report_format_text(&r, &out);
    assert_has(out.data, "(no stack: stack_depth=0)");
    sl_buf_free(&out);
    sl_buf_init(&out);
    sl_report_format_json(&r, &out);
    assert_json_line(&out);
    assert_has(out.data, "\"stacks\":[{\"id\":\"none\",\"frames\":[]}");
    sl_buf_free(&out);
    sl_report_free(&r);
}

/* ---- names and time ---- */

/* ---- language frames ---- */

/* A Python stack: socket.__init__ (the standard library's), fetch_item and <module>
 * (the program's, in dir/client.py), then two native frames. */
static uint32_t py_stack(const char *dir, int line)
{
    char file[128];
    snprintf(file, sizeof(file), "%s/client.py", dir);
    struct sl_lframe lf[3] = {
        { sl_loc_intern(SL_LANG_PYTHON, "socket.__init__", 15, "/usr/lib/python3.11/socket.py", 29, 232, 0), 0 },
        { sl_loc_intern(SL_LANG_PYTHON, "fetch_item", 10, file, strlen(file), line, 0), 0 },
        { sl_loc_intern(SL_LANG_PYTHON, "<module>", 8, file, strlen(file), 20, 0), SL_LF_ENTRY },
    };
    uintptr_t ip[2] = { (uintptr_t)site_alpha + 1, (uintptr_t)anchor + 4 };
    uint32_t id = sl_stack_intern_lang(ip, 2, SL_LANG_PYTHON, lf, 3);
    assert_int_not_equal(id, 0);
    return id;
}

static void test_language_frames_first_in_both_formats(void **state)
{
    (void)state;
    struct sl_report r;
    const struct spec specs[] = { { 10, py_stack("/srv/app", 11), TCP_CLOSE_WAIT, 10 * SL_SEC, true } };
    hand_report(&r, specs, 1);
    assert_int_equal(r.stacks[r.groups[0].stack].nlang, 3);
    struct sl_buf out;
    sl_buf_init(&out);
    sl_report_format_json(&r, &out);
    assert_json_line(&out);
    assert_has(out.data, "\"frames\":[{\"ip\":null,\"function\":\"socket.__init__\",\"function_offset\":null,"
                         "\"module\":null,\"module_offset\":null,\"build_id\":null,"
                         "\"file\":\"/usr/lib/python3.11/socket.py\",\"line\":232,\"inlined\":false,\"lang\":\"python\"},"
                         "{\"ip\":null,\"function\":\"fetch_item\"");
    assert_has(out.data, "\"function\":\"site_alpha\"");
    assert_has(out.data, "\"lang\":null}");
    assert_true(strstr(out.data, "<module>") < strstr(out.data, "site_alpha"));
    sl_buf_free(&out);
    sl_buf_init(&out);
    sl_report_format_text(&r, &out);
    assert_has(out.data, "opened at fetch_item (client.py:11)\n");
    assert_has(out.data, "    #0 socket.__init__ /usr/lib/python3.11/socket.py:232 (python)\n"
                         "    #1 fetch_item /srv/app/client.py:11 (python)\n"
                         "    #2 <module> /srv/app/client.py:20 (python)\n"
                         "    #3 0x");
    sl_buf_free(&out);
    sl_report_free(&r);
}

static void test_language_stack_ids_from_file_names_and_lines(void **state)
{
    (void)state;
    struct sl_report r;
    /* the same code installed elsewhere has the same id; another line has another */
    const struct spec specs[] = {
        { 10, py_stack("/srv/app", 11), TCP_CLOSE_WAIT, 10 * SL_SEC, true },
        { 11, py_stack("/home/ci/checkout", 11), TCP_CLOSE_WAIT, 10 * SL_SEC, true },
        { 12, py_stack("/srv/app", 12), TCP_CLOSE_WAIT, 10 * SL_SEC, true },
    };
    hand_report(&r, specs, 3);
    assert_int_equal(r.ngroups, 2);
    assert_int_equal(r.groups[0].count, 2);
    assert_string_not_equal(r.stacks[r.groups[0].stack].id, r.stacks[r.groups[1].stack].id);
    /* never a native stack's id either */
    uint32_t native = stack_of((uintptr_t)site_alpha + 1, 1);
    sl_report_free(&r);
    const struct spec one[] = { { 10, native, TCP_ESTABLISHED, -1, false } };
    char id[24];
    hand_report(&r, one, 1);
    snprintf(id, sizeof(id), "%s", r.stacks[r.groups[0].stack].id);
    sl_report_free(&r);
    const struct spec two[] = { { 10, py_stack("/srv/app", 11), TCP_ESTABLISHED, -1, false } };
    hand_report(&r, two, 1);
    assert_string_not_equal(id, r.stacks[r.groups[0].stack].id);
    sl_report_free(&r);
}

static void test_native_frames_none_shows_language_frames_only(void **state)
{
    (void)state;
    struct sl_report r;
    sl_opt.native_frames = SL_NATIVE_NONE;
    const struct spec specs[] = { { 10, py_stack("/srv/app", 11), TCP_CLOSE_WAIT, 10 * SL_SEC, true } };
    hand_report(&r, specs, 1);
    sl_opt.native_frames = SL_NATIVE_BELOW;
    struct sl_buf out;
    sl_buf_init(&out);
    sl_report_format_json(&r, &out);
    assert_lacks(out.data, "site_alpha");
    assert_has(out.data, "fetch_item");
    sl_buf_free(&out);
    sl_buf_init(&out);
    sl_report_format_text(&r, &out);
    assert_lacks(out.data, "#3 ");
    assert_has(out.data, "    #2 <module> /srv/app/client.py:20 (python)\n");
    sl_buf_free(&out);
    sl_report_free(&r);
}

static void test_splice_puts_python_frames_where_the_interpreter_ran_them(void **state)
{
    (void)state;
    /* Python frames P0 P1 (first of the inner loop), P2 P3 (first of the outer one);
     * native frames N0, the inner loop, N1, the outer loop, N2 */
    struct sl_frame f[2 * 9];
    const char *names[] = { "P0", "P1", "P2", "P3", "N0", "_PyEval_EvalFrameDefault", "N1",
                            "_PyEval_EvalFrameDefault", "N2" };
    memset(f, 0, sizeof(f));
    for (int i = 0; i < 9; i++) {
        f[i].function = names[i];
        f[i].lang = i < 4 ? SL_LANG_PYTHON : SL_LANG_NONE;
    }
    struct sl_lframe lf[4] = { { 1, 0 }, { 2, SL_LF_ENTRY }, { 3, 0 }, { 4, SL_LF_ENTRY } };
    int n = sl_lang_splice(f, 4, 9, lf);
    const char *want[] = { "N0", "P0", "P1", "N1", "P2", "P3", "N2" };
    assert_int_equal(n, 7);
    for (int i = 0; i < n; i++)
        assert_string_equal(f[i].function, want[i]);
    /* the headline still names the program's first language frame */
    assert_string_equal(sl_lang_headline(f, n)->function, "P0");
}

static void test_runtime_frames(void **state)
{
    (void)state;
    struct sl_frame f = { .lang = SL_LANG_PYTHON, .file = "/usr/lib/python3.11/socket.py" };
    assert_true(sl_lang_is_runtime(&f));
    f.file = "<frozen runpy>";
    assert_true(sl_lang_is_runtime(&f));
    f.file = "/usr/lib/python3/dist-packages/requests/api.py";
    assert_false(sl_lang_is_runtime(&f));
    f.file = "/srv/app/client.py";
    assert_false(sl_lang_is_runtime(&f));
    f = (struct sl_frame){ .lang = SL_LANG_JAVA, .function = "java.net.Socket.connect" };
    assert_true(sl_lang_is_runtime(&f));
    f.function = "com.example.Leak.queryBackend";
    assert_false(sl_lang_is_runtime(&f));
    f = (struct sl_frame){ .lang = SL_LANG_JS, .file = "node:net" };
    assert_true(sl_lang_is_runtime(&f));
    f.file = "/srv/app/leak.js";
    assert_false(sl_lang_is_runtime(&f));
    f = (struct sl_frame){ .file = "/usr/lib/python3.11/socket.py" }; /* native */
    assert_false(sl_lang_is_runtime(&f));
}

static void test_reason_names(void **state)
{
    (void)state;
    assert_string_equal(sl_reason_name(SL_REASON_EXIT), "exit");
    assert_string_equal(sl_reason_name(SL_REASON_SIGNAL), "signal");
    assert_string_equal(sl_reason_name(SL_REASON_EMFILE), "emfile");
    assert_string_equal(sl_reason_name(SL_REASON_THRESHOLD), "threshold");
    assert_string_equal(sl_reason_name(SL_REASON_API), "api");
    assert_string_equal(sl_reason_name(SL_REASON_INTERVAL), "interval");
    assert_string_equal(sl_reason_name(99), "api");
}

static void test_origin_and_leak_names(void **state)
{
    (void)state;
    assert_string_equal(sl_origin_name(SL_ORIGIN_SOCKET), "socket");
    assert_string_equal(sl_origin_name(SL_ORIGIN_SOCKETPAIR), "socketpair");
    assert_string_equal(sl_origin_name(SL_ORIGIN_ACCEPT), "accept");
    assert_string_equal(sl_origin_name(SL_ORIGIN_DUP), "dup");
    assert_string_equal(sl_origin_name(SL_ORIGIN_INHERITED), "inherited");
    assert_string_equal(sl_origin_name(0), "unknown");
    assert_string_equal(sl_leak_name(SL_LEAK_CLOSE_WAIT), "close_wait");
    assert_null(sl_leak_name(SL_LEAK_NONE));
}

static void assert_rfc3339(time_t sec, long nsec, const char *want)
{
    struct timespec ts = { .tv_sec = sec, .tv_nsec = nsec };
    char out[40];
    memset(out, 'Z', sizeof(out));
    sl_format_rfc3339(&ts, out, sizeof(out));
    if (strcmp(out, want) != 0)
        fail_msg("sl_format_rfc3339(%lld.%09ld) = %s, want %s", (long long)sec, nsec, out, want);
}

static void test_rfc3339_epoch(void **state)
{
    (void)state;
    assert_rfc3339(0, 0, "1970-01-01T00:00:00.000Z");
}

static void test_rfc3339_with_milliseconds(void **state)
{
    (void)state;
    assert_rfc3339(1700000000, 123000000, "2023-11-14T22:13:20.123Z");
    assert_rfc3339(1700000000, 999999999, "2023-11-14T22:13:20.999Z"); /* truncated, not rounded */
}

static void test_rfc3339_calendar_edges(void **state)
{
    (void)state;
    assert_rfc3339(951782400, 0, "2000-02-29T00:00:00.000Z");  /* leap day of a century year */
    assert_rfc3339(1709164800, 5000000, "2024-02-29T00:00:00.005Z");
    assert_rfc3339(1735689599, 0, "2024-12-31T23:59:59.000Z");
    assert_rfc3339(4102444800, 0, "2100-01-01T00:00:00.000Z");
    assert_rfc3339(-1, 0, "1969-12-31T23:59:59.000Z");
}

/* glibc's own libraries get no file:line lookup; everything else does */
static void test_module_is_glibc(void **state)
{
    (void)state;
    assert_true(sl_module_is_glibc("/lib/x86_64-linux-gnu/libc.so.6"));
    assert_true(sl_module_is_glibc("/usr/lib/x86_64-linux-gnu/libc.so.6"));
    assert_true(sl_module_is_glibc("/lib64/ld-linux-x86-64.so.2"));
    assert_true(sl_module_is_glibc("/lib/x86_64-linux-gnu/libpthread.so.0"));
    assert_true(sl_module_is_glibc("libm.so.6"));
    assert_false(sl_module_is_glibc(NULL));
    assert_false(sl_module_is_glibc("/usr/bin/nginx"));
    assert_false(sl_module_is_glibc("/lib/x86_64-linux-gnu/libcurl.so.4"));
    assert_false(sl_module_is_glibc("/lib/x86_64-linux-gnu/libcrypto.so.3"));
    assert_false(sl_module_is_glibc("/opt/app/libc.so.6.d/libapp.so")); /* the name, not a directory */
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_groups_sorted_most_leaked_first),
        T(test_group_totals),
        T(test_group_stacks_are_symbolized),
        T(test_json_is_one_valid_line),
        T(test_json_has_contract_keys),
        T(test_json_socket_fields),
        T(test_json_groups_most_leaked_first),
        T(test_text_headline_and_summary),
        T(test_text_blocks_most_leaked_first),
        T(test_text_without_leaks),
        T(test_eofs_grouped_by_place_most_first),
        T(test_text_names_where_end_of_file_was_read),
        T(test_json_eof_and_unread_keys),
        T(test_collect_lists_tracked_sockets),
        T(test_collect_json_lists_real_fds),
        T(test_collect_empty_registry),
        T(test_collect_drops_fd_closed_behind_back),
        T(test_collect_drops_fd_reused_behind_back),
        T(test_collect_close_wait_is_leak_after_threshold),
        T(test_collect_unread_bytes_then_end_of_file),
        T(test_collect_since_keeps_what_open_since_counts),
        T(test_collect_ignored_socket_is_never_leaked),
        T(test_collect_dup_points_at_original_stack),
        T(test_collect_without_stacks),
        T(test_language_frames_first_in_both_formats),
        T(test_language_stack_ids_from_file_names_and_lines),
        T(test_native_frames_none_shows_language_frames_only),
        T(test_splice_puts_python_frames_where_the_interpreter_ran_them),
        T(test_runtime_frames),
        T(test_reason_names),
        T(test_origin_and_leak_names),
        T(test_rfc3339_epoch),
        T(test_rfc3339_with_milliseconds),
        T(test_rfc3339_calendar_edges),
        T(test_module_is_glibc),
    };
#undef T
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
