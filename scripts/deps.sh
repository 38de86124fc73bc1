#!/bin/sh
# deps.sh - the Debian packages sockleak needs, from the one list: deps/debian.txt.
#   deps.sh check                  the build section: installs what is missing when root,
#                                  else prints the command to run and fails (make does this)
#   deps.sh install [SECTION...]   installs the sections (default: build test) as root, or
#                                  prints the command (make deps; .ci/run)
#   deps.sh list SECTION...        the sections' packages, one a line
#   deps.sh missing SECTION...     those not installed
set -eu
LIST="$(cd "$(dirname "$0")/.." && pwd)/deps/debian.txt"

list() { # list SECTION...: the packages of those sections, in order, each once
    awk -v want=" $* " '
        { sub(/#.*/, ""); gsub(/^[ \t]+|[ \t]+$/, "") }
        /^\[.*\]$/ { sec = substr($0, 2, length($0) - 2); found[sec] = 1; next }
        $0 != "" && index(want, " " sec " ") && !seen[$0]++ { print }
        END { n = split(want, w, " "); for (i = 1; i <= n; i++) if (!(w[i] in found)) {
              print "deps.sh: no section [" w[i] "] in deps/debian.txt" > "/dev/stderr"; exit 2 } }
    ' "$LIST"
}

missing() { # missing SECTION...: the packages of those sections that dpkg does not have installed
    pkgs=$(list "$@") || exit 2
    command -v dpkg-query >/dev/null 2>&1 || return 0 # not Debian: nothing to tell
    for p in $pkgs; do
        case $(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null) in
        ii*) ;;
        *) echo "$p" ;;
        esac
    done
}

install() { # install PACKAGE...: as root, with no service started meanwhile
    [ $# -gt 0 ] || return 0
    if [ "$(id -u)" != 0 ]; then
        echo "sockleak: missing packages: $*" >&2
        echo "sockleak: run: sudo apt-get install -y --no-install-recommends $*" >&2
        exit 1
    fi
    echo "sockleak: installing $*" >&2
    # packages with services (nginx, redis, prometheus...) would start them on
    # installation: forbid that for the duration (policy-rc.d), unless already set
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

cmd=${1:-check}
[ $# -eq 0 ] || shift
case $cmd in
check)
    # shellcheck disable=SC2046 # one word per package
    install $(missing build)
    ;;
install)
    [ $# -gt 0 ] || set -- build test
    pkgs=$(list "$@") || exit 2
    # shellcheck disable=SC2086
    install $pkgs
    ;;
list | missing)
    [ $# -gt 0 ] || { echo "usage: $0 $cmd SECTION..." >&2; exit 2; }
    "$cmd" "$@"
    ;;
*)
    echo "usage: $0 check | install [SECTION...] | list SECTION... | missing SECTION..." >&2
    exit 2
    ;;
esac
