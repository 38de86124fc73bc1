// The fast unwinder gives exactly libunwind's frames (unwinder=verify takes every
// stack with both and counts where they differ): from many call sites, in threads,
// inside a signal handler, and through code built with -O2 (the C library's). Once its
// rules are made (by the worker, from the first stacks), most stacks are taken fast.
// OPTIONS: unwinder=verify:scan_interval=20ms
// TIMEOUT: 60
// EXPECT: r["coverage"]["unwinder_mismatches"] == 0
// EXPECT: r["coverage"]["stacks_fast"] > 1000 and r["coverage"]["stacks_libunwind"] < r["coverage"]["stacks_fast"]
// EXPECT: v("in_handler") > 0
#include <pthread.h>
#include <signal.h>

#include "common.h"

static volatile sig_atomic_t in_handler;

static NOINLINE int leaf(int kind)
{
    return socket(kind & 1 ? AF_INET : AF_INET6, kind & 2 ? SOCK_DGRAM : SOCK_STREAM, 0);
}

static NOINLINE int middle(int kind, int depth)
{
    if (depth > 0)
        return middle(kind, depth - 1) + 0 * depth;
    return leaf(kind);
}

static int cmp(const void *a, const void *b)
{
    int fd = leaf(*(const int *)a); /* through qsort: libc's own -O2 frames in between */
    close(fd);
    return *(const int *)a - *(const int *)b;
}

static void on_usr1(int sig)
{
    (void)sig;
    int fd = leaf(1);
    if (fd >= 0) {
        close(fd);
        in_handler++;
    }
}

static void *worker(void *arg)
{
    long id = (long)arg;
    for (int i = 0; i < 400; i++) {
        int fd = middle((int)(i + id) & 3, i % 7);
        if (fd >= 0)
            close(fd);
        if (i % 100 == 0)
            sleep_ms(30); /* time for the worker to make rules */
    }
    return NULL;
}

int main(void)
{
    signal(SIGUSR1, on_usr1);
    pthread_t t[3];
    for (long k = 0; k < 3; k++)
        MUST(pthread_create(&t[k], NULL, worker, (void *)k) == 0);
    int v[16];
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < 16; i++)
            v[i] = (i * 7 + round) % 16;
        qsort(v, 16, sizeof(v[0]), cmp);
        raise(SIGUSR1);
        sleep_ms(5);
    }
    for (int k = 0; k < 3; k++)
        pthread_join(t[k], NULL);
    printf("in_handler=%d\n", (int)in_handler);
    return 0;
}
