// `sockleak dump` without a signal: a client of the same user connects to the
// abstract socket "sockleak.PID", sends "dump", and is told where the report went
// (status ok, the log file). The program meanwhile sleeps in nanosleep() and is not
// woken: its sleep is not cut short, no EINTR, no signal. A root client is answered
// too; a client of another user (uid 65534) is refused (that part needs root).
// RUN: %t %T
// EXPECT: v("slept_ms") >= 1500 and v("eintr") == 0
// EXPECT: j("answer")[1:3] == ["ok", "%s/report.%d.jsonl" % (j("tmp"), pid)] and j("answer")[0] == "sockleak 1"
// EXPECT: j("server") == pid
// EXPECT: [x["reason"] for x in mine] == ["dump", "exit"]
// EXPECT: j("other_user")[1] == "refused" if j("root") else j("other_user") is None
#include <pthread.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "common.h"

/* Ask pid for a dump as uid (-1: our own); print the answer's fields as JSON. */
static void ask(const char *name, pid_t pid, int uid)
{
    int pfd[2];
    MUST(pipe(pfd) == 0);
    pid_t c = fork();
    MUST(c >= 0);
    if (c == 0) {
        close(pfd[0]);
        if (uid >= 0 && (setgid((gid_t)uid) != 0 || setuid((uid_t)uid) != 0))
            _exit(4);
        int s = socket(AF_UNIX, SOCK_STREAM, 0);
        struct sockaddr_un a = { .sun_family = AF_UNIX };
        int n = snprintf(a.sun_path + 1, sizeof(a.sun_path) - 1, "sockleak.%d", (int)pid);
        if (connect(s, (struct sockaddr *)&a, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)) != 0)
            _exit(5);
        struct ucred cr;
        socklen_t len = sizeof(cr);
        MUST(getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0);
        MUST(write(s, "dump\n", 5) == 5);
        char buf[4096];
        ssize_t got = 0, r;
        while ((r = read(s, buf + got, sizeof(buf) - 1 - (size_t)got)) > 0)
            got += r;
        buf[got] = '\0';
        char *nl = strchr(buf, '\n');
        if (nl)
            *nl = '\0';
        dprintf(pfd[1], "%d\t%s", (int)cr.pid, buf);
        _exit(0);
    }
    close(pfd[1]);
    char line[4096];
    ssize_t n = read(pfd[0], line, sizeof(line) - 1);
    close(pfd[0]);
    int st;
    MUST(waitpid(c, &st, 0) == c);
    if (n <= 0) {
        printf("%s=null\n", name);
        return;
    }
    line[n] = '\0';
    char *fields = strchr(line, '\t');
    MUST(fields != NULL);
    *fields++ = '\0';
    if (uid < 0)
        printf("server=%s\n", line);
    printf("%s=[", name);
    for (char *f = fields, *t; f; f = t) {
        t = strchr(f, '\t');
        if (t)
            *t++ = '\0';
        printf("\"%s\"%s", f, t ? ", " : "");
    }
    printf("]\n");
}

static void *sleeper(void *arg)
{
    struct timespec t0, t1, want = { 1, 500 * 1000 * 1000 }, left;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int r = nanosleep(&want, &left);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    int *out = arg;
    out[0] = (int)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
    out[1] = r != 0 && errno == EINTR;
    return NULL;
}

int main(int argc, char **argv)
{
    MUST(argc == 2);
    int s = socket(AF_INET, SOCK_STREAM, 0); /* the shim's worker, and its control socket, start here */
    MUST(s >= 0);
    sleep_ms(200);
    int result[2] = { 0, 0 };
    pthread_t t;
    MUST(pthread_create(&t, NULL, sleeper, result) == 0);
    sleep_ms(100);
    ask("answer", getpid(), -1);
    ask("other_user", getpid(), getuid() == 0 ? 65534 : -2);
    MUST(pthread_join(t, NULL) == 0);
    printf("slept_ms=%d eintr=%d\nroot=%s\ntmp=\"%s\"\n", result[0], result[1], getuid() == 0 ? "true" : "false", argv[1]);
    return 0;
}
