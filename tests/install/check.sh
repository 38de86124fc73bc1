#!/bin/sh
# check.sh - `make install` and `make uninstall`, tried for real (make check-install).
#
# Installs into a staging tree (DESTDIR) and checks the file list, the modes and what
# the installer wrote into the launcher and the pkg-config file; uninstalls and checks
# nothing is left. Then installs under a temporary PREFIX and uses what it installed:
# the installed launcher finds the installed library and reports on an example's
# leaks; pkg-config gives the header and the library; a program built with the
# header alone runs without the shim and uses the API under the installed launcher,
# and one linked with -lsockleak runs with the shim linked in; a cmocka suite using
# <sockleak_test.h> fails its leaky test under the launcher; man renders both pages
# without a warning, from the installed man tree; a report tool next to the launcher
# is installed and removed with it, and the built one (build/sockleak-report) works
# installed: report, --fail-on-leak and dump; the version is the VERSION file's
# everywhere (both launchers' --version, sockleak_version(), pkg-config). Prints one line
# per check and "N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
V=$(cat VERSION)
T=$(mktemp -d /tmp/sockleak-install-XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "PASS [install] $1"; }
bad() { fail=$((fail + 1)); echo "FAIL [install] $1"; [ -z "${2:-}" ] || printf '%s\n' "$2" | sed 's/^/  /'; }
check() { # check NAME CMD...: pass if CMD succeeds
    name=$1
    shift
    if out=$("$@" 2>&1); then ok "$name"; else bad "$name" "$out"; fi
}
files_under() { (cd "$1" 2>/dev/null && find . \( -type f -o -type l \) | sed 's|^\./||' | sort); }
MAKE="make --no-print-directory -s"

# ---- staged: DESTDIR, the files and what was written into them ----
S=$T/stage
$MAKE install PREFIX=/usr/local DESTDIR="$S" REPORTTOOL= >"$T/log" 2>&1 || bad "make install DESTDIR" "$(cat "$T/log")"
want="usr/local/bin/sockleak
usr/local/bin/sockleak-live
usr/local/include/sockleak.h
usr/local/include/sockleak_test.h
usr/local/lib/libsockleak.so
usr/local/lib/pkgconfig/sockleak.pc
usr/local/lib/sockleak-node.js
usr/local/share/man/man1/sockleak.1
usr/local/share/man/man7/sockleak-options.7"
got=$(files_under "$S")
if [ "$got" = "$want" ]; then ok "DESTDIR install puts exactly the expected files"; else bad "DESTDIR file list" "$got"; fi
modes=$(cd "$S/usr/local" && stat -c '%a %n' bin/sockleak lib/libsockleak.so include/sockleak.h lib/pkgconfig/sockleak.pc share/man/man1/sockleak.1 | tr '\n' ' ')
if [ "$modes" = "755 bin/sockleak 755 lib/libsockleak.so 644 include/sockleak.h 644 lib/pkgconfig/sockleak.pc 644 share/man/man1/sockleak.1 " ]; then
    ok "modes"
else bad "modes" "$modes"; fi
check "launcher knows the final library directory (not the staging one)" grep -qx 'SOCKLEAK_LIBDIR="/usr/local/lib"' "$S/usr/local/bin/sockleak"
check "pkg-config file names the final prefix" grep -qx 'prefix=/usr/local' "$S/usr/local/lib/pkgconfig/sockleak.pc"
check "launcher has the version written in" grep -qx "SOCKLEAK_VERSION=\"$V\"" "$S/usr/local/bin/sockleak"
check "library has its soname" sh -c "readelf -d '$S/usr/local/lib/libsockleak.so' | grep -q 'SONAME.*\[libsockleak.so\]'"
$MAKE uninstall PREFIX=/usr/local DESTDIR="$S" REPORTTOOL= >"$T/log" 2>&1 || bad "make uninstall DESTDIR" "$(cat "$T/log")"
got=$(files_under "$S")
if [ -z "$got" ]; then ok "DESTDIR uninstall leaves no file"; else bad "DESTDIR uninstall left files" "$got"; fi

# ---- installed under a PREFIX, and used ----
P=$T/prefix
$MAKE install PREFIX="$P" REPORTTOOL= >"$T/log" 2>&1 || bad "make install PREFIX" "$(cat "$T/log")"
check "installed launcher finds the installed library" sh -c "'$P/bin/sockleak' --version | grep -qx 'library: $P/lib/libsockleak.so'"
# from elsewhere, through a symbolic link to the launcher (as /usr/local/bin links do)
mkdir -p "$T/elsewhere" && ln -s "$P/bin/sockleak" "$T/elsewhere/sockleak"
check "a link to the launcher finds it too" sh -c "cd / && '$T/elsewhere/sockleak' --version | grep -qx 'library: $P/lib/libsockleak.so'"
(cd "$T" && "$P/bin/sockleak" --json --log "$T/r.%p.jsonl" --close-wait-after 300ms --scan-interval 100ms \
    -- "$ROOT/build/examples/leaky_client" 5 1 >"$T/out" 2>&1) || bad "installed launcher runs the example" "$(cat "$T/out")"
check "installed launcher: the example's report names its 3 leaks and fetch_user" python3 -c '
import glob, json, sys
reps = [json.loads(l) for f in glob.glob(sys.argv[1] + "/r.*.jsonl") for l in open(f)]
r = [x for x in reps if x["reason"] == "exit"][-1]
assert r["summary"]["leaked"] == 3, r["summary"]
fr = [s for s in r["stacks"] if s["id"] == r["groups"][0]["stack"]][0]["frames"]
assert fr[0]["function"] == "fetch_user", fr[0]
assert "/prefix/lib/libsockleak.so" not in json.dumps(fr)  # frame 0 is outside the shim
' "$T"
export PKG_CONFIG_PATH="$P/lib/pkgconfig"
# (words compared: pkg-config ends its output with a space)
check "pkg-config --cflags" sh -c "set -- \$(pkg-config --cflags sockleak) && test \"\$*\" = '-I$P/include'"
check "pkg-config --libs" sh -c "set -- \$(pkg-config --libs sockleak) && test \"\$*\" = '-L$P/lib -lsockleak'"
check "one version: pkg-config --modversion is VERSION's ($V)" test "$(pkg-config --modversion sockleak)" = "$V"
check "the installed launcher inspects a running process (sockleak-live next to it)" sh -c "'$P/bin/sockleak' inspect --json \$\$ | grep -q '\"reason\":\"inspect\"'"
check "one version: the installed launcher's --version" sh -c "'$P/bin/sockleak' --version | grep -qx 'sockleak $V'"
check "one version: the checkout's launcher's --version" sh -c "scripts/sockleak --version | grep -qx 'sockleak $V'"
CC=${CC:-cc}
# shellcheck disable=SC2046
$CC -Wall -Werror $(pkg-config --cflags sockleak) tests/install/api_user.c -o "$T/weak" >"$T/log" 2>&1 || bad "build with --cflags" "$(cat "$T/log")"
check "header only, no shim: the API is absent and the program runs" sh -c "'$T/weak' | grep -qx 'api=absent ignore=-38'"
check "header only, under the installed launcher: the API works, sockleak_version() is $V" sh -c "'$P/bin/sockleak' --no-exit-report -- '$T/weak' | grep -qx 'api=present version=$V live=1 ignored=1 ignore=0'"
# shellcheck disable=SC2046
$CC -Wall -Werror tests/install/api_user.c -o "$T/linked" $(pkg-config --cflags --libs sockleak) >"$T/log" 2>&1 || bad "build with --libs" "$(cat "$T/log")"
check "linked with -lsockleak: the shim is a dependency, the API works" sh -c "SOCKLEAK_OPTIONS=report_at_exit=0 LD_LIBRARY_PATH='$P/lib' '$T/linked' | grep -qx 'api=present version=$V live=1 ignored=1 ignore=0'"
# <sockleak_test.h> in a cmocka suite, built against the installed headers
if $CC -Wall -Werror $(pkg-config --cflags sockleak) tests/install/cmocka_user.c -o "$T/cmocka_user" -lcmocka >"$T/log" 2>&1; then
    "$P/bin/sockleak" --no-exit-report -- "$T/cmocka_user" >"$T/cmocka.out" 2>&1
    rc=$?
    check "sockleak_test.h in cmocka: the leaky test fails naming where, the clean one passes" sh -c "test $rc -ne 0 &&
        grep -q '\[  FAILED  \] test_leaky' '$T/cmocka.out' && grep -q '\[       OK \] test_clean' '$T/cmocka.out' &&
        grep -q '1 socket left open by this test (sockleak):' '$T/cmocka.out' && grep -q 'opened at open_and_forget' '$T/cmocka.out'"
    check "sockleak_test.h in cmocka, without the shim: both tests pass" "$T/cmocka_user"
else bad "build a cmocka suite with sockleak_test.h" "$(cat "$T/log")"; fi
unset PKG_CONFIG_PATH
for page in sockleak sockleak-options; do
    f=$(man -M "$P/share/man" -w "$page" 2>/dev/null)
    case $f in
    "$P"/share/man/*) ok "man finds $page in the installed tree" ;;
    *) bad "man -M finds $page" "$f" ;;
    esac
    for w in 64 80 132; do
        warn=$(MANWIDTH=$w man --warnings -l "$f" 2>&1 >/dev/null)
        if [ -z "$warn" ] && [ -n "$(MANWIDTH=$w man -l "$f" 2>/dev/null)" ]; then :; else bad "man --warnings -l $page at width $w" "$warn"; continue 2; fi
    done
    ok "man renders $page without warnings (widths 64, 80, 132)"
done
$MAKE uninstall PREFIX="$P" REPORTTOOL= >"$T/log" 2>&1 || bad "make uninstall PREFIX" "$(cat "$T/log")"
got=$(files_under "$P")
if [ -z "$got" ]; then ok "PREFIX uninstall leaves no file"; else bad "PREFIX uninstall left files" "$got"; fi

# ---- a report tool next to the launcher (REPORTTOOL=FILE installs that one) ----
mkdir -p "$T/tool" && printf '#!/bin/sh\necho report-tool\n' >"$T/tool/sockleak-report"
R=$T/withtool
$MAKE install PREFIX="$R" REPORTTOOL="$T/tool/sockleak-report" >"$T/log" 2>&1 || bad "make install with a report tool" "$(cat "$T/log")"
check "the report tool is installed next to the launcher" sh -c "test -x '$R/bin/sockleak-report' && '$R/bin/sockleak-report' | grep -qx report-tool"
$MAKE uninstall PREFIX="$R" REPORTTOOL="$T/tool/sockleak-report" >"$T/log" 2>&1
got=$(files_under "$R")
if [ -z "$got" ]; then ok "uninstall removes the report tool too"; else bad "uninstall with a report tool left files" "$got"; fi

# ---- the report tool as `make install` puts it: build/sockleak-report, one file (a zipapp) ----
W=$T/withzip
$MAKE install PREFIX="$W" >"$T/log" 2>&1 || bad "make install with the built report tool" "$(cat "$T/log")"
check "the built report tool is installed, one executable file" sh -c "test -f '$W/bin/sockleak-report' && test \"\$(stat -c %a '$W/bin/sockleak-report')\" = 755 && python3 -m zipfile -l '$W/bin/sockleak-report' | grep -q 'sockleak_report/cli.py'"
(cd / && "$W/bin/sockleak" --json --log "$T/z.%p.jsonl" --close-wait-after 0 -- "$ROOT/build/examples/leaky_client" 5 0 >/dev/null 2>&1)
check "installed: sockleak report renders the example's leak" sh -c "cd / && '$W/bin/sockleak' report render '$T/z.%p.jsonl' | grep -q '3 sockets stuck in CLOSE_WAIT.*fetch_user'"
check "installed: sockleak-report runs on its own" sh -c "cd / && '$W/bin/sockleak-report' check --max-leaked 3 '$T/z.%p.jsonl' | grep -q '^sockleak check: OK: 1 report of 1 process'"
st=0
(cd / && "$W/bin/sockleak" --fail-on-leak --close-wait-after 0 -- "$ROOT/build/examples/leaky_client" 5 0 >/dev/null 2>"$T/gate.err") || st=$?
check "installed: --fail-on-leak fails the leaky example (status 1, the verdict on stderr)" sh -c "test $st = 1 && grep -q '^sockleak check: FAIL: leaky_client' '$T/gate.err'"
check "installed: dump checks its target (a process without the shim is refused)" sh -c "sleep 5 & p=\$!; '$W/bin/sockleak' dump \$p 2>&1 | grep -q 'does not run the shim'; r=\$?; kill \$p; exit \$r"
$MAKE uninstall PREFIX="$W" >"$T/log" 2>&1
got=$(files_under "$W")
if [ -z "$got" ]; then ok "uninstall removes the built report tool"; else bad "uninstall with the built report tool left files" "$got"; fi

echo "install: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
