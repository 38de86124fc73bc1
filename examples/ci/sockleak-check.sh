#!/bin/sh
# sockleak-check.sh - run a test suite under sockleak and fail the build on leaked sockets.
#
#   examples/ci/sockleak-check.sh [--max-leaked N] [--] CMD [ARGS...]
#
# Runs CMD (make check, pytest, ctest...) under the launcher with JSON reports, one file
# per process: every program the suite starts inherits the preload. Then reads each
# process's last report and prints one line per leak (program, pid, count, where it
# was opened, stack id). Exit status: CMD's if it failed; else 1 if more than N sockets
# (default 0) leaked in all; else 0.
#
# Environment: SOCKLEAK (the launcher; default `sockleak`, as installed),
# SOCKLEAK_REPORT_DIR (where reports go; default a new temporary directory, kept:
# upload it as a build artifact), SOCKLEAK_CLOSE_WAIT_AFTER (default 1s: tests are
# short), and any SOCKLEAK_OPTIONS (max_age=30s, say, to count long-open sockets too).
# Needs python3 (no jq). For one command, `sockleak --fail-on-leak [N] -- CMD` is the
# launcher's own gate.
set -u
max=0
if [ "${1:-}" = --max-leaked ]; then
    max=$2
    shift 2
fi
[ "${1:-}" != -- ] || shift
[ $# -gt 0 ] || { echo "usage: $0 [--max-leaked N] [--] CMD [ARGS...]" >&2; exit 2; }
dir=${SOCKLEAK_REPORT_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/sockleak-ci.XXXXXX")}
mkdir -p "$dir"
"${SOCKLEAK:-sockleak}" --json --log "$dir/sockleak.%p.jsonl" \
    --close-wait-after "${SOCKLEAK_CLOSE_WAIT_AFTER:-1s}" -- "$@"
status=$?
python3 - "$dir" "$max" <<'PY'
import glob, json, sys
dir, most = sys.argv[1], int(sys.argv[2])
last = {}
for path in sorted(glob.glob(dir + "/sockleak.*.jsonl")):
    for line in open(path, encoding="utf-8"):
        r = json.loads(line)
        last[r["pid"]] = r  # a process's last report (at exit) has its final state
total = 0
for pid, r in sorted(last.items()):
    stacks = {s["id"]: s["frames"] for s in r["stacks"]}
    for g in r["groups"]:
        if not g["leaked"]:
            continue
        total += g["leaked"]
        where = next((f for f in stacks.get(g["stack"], []) if f["function"]), None)
        at = "%s (%s+%s)" % (where["function"], where["module"].rsplit("/", 1)[-1], where["module_offset"]) if where else "?"
        print("sockleak: %s (pid %d): %d leaked (%s) at %s [%s]" % (r["program"], pid, g["leaked"],
              ", ".join("%s %d" % kv for kv in g["leaks"].items()), at, g["stack"]))
print("sockleak: %d leaked socket(s) in %d process(es) (allowed: %d); reports in %s" % (total, len(last), most, dir))
sys.exit(1 if total > most else 0)
PY
leaks=$?
[ "$status" -eq 0 ] || exit "$status"
exit "$leaks"
