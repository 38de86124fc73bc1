// The program's main thread exits (pthread_exit) while another thread carries on. The
// shim's thread, in a table of its own, reached the program's fds through the main
// thread's table, which is gone: it says so, ends, and the next socket starts one that
// shares the table, so a dump asked for afterwards still sees every socket (and is not
// emptied by probes that all fail).
// OPTIONS: scan_interval=50ms
// ASAN: skip (under a sanitizer the thread keeps sharing the table: its reports must reach stderr)
// EXPECT: "main thread has exited" in err
// EXPECT: [x["reason"] for x in mine] == ["signal", "exit"]
// EXPECT: [fds(x) for x in mine] == [{v("first"), v("second")}] * 2
#include <pthread.h>
#include <signal.h>

#include "common.h"

static void *carry_on(void *arg)
{
    (void)arg;
    usleep(400000); /* the shim's thread wakes and finds the main thread's table gone */
    int second = socket(AF_INET, SOCK_DGRAM, 0);
    MUST(second >= 0);
    printf("second=%d\n", second);
    fflush(stdout);
    raise(SIGUSR2);
    usleep(400000);
    exit(0);
}

int main(void)
{
    int first = socket(AF_INET, SOCK_STREAM, 0);
    MUST(first >= 0);
    printf("first=%d\n", first);
    fflush(stdout);
    usleep(100000); /* the shim's thread has started and left the table */
    pthread_t t;
    MUST(pthread_create(&t, NULL, carry_on, NULL) == 0);
    pthread_exit(NULL);
}
