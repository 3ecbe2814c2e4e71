#!/usr/bin/env bash
# deps-inih.sh — put the pristine upstream inih (ini.c, ini.h) at $DEPS_DIR/inih, from
# Debian's libinih source package (trixie: bookworm's tarball is missing on the mirror).
# Debian's own patches change the handler signature, so they are not applied; the
# Makefile compiles ini.c with the same options for every target.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
deps=$(realpath -m "${DEPS_DIR:-$top/build/deps}")
src=$("$top/scripts/deps/debsrc.sh" libinih trixie)
mkdir -p "$deps/inih.tmp"
cp "$src/ini.c" "$src/ini.h" "$src/LICENSE.txt" "$deps/inih.tmp/"
rm -rf "$deps/inih" && mv "$deps/inih.tmp" "$deps/inih"
echo "inih: $(basename "$src") at $deps/inih"
