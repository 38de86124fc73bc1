// scripts/sockleak dump PID asks a running process for a report through the shim's
// control socket: the process keeps running, writes a "dump" report, and dump says
// where it went; dump --signal SIGUSR2 asks by signal (a "signal" report); then the
// exit report. dump refuses a process that does not run the shim (SIGUSR2's default
// action would kill it), and the process survives.
// PRELOAD: launcher
// RUN: %sockleak --json --log %T/report.%p.jsonl -- %t %T & P=$! ; while [ ! -e %T/ready ]; do sleep 0.05; done ; %sockleak dump $P > %T/dump.out 2>&1 ; echo dump_status=$? ; echo pid_p=$P ; echo 'tmp="%T"' ; %sockleak dump --signal SIGUSR2 $P > %T/signal.out 2>&1 ; echo signal_status=$? ; %sockleak --signal SIGUSR2 dump $P > %T/misplaced.out 2>&1 ; echo misplaced_status=$? ; sleep 0.5 ; touch %T/done ; wait $P ; sleep 30 & S=$! ; %sockleak dump $S 2>&1 ; echo refused_status=$? ; kill -0 $S && echo bystander_alive=1 ; kill $S
// EXPECT: v("dump_status") == 0 and v("signal_status") == 0 and v("refused_status") == 1 and v("bystander_alive") == 1
// EXPECT: readf("dump.out") == "sockleak: %d (launcher_dump): report written to %s/report.%d.jsonl\n" % (v("pid_p"), j("tmp"), v("pid_p"))
// EXPECT: readf("signal.out").startswith("sockleak: asked %d (launcher_dump) for a report with SIGUSR2" % v("pid_p"))
// EXPECT: v("misplaced_status") == 2 and "'dump' comes first" in readf("misplaced.out") and readf("misplaced.out").count("\n") == 1
// EXPECT: [x["reason"] for x in mine] == ["dump", "signal", "exit"]
// EXPECT: "does not run the shim" in out
// EXPECT: mine[0]["summary"]["live"] == 1
#include <fcntl.h>

#include "common.h"

int main(int argc, char **argv)
{
    MUST(argc == 2);
    MUST(socket(AF_INET, SOCK_STREAM, 0) >= 0);
    char ready[512], done[512];
    snprintf(ready, sizeof(ready), "%s/ready", argv[1]);
    snprintf(done, sizeof(done), "%s/done", argv[1]);
    close(open(ready, O_CREAT | O_WRONLY, 0600));
    for (int i = 0; i < 500 && access(done, F_OK) != 0; i++)
        sleep_ms(10);
    return 0;
}
