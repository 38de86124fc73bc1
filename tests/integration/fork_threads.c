// fork() while other threads create, dup and close sockets: no deadlock (the atfork
// handlers take the registry's locks; a child must never inherit one held), and every
// child, which exits with exit(), writes its own exit report, which parses, lists the
// socket the child made with its stack, and lists only sockets really open in the
// child (no phantom: each (fd, inode) is in the child's /proc/self/fd).
// 200 forks; SOCKLEAK_FORKS sets another number (make check-tsan: 30, TSan forks slowly).
// TIMEOUT: 120
// EXPECT: v("forks") == v("wanted") >= 30 and v("hung") == 0 and v("bad_status") == 0
// EXPECT: len(others) == v("forks") and all(o["reason"] == "exit" for o in others)
// EXPECT: all(any(s["fd"] == j("child_%d" % o["pid"])["mine"] and fn(s, rep=o) == "child_socket" for s in o["sockets"]) for o in others)
// EXPECT: all(all(x in j("child_%d" % o["pid"])["truth"] for x in truth(o)) for o in others)
// EXPECT: r["summary"]["live"] == len(j("truth")) and truth() == j("truth")
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>

#include "common.h"


static atomic_int stop, started;

static void *churn(void *arg)
{
    unsigned seed = (unsigned)(long)arg;
    int mine[16];
    for (int k = 0; k < 16; k++)
        mine[k] = -1;
    atomic_fetch_add(&started, 1);
    while (!atomic_load(&stop)) {
        int k = (int)(rand_r(&seed) % 16);
        if (mine[k] < 0) {
            mine[k] = rand_r(&seed) % 2 ? socket(AF_INET, SOCK_STREAM, 0) : socket(AF_UNIX, SOCK_DGRAM, 0);
        } else if (rand_r(&seed) % 3 == 0) {
            int d = dup(mine[k]);
            close(mine[k]);
            mine[k] = d;
        } else {
            close(mine[k]);
            mine[k] = -1;
        }
    }
    for (int k = 0; k < 16; k++)
        if (mine[k] >= 0)
            close(mine[k]);
    return NULL;
}

static NOINLINE int child_socket(void)
{
    return socket(AF_INET, SOCK_DGRAM, 0);
}

/* The child's own truth, on one line, printed with one write() so lines never mix. */
static void child_report_truth(int mine)
{
    char line[16384];
    int n = snprintf(line, sizeof(line), "child_%d={\"mine\":%d,\"truth\":[", (int)getpid(), mine);
    DIR *d = opendir("/proc/self/fd");
    MUST(d != NULL);
    struct dirent *e;
    int first = 1;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        int fd = atoi(e->d_name);
        struct stat st;
        if (fd == dirfd(d) || fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode))
            continue;
        n += snprintf(line + n, sizeof(line) - (size_t)n, "%s[%d,%lu]", first ? "" : ",", fd, (unsigned long)st.st_ino);
        first = 0;
    }
    closedir(d);
    n += snprintf(line + n, sizeof(line) - (size_t)n, "]}\n");
    MUST(write(1, line, (size_t)n) == n);
}

int main(void)
{
    int keep = socket(AF_INET, SOCK_STREAM, 0);
    MUST(keep >= 0);
    pthread_t t[2];
    for (long i = 0; i < 2; i++)
        MUST(pthread_create(&t[i], NULL, churn, (void *)(i + 1)) == 0);
    /* Fork only once both threads run: GCC 12's ASan runtime has no fork handlers, and a
     * fork while a thread is still being set up (ASan's thread start mallocs) can leave
     * one of its allocator locks held in the child, which then hangs in its first malloc
     * of that size (ours, starting the shim's thread, or the program's). */
    while (atomic_load(&started) < 2)
        sleep_ms(1);
    const char *e = getenv("SOCKLEAK_FORKS");
    int wanted = e ? atoi(e) : 200;
    int hung = 0, bad_status = 0, forks = 0;
    fflush(stdout);
    for (int i = 0; i < wanted; i++) {
        pid_t c = fork();
        MUST(c >= 0);
        if (c == 0) {
            int mine = child_socket();
            MUST(mine >= 0);
            child_report_truth(mine);
            exit(0); /* exit, not _exit: the child writes its own report */
        }
        forks++;
        int status = 0, done = 0;
        for (int w = 0; w < 2000 && !done; w++) { /* 20 s per child at most */
            pid_t r = waitpid(c, &status, WNOHANG);
            MUST(r >= 0);
            if (r == c)
                done = 1;
            else
                sleep_ms(10);
        }
        if (!done) {
            hung++;
            kill(c, SIGKILL);
            waitpid(c, &status, 0);
        } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            bad_status++;
        }
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    printf("wanted=%d forks=%d hung=%d bad_status=%d keep=%d\n", wanted, forks, hung, bad_status, keep);
    print_truth();
    return 0;
}
