// The dump signal (default SIGUSR2) asks for a report at any time (reason "signal"),
// written by the shim's own thread; the host, which installs no handler, keeps
// running. dump_signal=SIGUSR1 moves it.
// OPTIONS: dump_signal=SIGUSR1
// EXPECT: [x["reason"] for x in mine] == ["signal", "exit"]
// EXPECT: mine[0]["summary"]["live"] == 2 and r["summary"]["live"] == 1
// EXPECT: v("alive") == 1
#include <signal.h>

#include "common.h"

int main(void)
{
    int a = socket(AF_INET, SOCK_STREAM, 0), b = socket(AF_INET, SOCK_DGRAM, 0);
    MUST(a >= 0 && b >= 0);
    MUST(kill(getpid(), SIGUSR1) == 0);
    sleep_ms(500); /* the report thread writes it */
    close(b);
    printf("alive=1\n");
    return 0;
}
