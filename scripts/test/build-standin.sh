#!/usr/bin/env bash
# build-standin.sh — build the stand-in daemon test/standin/ephemerd-linux.c into
# $BUILD/standin/ephemerd-linux (BUILD defaults to build/): static, musl-gcc, the project's
# warning flags, linked only against libc and nettle from $DEPS_DIR/musl (built by
# scripts/deps/musl.sh, run here when its stamp is missing), stripped. The unstripped
# binary is kept beside it as ephemerd-linux.debug. The output is replaced atomically.
# Prints the output path on stdout.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
deps=${DEPS_DIR:-$build/deps}
case $deps in /*) ;; *) deps=$top/$deps ;; esac
export DEPS_DIR=$deps
prefix=$deps/musl
src=$top/test/standin/ephemerd-linux.c
out=$build/standin/ephemerd-linux

command -v musl-gcc >/dev/null || { echo "build-standin: musl-gcc not found (run scripts/setup.sh)" >&2; exit 1; }
[ -f "$prefix/.deps-ok" ] || "$top/scripts/deps/musl.sh" >&2

warn=(-Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes
      -Wvla -Wpointer-arith -Wundef)
mkdir -p "$build/standin"
tmp=$out.tmp.$$
trap 'rm -f "$tmp" "$tmp.debug"' EXIT
musl-gcc -std=c11 -Os -g "${warn[@]}" -D_GNU_SOURCE -I"$prefix/include" \
  -ffunction-sections -fdata-sections -static -Wl,--gc-sections \
  -o "$tmp.debug" "$src" -L"$prefix/lib" -lnettle
strip --strip-all -R .comment -o "$tmp" "$tmp.debug"
info=$(file -b "$tmp")
case $info in *"statically linked"*) ;; *) echo "build-standin: not static: $info" >&2; exit 1 ;; esac
chmod 0755 "$tmp"
mv -f "$tmp.debug" "$out.debug"
mv -f "$tmp" "$out"
echo "$out"
