#!/usr/bin/env bash
# demo.sh - what `make demo` runs: a leaky client under sockleak, and its report.
#
# Runs build/examples/leaky_client through scripts/sockleak with a short CLOSE_WAIT
# threshold, shows the report (stderr) as it comes, and checks that it names the leak:
# the sockets stuck in CLOSE_WAIT and fetch_user, the function that opened them.
# Exit status: 0 if the report shows the leak, 1 otherwise. Works from any directory.
set -euo pipefail

cd -- "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/.."

EXAMPLE=build/examples/leaky_client
LEAKER=fetch_user

fail() {
    printf 'demo: %s\n' "$1" >&2
    exit 1
}

[[ -f build/libsockleak.so ]] || fail "build/libsockleak.so is missing: run 'make demo' (or 'make' first)"
[[ -x $EXAMPLE ]] || fail "$EXAMPLE is missing: run 'make demo' (or 'make' first)"

cat <<EOF
== sockleak demo =========================================================

$EXAMPLE asks a small upstream server (a thread of its own)
for five users. Its function $LEAKER() forgets close() when the upstream
answers "ERR" or hangs up, so every failed request leaves a socket behind in
CLOSE_WAIT (the peer has closed, we never did). The program then waits
3 seconds and exits normally.

We run it under sockleak, counting a socket as leaked after 1s in CLOSE_WAIT:

  \$ scripts/sockleak --close-wait-after 1s -- $EXAMPLE 5 3

The program's own output comes first; sockleak's report (on stderr) follows
when it exits. Look for frame #0: the line of code that opened the sockets.
--------------------------------------------------------------------------
EOF

report=$(mktemp "${TMPDIR:-/tmp}/sockleak-demo.XXXXXX")
trap 'rm -f -- "$report"' EXIT

# stdout goes straight to the terminal; stderr (the report) is shown and kept
status=0
{ scripts/sockleak --close-wait-after 1s -- "$EXAMPLE" 5 3 2>&1 1>&3 3>&- | tee -- "$report" >&2; } 3>&1 || status=$?

cat <<EOF
--------------------------------------------------------------------------

The same report for tools (JSON Lines, one object per report), into a file:

  \$ scripts/sockleak --json --log /tmp/sockleak.%p.jsonl --close-wait-after 1s -- $EXAMPLE

A long-running process can be asked for a report at any time (it keeps running):

  \$ scripts/sockleak -- ./your-server &
  \$ scripts/sockleak dump PID          # through its control socket: no signal

The fix is in examples/fixed_client.c; examples/leaky_server.c shows the same bug
in a poll() server. 'scripts/sockleak --help' lists every option.
==========================================================================
EOF

((status == 0)) || fail "$EXAMPLE exited with status $status"
# a line about CLOSE_WAIT that is not the totals line saying "0 in CLOSE_WAIT"
awk '/CLOSE_WAIT/ && !/(^|[^0-9])0 in CLOSE_WAIT/ { found = 1 } END { exit !found }' "$report" \
    || fail "the report shows no socket in CLOSE_WAIT: the leak was not found"
grep -q "$LEAKER" "$report" || fail "the report does not name $LEAKER: the allocation stack is missing"
echo "demo: OK - sockleak found the sockets $LEAKER() leaked in CLOSE_WAIT"
