// A process that ends without exit() writes no report and leaves nothing behind:
// _exit() (with the background thread running and sockets open) and SIGKILL sent to
// itself; no file is created in the log directory or in $TMPDIR, and the exit statuses
// are the ones the host asked for. A SIGTERM it sends itself and does not handle is a
// way to exit: its report is written first (self_kill.c), once.
// OPTIONS: scan_interval=100ms
// ENV: TMPDIR=%T
// RUN: %t _exit ; echo s_exit=$? ; %t kill ; echo s_kill=$? ; %t term ; echo s_term=$? ; %t ok ; echo s_ok=$? ; echo files=$(ls -A %T | grep -v '^report\.[0-9]*\.jsonl$' | wc -l) reports=$(ls %T | wc -l)
// EXPECT: v("s_exit") == 7 and v("s_kill") == 128 + 9 and v("s_term") == 128 + 15 and v("s_ok") == 0
// EXPECT: len(reports) == 2 and [x["reason"] for x in reports] == ["exit", "exit"] and v("files") == 0
// EXPECT: v("reports") == 2 and len({x["pid"] for x in reports}) == 2
#include <pthread.h>
#include <signal.h>

#include "common.h"

static void *spin(void *arg)
{
    (void)arg;
    for (;;) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        close(s);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    MUST(argc == 2);
    int port, l = listen_local(&port);
    struct sockaddr_in a = local_addr(port);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    MUST(connect(c, (struct sockaddr *)&a, sizeof(a)) == 0);
    pthread_t t;
    MUST(pthread_create(&t, NULL, spin, NULL) == 0);
    sleep_ms(300); /* the background thread has scanned at least once */
    if (!strcmp(argv[1], "_exit"))
        _exit(7);
    if (!strcmp(argv[1], "kill"))
        kill(getpid(), SIGKILL);
    if (!strcmp(argv[1], "term"))
        kill(getpid(), SIGTERM);
    sleep_ms(100);
    (void)l;
    exit(0);
}
