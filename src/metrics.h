/*
 * metrics.h - the summary a scan or a report leaves behind (metrics.c): what
 * sockleak_stats() returns and what the Prometheus textfile (metrics_path) says.
 */
#ifndef SOCKLEAK_METRICS_H
#define SOCKLEAK_METRICS_H

#include "report.h"

#define SL_M_FAMILIES 5                      /* inet, inet6, unix, netlink, other */
#define SL_M_STATE_NONE 0                    /* not a TCP socket */
#define SL_M_STATE_UNKNOWN SL_TCP_STATES     /* TCP, state not read by the last scan */
#define SL_M_STATES (SL_TCP_STATES + 1)

struct sl_metrics {
    int64_t at_ns;              /* CLOCK_MONOTONIC when taken; 0 = never */
    struct timespec wall;
    pid_t pid;
    const char *program;
    long live, listening, close_wait, leaked, ignored, stacks;
    long leaks[SL_LEAKS];
    long by_family_state[SL_M_FAMILIES][SL_M_STATES];
    int64_t close_wait_oldest_ns; /* -1 = none in CLOSE_WAIT */
    long open_fds, fd_limit;
    long opened, closed, reports, untracked, unseen, double_closes; /* counters, at publish time */
    uint64_t *stack_seen;       /* while summing: stack ids counted (malloc'd; NULL = no memory) */
    uint32_t stack_seen_n;
};

/* Start a summary taken at now_ns (allocates a small bitmap; sl_metrics_publish frees it). */
void sl_metrics_begin(struct sl_metrics *m, int64_t now_ns);
/* Count one socket whose leak is already classified. */
void sl_metrics_add(struct sl_metrics *m, const struct sl_rsock *s);
/* Count one socket as a scan saw it: state is a TCP state, SL_STATE_PEER_CLOSED,
 * SL_STATE_OPEN or 0 (not read); since_ns is when it entered CLOSE_WAIT (or its peer
 * closed), idle_ns its TCP idle time or -1. Classified with sl_report_classify. */
void sl_metrics_scan_sock(struct sl_metrics *m, const struct sl_rec_info *i, int state, int64_t since_ns,
                          int64_t idle_ns);
/* Finish m (counters, open_fds), make it the latest view, and write metrics_path if
 * set (a failure is said once on stderr). */
void sl_metrics_publish(struct sl_metrics *m, long open_fds);
/* A report's model as the latest view (report.c calls it for every report). */
void sl_metrics_report(const struct sl_report *r);
/* Copy the latest view; false if there is none yet (no scan, no report). */
bool sl_metrics_latest(struct sl_metrics *out);
/* The node_exporter textfile format (Prometheus text exposition 0.0.4). */
void sl_metrics_format(const struct sl_metrics *m, struct sl_buf *out);
/* Write the textfile atomically: path.tmp.<pid>, then rename. Returns 0 or -errno. */
int sl_metrics_write(const struct sl_metrics *m, const char *path);

#endif
