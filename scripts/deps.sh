#!/bin/sh
# deps.sh - make sure the Debian packages sockleak's build and tests need are here.
#   deps.sh check     install them if missing and we are root, else print the command
#   deps.sh install   install them (root), or print the command to run
set -eu
PKGS="gcc g++ make libunwind-dev uthash-dev libcmocka-dev libdw-dev python3 pkg-config man-db"

have_header() {
    printf '#include <%s>\n' "$1" | ${CC:-cc} -E -x c - >/dev/null 2>&1
}

missing() {
    m=""
    have_header libunwind.h || m="$m libunwind-dev"
    have_header uthash.h || m="$m uthash-dev"
    have_header elfutils/libdwfl.h || m="$m libdw-dev"
    printf '#include <stdarg.h>\n#include <stddef.h>\n#include <setjmp.h>\n#include <stdint.h>\n#include <cmocka.h>\n' \
        | ${CC:-cc} -E -x c - >/dev/null 2>&1 || m="$m libcmocka-dev"
    command -v python3 >/dev/null 2>&1 || m="$m python3"
    command -v g++ >/dev/null 2>&1 || m="$m g++"
    command -v pkg-config >/dev/null 2>&1 || m="$m pkg-config"
    command -v man >/dev/null 2>&1 || m="$m man-db"
    echo "$m"
}

install() {
    if [ "$(id -u)" = 0 ]; then
        echo "sockleak: installing$1" >&2
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $PKGS >/dev/null
    else
        echo "sockleak: missing packages:$1" >&2
        echo "sockleak: run: sudo apt-get install -y $PKGS" >&2
        exit 1
    fi
}

case "${1:-check}" in
check)
    m=$(missing)
    [ -z "$m" ] || install "$m"
    ;;
install)
    install " $PKGS"
    ;;
*)
    echo "usage: $0 check|install" >&2
    exit 2
    ;;
esac
