// Threads: several threads create, dup, dup2 and close sockets concurrently on
// overlapping fd numbers; when they stop, each keeps an exact number open. The report
// must match the kernel's view exactly: same fds, same inodes, no phantom, none missing.
// TIMEOUT: 60
// EXPECT: r["summary"]["live"] == v("expected") == len(j("truth"))
// EXPECT: truth() == j("truth")
// EXPECT: r["coverage"]["untracked"] == 0
// EXPECT: all(fn(s) in ("churn", "keep") for s in r["sockets"])
#include <pthread.h>

#include "common.h"

#define THREADS 4
#define KEEP 25

static NOINLINE int keep(void)
{
    return socket(AF_INET, SOCK_DGRAM, 0);
}

static NOINLINE void churn(unsigned seed)
{
    int mine[8] = { -1, -1, -1, -1, -1, -1, -1, -1 };
    for (int i = 0; i < 20000; i++) {
        int k = (int)(rand_r(&seed) % 8);
        switch (rand_r(&seed) % 4) {
        case 0:
            if (mine[k] < 0)
                mine[k] = socket(AF_INET, SOCK_STREAM, 0);
            break;
        case 1:
            if (mine[k] >= 0) {
                close(mine[k]);
                mine[k] = -1;
            }
            break;
        case 2:
            if (mine[k] >= 0) {
                int d = dup(mine[k]);
                close(mine[k]);
                mine[k] = d;
            }
            break;
        case 3: {
            int j = (k + 1) % 8;
            if (mine[k] >= 0 && mine[j] >= 0 && mine[k] != mine[j]) {
                dup2(mine[k], mine[j]); /* closes j's socket, j now copies k */
            }
            break;
        }
        }
    }
    for (int k = 0; k < 8; k++)
        if (mine[k] >= 0)
            close(mine[k]);
}

static void *worker(void *arg)
{
    churn((unsigned)(long)arg * 7919u + 1);
    for (int i = 0; i < KEEP; i++)
        MUST(keep() >= 0);
    return NULL;
}

int main(void)
{
    pthread_t t[THREADS];
    for (long i = 0; i < THREADS; i++)
        MUST(pthread_create(&t[i], NULL, worker, (void *)i) == 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    printf("expected=%d\n", THREADS * KEEP);
    print_truth();
    return 0;
}
