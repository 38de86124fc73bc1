#!/bin/sh
# check.sh - metrics_path against the real Prometheus tools (make check-prometheus).
#
# Runs examples/leaky_client under the shim with metrics_path in a fresh textfile
# directory (one file per process, %p) and, while it sleeps with its 3 leaked sockets
# in CLOSE_WAIT: `promtool check metrics` accepts the file; a real node_exporter, on
# 127.0.0.1 and a free port with only the textfile collector, serves its samples
# (scraped over HTTP) without a textfile error. Once the client has exited normally,
# its file is gone. Then the alert rules of examples/prometheus: `promtool check
# rules` and `promtool test rules`. Needs Debian's prometheus (promtool) and
# prometheus-node-exporter: without them it says SKIP and succeeds, unless
# SOCKLEAK_REQUIRE_PROMETHEUS=1 (CI). Prints one line per check and "N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "PASS [prometheus] $1"; }
bad() { fail=$((fail + 1)); echo "FAIL [prometheus] $1"; [ -z "${2:-}" ] || printf '%s\n' "$2" | sed 's/^/  /'; }
EXPORTER=$(command -v prometheus-node-exporter || command -v node_exporter || true)
if ! command -v promtool >/dev/null 2>&1 || [ -z "$EXPORTER" ]; then
    echo "SKIP [prometheus] promtool or node_exporter missing (apt-get install prometheus prometheus-node-exporter)"
    if [ "${SOCKLEAK_REQUIRE_PROMETHEUS:-0}" = 1 ]; then
        echo "prometheus: 0 passed, 1 failed"
        exit 1
    fi
    echo "prometheus: 0 passed, 0 failed, 1 skipped"
    exit 0
fi
T=$(mktemp -d /tmp/sockleak-prom-XXXXXX)
CLIENT=""
EXP=""
cleanup() {
    [ -z "$EXP" ] || kill "$EXP" 2>/dev/null
    [ -z "$CLIENT" ] || kill "$CLIENT" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
mkdir "$T/textfile"

# the leaky client: 3 sockets in CLOSE_WAIT, leaked after 200ms; it sleeps 2s, then exits
SOCKLEAK_OPTIONS="metrics_path=$T/textfile/sockleak-%p.prom:close_wait_after=200ms:scan_interval=100ms:log_path=$T/report.%p.txt" \
    LD_PRELOAD="$ROOT/build/libsockleak.so" "$ROOT/build/examples/leaky_client" 5 2 >"$T/client.out" 2>&1 &
CLIENT=$!
F=$T/textfile/sockleak-$CLIENT.prom
i=0
while [ $i -lt 100 ] && ! grep -qs '^sockleak_leaked_sockets{.*} 3$' "$F"; do
    sleep 0.05
    i=$((i + 1))
done
if grep -qs '^sockleak_leaked_sockets{pid="'"$CLIENT"'",program="leaky_client"} 3$' "$F"; then
    ok "the textfile shows the client's 3 leaked sockets, labelled with its pid"
else
    bad "no textfile with 3 leaked sockets" "$(ls -la "$T/textfile"; cat "$F" 2>&1 | head -20; cat "$T/client.out")"
fi
cp "$F" "$T/snapshot.prom" 2>/dev/null
if out=$(promtool check metrics <"$T/snapshot.prom" 2>&1) && [ -z "$out" ]; then
    ok "promtool check metrics accepts the file (no lint problem)"
else
    bad "promtool check metrics" "$out"
fi
ls "$T/textfile" | grep -v '\.prom$' >"$T/others" && bad "a temporary file is left in the textfile directory" "$(cat "$T/others")" ||
    ok "only *.prom files in the textfile directory"

# a real node_exporter serving the directory on a free loopback port
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$EXPORTER" --collector.disable-defaults --collector.textfile --collector.textfile.directory="$T/textfile" \
    --web.listen-address="127.0.0.1:$PORT" >"$T/exporter.log" 2>&1 &
EXP=$!
scraped=""
i=0
while [ $i -lt 100 ]; do
    if scraped=$(python3 -c 'import sys, urllib.request; print(urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=2).read().decode())' "$PORT" 2>/dev/null) \
        && printf '%s' "$scraped" | grep -q '^sockleak_'; then
        break
    fi
    sleep 0.05
    i=$((i + 1))
done
if printf '%s\n' "$scraped" | grep -q '^sockleak_leaked_sockets{pid="'"$CLIENT"'",program="leaky_client"} 3$' \
    && printf '%s\n' "$scraped" | grep -q '^sockleak_live_sockets{family="inet",pid="'"$CLIENT"'",program="leaky_client",state="CLOSE_WAIT"} 3$'; then
    ok "node_exporter serves the samples over HTTP (127.0.0.1:$PORT)"
else
    bad "node_exporter did not serve the samples" "$(printf '%s\n' "$scraped" | grep -E 'sockleak|textfile' | head -20; cat "$T/exporter.log" | tail -5)"
fi
if printf '%s\n' "$scraped" | grep -q '^node_textfile_scrape_error 0$'; then
    ok "node_exporter reports no textfile error"
else
    bad "node_textfile_scrape_error" "$(printf '%s\n' "$scraped" | grep -E 'textfile' | head; tail -5 "$T/exporter.log")"
fi
kill "$EXP" 2>/dev/null
wait "$EXP" 2>/dev/null
EXP=""

wait "$CLIENT"
CLIENT=""
if [ -e "$F" ]; then bad "the file outlived the process's normal exit" "$(ls -la "$T/textfile")"; else ok "the file is removed at exit"; fi

# the alert rules
if out=$(promtool check rules examples/prometheus/sockleak.rules.yml 2>&1); then ok "promtool check rules"; else bad "promtool check rules" "$out"; fi
if out=$(cd examples/prometheus && promtool test rules sockleak.rules.test.yml 2>&1); then
    ok "promtool test rules: each alert fires on a leaking process, none on a healthy one"
else
    bad "promtool test rules" "$out"
fi
echo "prometheus: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
