// scripts/sockleak --fail-on-leak [N] -- CMD, a CI gate: CMD runs under the shim, its
// reports are checked when it exits. The leaky example exits 1 (and its text report is
// still shown, on stderr), the fixed one 0; a limit of 3 lets the example's 3 leaks
// pass; with --json --log the user's own file is used, and only this run's reports
// count; a non-zero exit status of CMD is returned as it is.
// PRELOAD: launcher
// RUN: %sockleak --fail-on-leak --close-wait-after 0 -- %B/examples/leaky_client 5 0 > /dev/null 2> %T/leaky.err; echo leaky=$?
// RUN: %sockleak --fail-on-leak -- %B/examples/fixed_client 5 0 > /dev/null 2> %T/fixed.err; echo fixed=$?
// RUN: %sockleak --fail-on-leak 3 --close-wait-after 0 -- %B/examples/leaky_client 5 0 > /dev/null 2>&1; echo allowed=$?
// RUN: %sockleak --fail-on-leak=0 --json --log %T/report.%p.jsonl --close-wait-after 0 -- %B/examples/leaky_client 5 0 > /dev/null 2> %T/own.err; echo own_log=$?
// RUN: %sockleak --fail-on-leak --json --log %T/report.%p.jsonl -- %B/examples/fixed_client 5 0 > /dev/null 2>&1; echo own_log_fixed=$?
// RUN: %sockleak --fail-on-leak --close-wait-after 0 -- %t 3 > /dev/null 2>&1; echo cmd_status=$?
// RUN: %sockleak --fail-on-leak -- true 2> %T/none.err; echo no_socket=$?
// EXPECT: (v("leaky"), v("fixed"), v("allowed"), v("own_log"), v("own_log_fixed"), v("cmd_status"), v("no_socket")) == (1, 0, 0, 1, 0, 3, 0)
// EXPECT: re.search(r"^==\d+==sockleak: 3 sockets stuck in CLOSE_WAIT for .*, opened at fetch_user \(", readf("leaky.err"), re.M)
// EXPECT: re.search(r"^sockleak check: FAIL: leaky_client \(pid \d+\): 3 leaked sockets, more than 0 allowed; worst: 3 at fetch_user", readf("leaky.err"), re.M)
// EXPECT: "sockleak check: OK: 1 report of 1 process, at most 0 leaked (limit 0)" in readf("fixed.err")
// EXPECT: [x["program"] for x in reports] == ["leaky_client", "fixed_client"] and "sockleak check: FAIL: leaky_client" in readf("own.err")
// EXPECT: "sockleak check: OK: no report to check" in readf("none.err")
#include "common.h"

int main(int argc, char **argv)
{
    int s = socket(AF_INET, SOCK_STREAM, 0), l = socket(AF_INET, SOCK_STREAM, 0);
    MUST(s >= 0 && l >= 0);
    return argc > 1 ? atoi(argv[1]) : 0;
}
