// <sockleak_test.h> in a plain C test program: SOCKLEAK_VERIFY_NONE() passes a test that
// closed what it opened, and one whose socket another thread closes 30 ms later (the
// retry waits for it; without the wait it would count); it fails the test that left a
// socket open, printing sockleak's report of it (the function that opened it) and
// aborting, as assert() does. Without the shim every check passes.
// RUN: %t ; env -u LD_PRELOAD %t
// EXPECT: v("clean") == 0 and v("async_now") == 1 and v("async_waited") == 0
// EXPECT: v("leaky_count") == 1 and v("aborted") == 1
// EXPECT: re.search(r"test_helper.c:\d+: 1 socket left open by this test \(sockleak\):\n==\d+==sockleak: 1 socket left open since checkpoint \d+, opened at leaky_fetch \(test_helper.c:\d+\)", err)
// EXPECT: re.search(r"^    #0 0x[0-9a-f]+ in leaky_fetch ", err, re.M)
// EXPECT: "without_shim=1 verified=1" in out
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

#include "common.h"
#include "sockleak_test.h"

static int port;

static NOINLINE int leaky_fetch(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = local_addr(port);
    MUST(connect(s, (struct sockaddr *)&a, sizeof(a)) == 0);
    return s; /* never closed */
}

static void *close_later(void *arg)
{
    sleep_ms(30);
    close((int)(long)arg);
    return NULL;
}

static void test_clean(void)
{
    SOCKLEAK_BEGIN();
    close(leaky_fetch());
    SOCKLEAK_VERIFY_NONE();
    printf("clean=%d\n", sockleak_test_open_since(sockleak_test_cp_, 0));
}

static void test_async(void)
{
    SOCKLEAK_BEGIN();
    pthread_t t;
    MUST(pthread_create(&t, NULL, close_later, (void *)(long)leaky_fetch()) == 0);
    printf("async_now=%d\n", sockleak_test_open_since(sockleak_test_cp_, 0));
    SOCKLEAK_VERIFY_NONE(); /* passes once the other thread has closed it */
    printf("async_waited=%d\n", sockleak_test_open_since(sockleak_test_cp_, 0));
    pthread_join(t, NULL);
}

static void test_leaky(void)
{
    SOCKLEAK_BEGIN();
    leaky_fetch();
    printf("leaky_count=%d\n", sockleak_test_open_since(sockleak_test_cp_, 10));
    fflush(stdout);
    SOCKLEAK_VERIFY_NONE(); /* aborts */
    printf("not_aborted=1\n");
}

int main(void)
{
    int l = listen_local(&port);
    MUST(l >= 0);
    if (!sockleak_checkpoint) { /* not under the shim */
        test_leaky();
        printf("without_shim=1 verified=1\n");
        return 0;
    }
    test_clean();
    test_async();
    fflush(stdout);
    pid_t p = fork();
    if (p == 0) {
        test_leaky();
        _exit(0);
    }
    int st;
    MUST(waitpid(p, &st, 0) == p);
    printf("aborted=%d\n", WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
    return 0;
}
