// A host whose SIGTERM handler calls exit() (not async-signal-safe, but common), hit
// while its main thread is busy in socket() and close(): often the signal lands while
// that thread is inside the shim, holding one of its locks. The exit report then runs
// on the same thread: it must not wait for a lock its own thread holds. Each of 20
// runs (SOCKLEAK_EXIT_RUNS; make check-stress: 300, as about one in 150 hits a lock)
// must exit promptly with the handler's status, and write a whole exit report or, if
// it could not, none and one line saying why; never hang.
// TIMEOUT: 100
// RUN: for i in $(seq ${SOCKLEAK_EXIT_RUNS:-20}); do %t %T/ready$i & P=$! ; while [ ! -e %T/ready$i ]; do sleep 0.005; done ; sleep 0.0$((i % 10)) ; kill -TERM $P ; timeout 10 sh -c "while kill -0 $P 2>/dev/null; do sleep 0.01; done" || { echo hung=$i ; kill -KILL $P ; } ; wait $P ; echo "status_$i=$?" ; done ; echo done=1
// EXPECT: v("done") == 1 and "hung=" not in out
// EXPECT: all(v("status_%d" % i) == 7 for i in range(1, 21))
// EXPECT: all(re.fullmatch(r"sockleak: handler_exits \(pid \d+\): no exit report: exit\(\) was called from a signal handler that interrupted sockleak", l) for l in err.splitlines())
// EXPECT: all(x["reason"] == "exit" for x in reports)
#include <fcntl.h>
#include <signal.h>

#include "common.h"

static void on_term(int sig)
{
    (void)sig;
    exit(7);
}

int main(int argc, char **argv)
{
    MUST(argc == 2);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_term;
    MUST(sigaction(SIGTERM, &sa, NULL) == 0);
    close(open(argv[1], O_CREAT | O_WRONLY, 0600)); /* ready for the signal */
    int held[4] = { -1, -1, -1, -1 };
    for (long i = 0;; i++) {
        int k = (int)(i % 4);
        if (held[k] >= 0)
            close(held[k]);
        held[k] = socket(AF_INET, SOCK_DGRAM, 0);
    }
}
