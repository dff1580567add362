#!/bin/sh
# Installs what the build needs (Debian packages only, DESIGN.md "Dependencies") when it is
# missing, then configures and builds the release tree in build/. Safe to run again: it installs
# nothing that is present and rebuilds incrementally.
set -eu
cd "$(dirname "$0")/.."

packages="cmake ninja-build gcc g++ clang pkg-config python3 gnuplot-nox parallel
          libsodium-dev liblmdb-dev libjansson-dev libcriterion-dev libuv1-dev
          libtomlplusplus-dev"
missing=""
for p in $packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "setup: installing$missing"
    if [ "$(id -u)" -ne 0 ]; then
        echo "setup: missing packages and not root; install them with apt-get:$missing" >&2
        exit 2
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build
