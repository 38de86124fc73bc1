/*
 * prog.h - helpers for the programs whose reports the report tool's tests read.
 *
 * Each program does real socket work under the real shim (tests/report_tool/
 * shim_reports.py runs them with format=json) so that the tests read what the shim
 * writes, never a hand-made report. MUST() exits 90 with the line on failure.
 */
#ifndef REPORT_TOOL_PROG_H
#define REPORT_TOOL_PROG_H

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sockleak.h"

#define MUST(cond)                                                                                         \
    do {                                                                                                   \
        if (!(cond)) {                                                                                     \
            fprintf(stderr, "%s:%d: MUST(%s) failed: %s\n", __FILE__, __LINE__, #cond, strerror(errno));   \
            _exit(90);                                                                                     \
        }                                                                                                  \
    } while (0)

#define NOINLINE __attribute__((noinline))

static inline void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* A TCP listener on 127.0.0.1, ephemeral port; *addr gets its address. */
static inline int listen_local(struct sockaddr_in *addr)
{
    int l = socket(AF_INET, SOCK_STREAM, 0);
    MUST(l >= 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(a);
    MUST(bind(l, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(l, 4096) == 0);
    MUST(getsockname(l, (struct sockaddr *)addr, &len) == 0);
    return l;
}

/* Accept the connection c made to listener l and close it at once: c is left in
 * CLOSE_WAIT. */
static inline void hang_up_on(int l, int c, const struct sockaddr_in *addr)
{
    MUST(connect(c, (const struct sockaddr *)addr, sizeof(*addr)) == 0);
    int a = accept(l, NULL, NULL);
    MUST(a >= 0);
    MUST(close(a) == 0);
}

#endif
