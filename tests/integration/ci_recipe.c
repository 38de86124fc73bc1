// examples/ci/sockleak-check.sh, the CI recipe: a suite whose program leaks fails the
// build (exit 1) with one line naming the leak; --max-leaked allows that many; a
// clean suite passes; a failing suite keeps its own exit status.
// PRELOAD: launcher
// RUN: export SOCKLEAK=%sockleak SOCKLEAK_CLOSE_WAIT_AFTER=200ms
// RUN: SOCKLEAK_REPORT_DIR=%T/a sh %S/../../examples/ci/sockleak-check.sh -- %B/examples/leaky_client 5 1; echo "leaky=$?"
// RUN: SOCKLEAK_REPORT_DIR=%T/b sh %S/../../examples/ci/sockleak-check.sh --max-leaked 3 -- %B/examples/leaky_client 5 1 >/dev/null; echo "allowed=$?"
// RUN: SOCKLEAK_REPORT_DIR=%T/c sh %S/../../examples/ci/sockleak-check.sh -- %B/examples/fixed_client 5 1 >/dev/null; echo "fixed=$?"
// RUN: SOCKLEAK_REPORT_DIR=%T/d sh %S/../../examples/ci/sockleak-check.sh -- %t 3 >/dev/null; echo "failing=$?"
// EXPECT: v("leaky") == 1 and v("allowed") == 0 and v("fixed") == 0 and v("failing") == 3
// STDOUT: ^sockleak: leaky_client \(pid \d+\): 3 leaked \(close_wait 3\) at fetch_user \(leaky_client\+0x[0-9a-f]+\) \[[0-9a-f]{16}\]$
// STDOUT: ^sockleak: 3 leaked socket\(s\) in 1 process\(es\) \(allowed: 0\)
#include "common.h"

int main(int argc, char **argv)
{
    return argc > 1 ? atoi(argv[1]) : 0; /* a test suite that fails with this status */
}
