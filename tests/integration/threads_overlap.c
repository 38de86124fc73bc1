// Threads racing on the SAME fd numbers, as buggy programs do: each thread picks
// numbers at random in one shared small range and calls socket, socketpair, dup,
// dup2, dup3, fcntl(F_DUPFD), close, close_range on them, and opens non-sockets
// (/dev/null) that take the numbers over, closing each other's fds all the time.
// Every 100 ms they all pause, and the registry must match the kernel exactly: a
// report asked for through the API then lists every socket open, with its inode, and
// nothing else (zero phantom, zero missing); so must the exit report.
// The run lasts SOCKLEAK_STRESS_SECONDS (default 2; make check-stress: 15).
// TIMEOUT: 120
// EXPECT: v("ops") > 10000 and v("api_failed") == 0 and v("checks") >= 10
// EXPECT: truth() == j("truth") and r["summary"]["live"] == len(j("truth"))
// EXPECT: [truth(x) for x in mine if x["reason"] == "api"] == [j("truth_%d" % i) for i in range(v("checks"))]
// EXPECT: r["coverage"]["untracked"] == 0
#include <fcntl.h>
#include <linux/close_range.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/syscall.h>

#include "common.h"

#define THREADS 4
#define LO 3
#define SPAN 48

static atomic_int stop, pausing;
static pthread_barrier_t paused, resumed;
static atomic_long ops;

static int pick(unsigned *seed)
{
    return LO + (int)(rand_r(seed) % SPAN);
}

/* A new fd outside the shared range is closed at once: all the action stays in it. */
static void confine(int fd)
{
    if (fd >= LO + SPAN)
        close(fd);
}

static void *racer(void *arg)
{
    unsigned seed = (unsigned)(long)arg * 2654435761u;
    long n = 0;
    while (!atomic_load(&stop)) {
        if (atomic_load(&pausing)) {
            pthread_barrier_wait(&paused);
            pthread_barrier_wait(&resumed);
            continue;
        }
        int a = pick(&seed), b = pick(&seed), sv[2];
        switch (rand_r(&seed) % 12) {
        case 0:
        case 1:
            confine(socket(rand_r(&seed) % 2 ? AF_INET : AF_UNIX, SOCK_STREAM, 0));
            break;
        case 2:
            if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == 0) {
                confine(sv[0]);
                confine(sv[1]);
                if (rand_r(&seed) % 2)
                    close(sv[0]);
            }
            break;
        case 3:
            confine(dup(a));
            break;
        case 4:
            dup2(a, b);
            break;
        case 5:
            dup3(a, b, O_CLOEXEC);
            break;
        case 6:
            confine(fcntl(a, rand_r(&seed) % 2 ? F_DUPFD : F_DUPFD_CLOEXEC, b));
            break;
        case 7:
        case 8:
            close(a);
            break;
        case 9:
            close_range((unsigned)a, (unsigned)a + rand_r(&seed) % 4, 0);
            break;
        case 10:
            confine(open("/dev/null", O_RDONLY));
            break;
        case 11: /* keep the range from filling up */
            if (rand_r(&seed) % 8 == 0)
                close_range(LO, LO + SPAN, 0);
            else
                close(b);
            break;
        }
        n++;
    }
    atomic_fetch_add(&ops, n);
    return NULL;
}

int main(void)
{
    const char *s = getenv("SOCKLEAK_STRESS_SECONDS");
    int seconds = s ? atoi(s) : 2;
    MUST(sockleak_report != NULL);
    pthread_barrier_init(&paused, NULL, THREADS + 1);
    pthread_barrier_init(&resumed, NULL, THREADS + 1);
    pthread_t t[THREADS];
    for (long i = 0; i < THREADS; i++)
        MUST(pthread_create(&t[i], NULL, racer, (void *)(i + 1)) == 0);
    int checks = 0, api_failed = 0;
    for (long ms = 0; ms < seconds * 1000L; ms += 100) {
        sleep_ms(100);
        atomic_store(&pausing, 1);
        pthread_barrier_wait(&paused);
        atomic_store(&pausing, 0);
        api_failed += sockleak_report() != 0;
        char name[32];
        snprintf(name, sizeof(name), "truth_%d", checks++);
        print_truth_named(name);
        pthread_barrier_wait(&resumed);
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    printf("ops=%ld api_failed=%d checks=%d\n", atomic_load(&ops), api_failed, checks);
    print_truth();
    return 0;
}
