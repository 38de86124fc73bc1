// A host's signal handler that closes tracked sockets, run while the interrupted
// thread is inside the shim's socket() and close() wrappers (the signals are aimed at
// the busy thread, thousands of times): no deadlock, no crash, and the exit report
// lists exactly the sockets the kernel says are open (ground truth: /proc/self/fd).
// The handler is installed for SIGUSR1 and for the dump signal SIGUSR2 (chained).
// TIMEOUT: 60
// EXPECT: v("closed_by_handler") > 100 and v("loops") == 200000
// EXPECT: truth() == j("truth") and r["summary"]["live"] == len(j("truth"))
// EXPECT: r["coverage"]["untracked"] == 0
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

#include "common.h"

#define VICTIMS 600

static int victims[VICTIMS];
static atomic_int next_victim, stop;
static pthread_t busy;

static void closer(int sig)
{
    (void)sig;
    int saved = errno;
    int i = atomic_fetch_add(&next_victim, 1);
    if (i < VICTIMS)
        close(victims[i]);
    errno = saved;
}

static void *sender(void *arg)
{
    (void)arg;
    for (long i = 0; !atomic_load(&stop); i++) {
        pthread_kill(busy, i % 10 == 0 ? SIGUSR2 : SIGUSR1);
        for (volatile int k = 0; k < 2000; k++)
            ;
    }
    return NULL;
}

int main(void)
{
    for (int i = 0; i < VICTIMS; i++)
        MUST((victims[i] = socket(i % 2 ? AF_INET : AF_UNIX, i % 3 ? SOCK_STREAM : SOCK_DGRAM, 0)) >= 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = closer;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    MUST(sigaction(SIGUSR1, &sa, NULL) == 0 && sigaction(SIGUSR2, &sa, NULL) == 0);
    busy = pthread_self();
    pthread_t t;
    MUST(pthread_create(&t, NULL, sender, NULL) == 0);
    int loops = 0, held[4] = { -1, -1, -1, -1 };
    for (int i = 0; i < 200000; i++, loops++) {
        int k = i % 4;
        if (held[k] >= 0)
            close(held[k]);
        held[k] = socket(AF_INET, SOCK_DGRAM, 0);
    }
    atomic_store(&stop, 1);
    pthread_join(t, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGUSR1, &sa, NULL);
    int n = atomic_load(&next_victim);
    printf("closed_by_handler=%d loops=%d\n", n < VICTIMS ? n : VICTIMS, loops);
    print_truth();
    return 0;
}
