#!/bin/sh
# deps.sh: makes sure the Debian packages that civgrid builds, runs and tests
# with are installed. As root it installs what is missing; otherwise it prints
# the exact command to run and fails.
set -eu

pkgs="gcc make pkg-config clang clang-format libclang-rt-14-dev
      libmicrohttpd-dev libjansson-dev libsqlite3-dev libgeos-dev libsodium-dev libgd-dev
      libcmocka-dev libssl-dev sqlite3 chromium ca-certificates"

missing=""
for p in $pkgs; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $p"
    fi
done
# Any Node.js of 18 or later runs the web build and tests; Debian's when there is none.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    missing="$missing nodejs npm"
fi

if [ -z "$missing" ]; then
    exit 0
fi
if [ "$(id -u)" = 0 ]; then
    echo "  APT    $missing"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
else
    echo "civgrid needs these Debian packages:$missing" >&2
    echo "install them with:  sudo apt-get install -y$missing" >&2
    exit 1
fi
