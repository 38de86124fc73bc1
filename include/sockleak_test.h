/*
 * sockleak_test.h - fail the test that leaked a socket, naming where (goleak's
 * VerifyNone, for C test suites: cmocka or plain C).
 *
 *     #include <cmocka.h>              (optional, first: failures then go through cmocka)
 *     #include <sockleak_test.h>
 *
 *     static void test_fetch(void **state)
 *     {
 *         SOCKLEAK_BEGIN();
 *         fetch_user(server, 42);
 *         SOCKLEAK_VERIFY_NONE();       fails here if the test left a socket open
 *     }
 *
 * SOCKLEAK_VERIFY_NONE() counts the sockets made since SOCKLEAK_BEGIN() that are still
 * open (sockleak_open_since: listening sockets and those marked with sockleak_ignore()
 * do not count). A socket another thread closes a little later (a connection pool, an
 * event loop) is waited for: the count is asked again after 1 ms, 2 ms, 4 ms... up to
 * SOCKLEAK_TEST_WAIT_MS (default 200) in all. If sockets are left, the failure message
 * is sockleak's report of them: the code that opened each, and where each read
 * end-of-file. With cmocka.h included before this header the failure is cmocka's
 * (print_error, then fail()); otherwise the message goes to stderr and the program
 * aborts, as assert() does. Define SOCKLEAK_TEST_FAIL(msg) before including this
 * header to fail another way (msg is malloc'd; free it if the failure returns).
 *
 * Without the shim (the program is not run under sockleak) there is nothing to ask and
 * every check passes. The functions below are the same checks for other harnesses.
 * Needs POSIX's nanosleep(): a GNU dialect (gcc's default), or _POSIX_C_SOURCE defined
 * before the first #include.
 */
#ifndef SOCKLEAK_TEST_H
#define SOCKLEAK_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sockleak.h"

#ifndef SOCKLEAK_TEST_WAIT_MS
#define SOCKLEAK_TEST_WAIT_MS 200
#endif

/* A checkpoint, or 0 without the shim. */
static inline unsigned long sockleak_test_checkpoint(void)
{
    return sockleak_checkpoint ? sockleak_checkpoint() : 0;
}

/* The sockets made since cp and still open, asked again with a doubling pause while
 * some are, for up to wait_ms in all. 0 without the shim, or a negative errno value. */
static inline int sockleak_test_open_since(unsigned long cp, long wait_ms)
{
    if (!sockleak_open_since)
        return 0;
    long waited = 0, pause = 1;
    int n;
    while ((n = sockleak_open_since(cp)) > 0 && waited < wait_ms) {
        long ms = pause < wait_ms - waited ? pause : wait_ms - waited;
        struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
        nanosleep(&ts, NULL);
        waited += ms;
        pause *= 2;
    }
    return n;
}

/* sockleak's text report of the sockets made since cp and still open (malloc'd, to be
 * freed), or NULL without the shim or memory. */
static inline char *sockleak_test_report(unsigned long cp)
{
    size_t size = 8192;
    for (int tries = 0; sockleak_report_since && tries < 4; tries++) {
        char *buf = (char *)malloc(size);
        long n = buf ? sockleak_report_since(cp, buf, size) : -1;
        if (n >= 0 && (size_t)n < size)
            return buf;
        free(buf);
        if (n < 0)
            break;
        size = (size_t)n + 4096; /* sockets may have come meanwhile */
    }
    return NULL;
}

/* The failure message for a check at file:line (malloc'd), or NULL if no socket made
 * since cp is still open after SOCKLEAK_TEST_WAIT_MS. */
static inline char *sockleak_test_failure(unsigned long cp, const char *file, int line)
{
    int n = sockleak_test_open_since(cp, SOCKLEAK_TEST_WAIT_MS);
    if (n <= 0)
        return NULL;
    char *report = sockleak_test_report(cp);
    size_t len = strlen(file) + (report ? strlen(report) : 0) + 128;
    char *msg = (char *)malloc(len);
    if (!msg)
        abort(); /* out of memory in a test */
    snprintf(msg, len, "%s:%d: %d socket%s left open by this test (sockleak):\n%s", file, line, n, n == 1 ? "" : "s",
             report ? report : "");
    free(report);
    return msg;
}

#ifndef SOCKLEAK_TEST_FAIL
#ifdef fail_msg /* cmocka.h */
#define SOCKLEAK_TEST_FAIL(msg) (print_error("%s", (msg)), free(msg), fail())
#else
#define SOCKLEAK_TEST_FAIL(msg) (fputs((msg), stderr), fflush(stderr), abort())
#endif
#endif

/* Remember this point; SOCKLEAK_VERIFY_NONE() in the same scope checks against it. */
#define SOCKLEAK_BEGIN() const unsigned long sockleak_test_cp_ = sockleak_test_checkpoint()

/* Fail the test if a socket made since SOCKLEAK_BEGIN() is still open. */
#define SOCKLEAK_VERIFY_NONE()                                                                  \
    do {                                                                                        \
        char *sockleak_test_msg_ = sockleak_test_failure(sockleak_test_cp_, __FILE__, __LINE__); \
        if (sockleak_test_msg_)                                                                 \
            SOCKLEAK_TEST_FAIL(sockleak_test_msg_);                                             \
    } while (0)

#endif
