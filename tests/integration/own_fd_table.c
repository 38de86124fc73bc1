// The shim's background thread keeps an fd table of its own (own_fd_table=1, the
// default): none of the program's sockets is in it, so the program's table has one
// user and the program's close is always the last one; the thread still sees every
// socket (its scans find the CLOSE_WAIT, the dump report has addresses and states).
// With own_fd_table=0 the thread shares the program's table, as any thread would. In
// neither mode does the shim leave a directory fd of its own (for /proc/self/fd) in
// the program's table, after scans, a dump and a report written by the program's
// thread.
// RUN: SOCKLEAK_OPTIONS="$SOCKLEAK_OPTIONS:scan_interval=50ms:close_wait_after=0:log_path=%T/own.jsonl" %t %T/own.out
// RUN: SOCKLEAK_OPTIONS="$SOCKLEAK_OPTIONS:scan_interval=50ms:close_wait_after=0:log_path=%T/shared.jsonl:own_fd_table=0" %t %T/shared.out
// EXPECT: readf("own.out") == "in_thread_table=0\nproc_dirs=0\n" and readf("shared.out") == "in_thread_table=3\nproc_dirs=0\n"
// EXPECT: [x["reason"] for x in jsonl("own.jsonl")] == ["signal", "api", "exit"]
// EXPECT: [(s["fd"], s["state"], s["leak"]) for s in jsonl("own.jsonl")[0]["sockets"]] == [(v("l"), "LISTEN", None), (v("c"), "FIN_WAIT2", None), (v("s"), "CLOSE_WAIT", "close_wait")]
// EXPECT: jsonl("own.jsonl")[0]["sockets"][2]["peer"] == "127.0.0.1:%d" % v("cport")
// EXPECT: [s["state"] for s in jsonl("shared.jsonl")[0]["sockets"]] == ["LISTEN", "FIN_WAIT2", "CLOSE_WAIT"]
// ASAN: skip (under a sanitizer the thread keeps sharing the table: its reports must reach stderr)
#include <dirent.h>
#include <signal.h>

#include "common.h"

/* The tid of the shim's thread (named "sockleak"), 0 if none. */
static int shim_thread(void)
{
    DIR *d = opendir("/proc/self/task");
    MUST(d != NULL);
    struct dirent *e;
    int tid = 0;
    while (!tid && (e = readdir(d))) {
        char path[300], comm[32] = "";
        snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
        FILE *f = fopen(path, "re");
        if (!f)
            continue;
        if (fgets(comm, sizeof(comm), f) && !strcmp(comm, "sockleak\n"))
            tid = atoi(e->d_name);
        fclose(f);
    }
    closedir(d);
    return tid;
}

/* How many of the inodes in ino[] the thread tid's fd table holds. */
static int held_by(int tid, const unsigned long *ino, int n)
{
    char dir[64];
    snprintf(dir, sizeof(dir), "/proc/self/task/%d/fd", tid);
    DIR *d = opendir(dir);
    MUST(d != NULL);
    struct dirent *e;
    int found = 0;
    while ((e = readdir(d))) {
        char path[400], link[64];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        ssize_t k = readlink(path, link, sizeof(link) - 1);
        if (k <= 0)
            continue;
        link[k] = '\0';
        unsigned long x;
        if (sscanf(link, "socket:[%lu]", &x) == 1)
            for (int i = 0; i < n; i++)
                found += x == ino[i];
    }
    closedir(d);
    return found;
}

int main(int argc, char **argv)
{
    MUST(argc == 2);
    int port, l = listen_local(&port);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = local_addr(port);
    MUST(connect(c, (struct sockaddr *)&a, sizeof(a)) == 0);
    int s = accept(l, NULL, NULL);
    MUST(s >= 0);
    struct sockaddr_in ca;
    socklen_t calen = sizeof(ca);
    MUST(getsockname(c, (struct sockaddr *)&ca, &calen) == 0);
    printf("l=%d c=%d s=%d cport=%d\n", l, c, s, ntohs(ca.sin_port));
    fflush(stdout);
    int fds[3] = { l, s, c }, tid = 0;
    unsigned long ino[3];
    for (int i = 0; i < 3; i++) {
        struct stat st;
        MUST(fstat(fds[i], &st) == 0);
        ino[i] = (unsigned long)st.st_ino;
    }
    for (int i = 0; i < 500 && !(tid = shim_thread()); i++)
        usleep(10000);
    MUST(tid > 0);
    /* the peer hangs up: s goes to CLOSE_WAIT, c to FIN_WAIT2 (kept open: a leak) */
    MUST(shutdown(c, SHUT_WR) == 0);
    wait_state(s, TCP_CLOSE_WAIT);
    usleep(300000); /* several scans */
    FILE *o = fopen(argv[1], "we");
    MUST(o != NULL);
    fprintf(o, "in_thread_table=%d\n", held_by(tid, ino, 3));
    fclose(o);
    raise(SIGUSR2);
    usleep(300000);
    MUST(sockleak_report() == 0);
    /* directories of /proc in this program's table: none but the one listing them */
    DIR *d = opendir("/proc/self/fd");
    MUST(d != NULL);
    int dirs = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (atoi(e->d_name) != dirfd(d) && e->d_name[0] != '.') {
            char path[300], link[300];
            snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
            ssize_t k = readlink(path, link, sizeof(link) - 1);
            dirs += k > 6 && !strncmp(link, "/proc/", 6);
        }
    closedir(d);
    o = fopen(argv[1], "ae");
    MUST(o != NULL);
    fprintf(o, "proc_dirs=%d\n", dirs);
    fclose(o);
    return 0;
}
