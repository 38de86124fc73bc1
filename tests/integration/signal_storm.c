// A storm of dump signals (2000 SIGUSR2: half sent by another process with kill(),
// half aimed with pthread_kill() at threads that are busy creating, duplicating and
// closing sockets, so many land inside the shim's wrappers): no deadlock, no torn
// report (every line of the log parses), requests are coalesced but none is lost
// (after the storm, once all is quiet, one more signal gets one more report, and it
// matches the kernel's view), and the exit report is there and matches it too.
// TIMEOUT: 60
// OPTIONS: scan_interval=10ms
// EXPECT: v("sent") == 2000 and v("killer_status") == 0
// EXPECT: len([x for x in mine if x["reason"] == "signal"]) >= 1
// EXPECT: max(x["timestamp"] for x in mine if x["reason"] == "signal") >= j("storm_end")
// EXPECT: v("after_storm_report") == 1
// EXPECT: truth([x for x in mine if x["reason"] == "signal"][-1]) == j("quiet_truth")
// EXPECT: r["reason"] == "exit" and mine[-1] is r
// EXPECT: truth() == j("truth") and r["summary"]["live"] == len(j("truth"))
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/time.h>
#include <sys/wait.h>

#include "common.h"

#define THREADS 3

static atomic_int stop;

static void *churn(void *arg)
{
    unsigned seed = (unsigned)(long)arg;
    int mine[8] = { -1, -1, -1, -1, -1, -1, -1, -1 };
    while (!atomic_load(&stop)) {
        int k = (int)(rand_r(&seed) % 8);
        if (mine[k] < 0) {
            mine[k] = socket(AF_INET, SOCK_STREAM, 0);
        } else if (rand_r(&seed) % 2) {
            int d = dup(mine[k]);
            close(mine[k]);
            mine[k] = d;
        } else {
            close(mine[k]);
            mine[k] = -1;
        }
    }
    for (int k = 0; k < 8; k++)
        if (mine[k] >= 0 && k % 2)
            close(mine[k]); /* the others stay open: the exit report lists them */
    return NULL;
}

/* Reports written so far: lines in our log file (the runner's log_path). */
static int report_lines(void)
{
    char path[512], buf[65536];
    snprintf(path, sizeof(path), "%s/report.%d.jsonl", test_dir(), (int)getpid());
    int fd = open(path, O_RDONLY), n = 0;
    if (fd < 0)
        return 0;
    ssize_t r;
    while ((r = read(fd, buf, sizeof(buf))) > 0)
        for (ssize_t i = 0; i < r; i++)
            n += buf[i] == '\n';
    close(fd);
    return n;
}

static void print_now(const char *name)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char b[64];
    strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%S", &tm);
    printf("%s=\"%s.%03ldZ\"\n", name, b, ts.tv_nsec / 1000000);
}

int main(void)
{
    int keep = socket(AF_INET, SOCK_DGRAM, 0);
    MUST(keep >= 0);
    pthread_t t[THREADS];
    for (long i = 0; i < THREADS; i++)
        MUST(pthread_create(&t[i], NULL, churn, (void *)(i + 1)) == 0);
    fflush(stdout);
    pid_t parent = getpid();
    pid_t killer = fork();
    MUST(killer >= 0);
    if (killer == 0) {
        for (int i = 0; i < 1000; i++)
            if (kill(parent, SIGUSR2) != 0)
                _exit(1);
        _exit(0);
    }
    int sent = 0;
    for (int i = 0; i < 1000; i++) {
        MUST(pthread_kill(t[i % THREADS], SIGUSR2) == 0);
        sent++;
        if (i % 50 == 0)
            sched_yield();
    }
    int status;
    MUST(waitpid(killer, &status, 0) == killer);
    sent += WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 1000 : 0;
    print_now("storm_end");
    atomic_store(&stop, 1);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    /* all quiet: the storm's reports are written; one more signal, one more report */
    sleep_ms(500);
    int before = report_lines(), after = before;
    MUST(before >= 1);
    print_truth_named("quiet_truth");
    MUST(kill(getpid(), SIGUSR2) == 0);
    for (int i = 0; i < 500 && (after = report_lines()) == before; i++)
        sleep_ms(10);
    printf("after_storm_report=%d\n", after - before);
    printf("sent=%d killer_status=%d\n", sent, status);
    print_truth();
    return 0;
}
