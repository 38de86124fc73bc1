#!/bin/sh
# deps.sh - the programs `make bench` drives: nginx, redis, wrk, valgrind, strace,
# hyperfine (and perf, optional): the bench and bench-optional sections of
# deps/debian.txt. As root, installs the missing ones with apt-get; otherwise prints
# the command, and run.py leaves out the rows it cannot measure.
set -u
DEPS="$(dirname "$0")/../scripts/deps.sh"

m=$("$DEPS" missing bench | tr '\n' ' ')
o=$("$DEPS" missing bench-optional | tr '\n' ' ')
[ -z "$m$o" ] && exit 0
if [ "$(id -u)" != 0 ]; then
    [ -n "$m" ] && echo "bench: missing packages: $m(rows that need them are left out)" >&2
    echo "bench: to install them: sudo apt-get install -y $m$o" >&2
    exit 0
fi
echo "bench: installing $m$o" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null 2>&1 || echo "bench: apt-get update failed" >&2
# services that start on installation (nginx on :80, redis on :6379) are not used:
# the benchmarks start their own on free loopback ports
# shellcheck disable=SC2086 # one word per package
[ -n "$m" ] && { apt-get install -y -qq --no-install-recommends $m >/dev/null || echo "bench: could not install $m" >&2; }
# shellcheck disable=SC2086
[ -n "$o" ] && { apt-get install -y -qq --no-install-recommends $o >/dev/null 2>&1 || echo "bench: (optional) could not install $o" >&2; }
exit 0
