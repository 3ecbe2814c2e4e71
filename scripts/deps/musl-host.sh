#!/usr/bin/env bash
# deps-musl-host.sh — build the static musl libraries of the release's Linux host agent
# (a static ephemerd-vmhost that runs on any x86-64 Linux) from Debian (bookworm) source
# packages with musl-gcc: zlib, zstd, libarchive (zlib + zstd, the writer and reader the
# agent uses), libuv, nettle (SHA-256; no public key) and cJSON. Installs into
# $DEPS_DIR/musl-host/{include,lib} and touches $DEPS_DIR/musl-host/.deps-ok (the
# Makefile's MUSLHOST_STAMP). inih is compiled by the Makefile from $DEPS_DIR/inih.
#
# A prefix of its own, not the guest's $DEPS_DIR/musl: the guest's libarchive has no zstd
# and everything there is built -Os for size; the host's libraries are built -O2.
# Kernel uapi headers (libuv needs linux/*.h): $prefix/kinclude holds symlinks to the
# system's linux/, asm-generic/ and asm/ directories only, used with -isystem, so no glibc
# header can leak into a musl build (as scripts/deps/musl.sh does for the guest).
#
# Cache: one stamp per library in $prefix/stamps/<lib> (source version, recipe hash, musl
# version, flags); a library whose stamp matches is skipped, so a rerun costs about a second.
# Each library is built in a scratch directory into a private stage, then copied in; its
# stamp is written only after the copy. Logs: $DEPS_DIR/logs/musl-host-<lib>.log.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
deps=${DEPS_DIR:-$top/build/deps}
mkdir -p "$deps"
deps=$(cd "$deps" && pwd)
export DEPS_DIR=$deps
prefix=$deps/musl-host
logs=$deps/logs
scratch=$deps/build-musl-host
jobs=2
mkdir -p "$prefix/include" "$prefix/lib" "$prefix/stamps" "$logs" "$scratch"
# Parallel builds sharing one DEPS_DIR wait for each other instead of colliding.
exec 9>"$deps/.deps-musl-host.lock"
flock 9

for tool in musl-gcc ar ranlib cmake make m4; do
  command -v "$tool" >/dev/null || { echo "deps-musl-host: $tool not found (run scripts/setup.sh)" >&2; exit 1; }
done
musl_ver=$(dpkg-query -W -f='${Version}' musl-dev 2>/dev/null || echo unknown)

# ---- kernel uapi headers for musl-gcc --------------------------------------------------
kinc=$prefix/kinclude
mkdir -p "$kinc"
for pair in linux:/usr/include/linux asm-generic:/usr/include/asm-generic \
            asm:/usr/include/x86_64-linux-gnu/asm; do
  name=${pair%%:*} target=${pair#*:}
  [ -d "$target" ] || { echo "deps-musl-host: $target missing (install linux-libc-dev)" >&2; exit 1; }
  [ "$(readlink "$kinc/$name" 2>/dev/null)" = "$target" ] || ln -sfn "$target" "$kinc/$name"
done

export CC=musl-gcc AR=ar RANLIB=ranlib PKG_CONFIG_LIBDIR=$prefix/lib/pkgconfig PKG_CONFIG_PATH=
cflags="-O2 -isystem $kinc"

srcdir() { deps_srcdir musl-host "$1"; }

# ---- helpers used by the recipes (run inside the lib's scratch dir, stage in $stage) ---
# A native CMake build with musl-gcc, find_* confined to the prefix (no glibc library from
# /usr/lib can be picked up); pkg-config (libarchive's CMakeLists calls it unconditionally)
# sees only the prefix, which has no .pc files.
cmake_build() { # SRC BUILDDIR TARGET [cmake args...]
  local src=$1 bdir=$2 target=$3; shift 3
  cmake -S "$src" -B "$bdir" -DCMAKE_C_COMPILER=musl-gcc -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_FLAGS="$cflags" -DCMAKE_C_FLAGS_RELEASE=-DNDEBUG \
    -DCMAKE_EXE_LINKER_FLAGS=-static \
    -DCMAKE_FIND_ROOT_PATH="$prefix" -DCMAKE_FIND_ROOT_PATH_MODE_PROGRAM=NEVER \
    -DCMAKE_FIND_ROOT_PATH_MODE_LIBRARY=ONLY -DCMAKE_FIND_ROOT_PATH_MODE_INCLUDE=ONLY \
    -DCMAKE_FIND_ROOT_PATH_MODE_PACKAGE=ONLY \
    -DCMAKE_INSTALL_PREFIX="$stage" -DBUILD_SHARED_LIBS=OFF "$@"
  cmake --build "$bdir" --target "$target" -- -j"$jobs"
}

compile_ar() { # LIBNAME CFLAGS SRC...   plain compile + ar for small libraries
  local lib=$1 extra=$2; shift 2
  local objs=() f o
  mkdir -p obj
  for f in "$@"; do
    o=obj/$(basename "${f%.c}").o
    objs+=("$o")
    # shellcheck disable=SC2086
    musl-gcc $cflags -DNDEBUG $extra -c "$f" -o "$o"
  done
  mkdir -p "$stage/lib"
  ar rcs "$stage/lib/lib$lib.a" "${objs[@]}"
}

# ---- recipes: each builds from $src into $stage/{include,lib} ---------------------------
build_zlib() {
  mkdir -p b && cd b
  CFLAGS="$cflags" "$src/configure" --static --prefix="$stage"
  make -j"$jobs" libz.a
  mkdir -p "$stage/lib" "$stage/include"
  cp libz.a "$stage/lib/"
  cp zconf.h "$src/zlib.h" "$stage/include/"
}

build_zstd() {
  cmake_build "$src/build/cmake" b libzstd_static -DZSTD_BUILD_PROGRAMS=OFF -DZSTD_BUILD_SHARED=OFF \
    -DZSTD_BUILD_STATIC=ON -DZSTD_BUILD_TESTS=OFF -DZSTD_MULTITHREAD_SUPPORT=ON -DZSTD_LEGACY_SUPPORT=OFF
  mkdir -p "$stage/lib" "$stage/include"
  cp b/lib/libzstd.a "$stage/lib/"
  cp "$src/lib/zstd.h" "$src/lib/zstd_errors.h" "$src/lib/zdict.h" "$stage/include/"
}

build_libarchive() {
  local off=()
  for o in MBEDTLS NETTLE OPENSSL LIBB2 LZ4 LZO LZMA BZip2 LIBXML2 EXPAT PCREPOSIX LIBGCC \
           CNG TAR CPIO CAT ACL ICONV TEST COVERAGE WERROR INSTALL; do
    off+=("-DENABLE_$o=OFF")
  done
  cmake_build "$src" b archive_static "${off[@]}" -DENABLE_ZLIB=ON -DENABLE_ZSTD=ON \
    -DENABLE_XATTR=ON -DPOSIX_REGEX_LIB=NONE \
    -DZLIB_LIBRARY="$prefix/lib/libz.a" -DZLIB_INCLUDE_DIR="$prefix/include" \
    -DZSTD_LIBRARY="$prefix/lib/libzstd.a" -DZSTD_INCLUDE_DIR="$prefix/include"
  grep -q '^#define HAVE_ZLIB_H 1' b/config.h || { echo "libarchive: zlib not detected" >&2; return 1; }
  grep -q '^#define HAVE_LIBZSTD_COMPRESSOR 1' b/config.h || { echo "libarchive: zstd not detected" >&2; return 1; }
  for h in HAVE_LZMA_H HAVE_BZLIB_H HAVE_LIBXML_XMLREADER_H HAVE_ICONV_H; do
    if grep -q "^#define $h 1" b/config.h; then echo "libarchive: unexpected $h" >&2; return 1; fi
  done
  mkdir -p "$stage/lib" "$stage/include"
  cp b/libarchive/libarchive.a "$stage/lib/libarchive.a" 2>/dev/null ||
    cp b/libarchive/libarchive_static.a "$stage/lib/libarchive.a"
  cp "$src/libarchive/archive.h" "$src/libarchive/archive_entry.h" "$stage/include/"
}

build_libuv() {
  cmake_build "$src" b uv_a -DLIBUV_BUILD_TESTS=OFF -DLIBUV_BUILD_BENCH=OFF
  mkdir -p "$stage/lib" "$stage/include"
  cp b/libuv_a.a "$stage/lib/libuv.a"
  cp -r "$src/include/." "$stage/include/"
}

build_nettle() {
  # Fat library (x86_64 assembly chosen at run time by CPUID) when it builds with
  # musl-gcc; portable C otherwise.
  local asm
  for asm in --enable-fat --disable-assembler; do
    rm -rf b && mkdir -p b
    if (cd b && CFLAGS="$cflags" LDFLAGS=-static "$src/configure" --prefix="$stage" --libdir="$stage/lib" \
          --disable-shared --enable-static --disable-public-key --disable-openssl \
          --disable-documentation "$asm" && make -j"$jobs" libnettle.a); then
      break
    fi
    [ "$asm" = --disable-assembler ] && return 1
    echo "nettle: $asm failed, retrying with portable C"
  done
  (cd b && make install-headers install-static)
  echo "nettle: built with $asm"
}

build_cjson() {
  compile_ar cjson "-DCJSON_HIDE_SYMBOLS -std=c89" "$src/cJSON.c"
  mkdir -p "$stage/include/cjson"
  cp "$src/cJSON.h" "$stage/include/"
  cp "$src/cJSON.h" "$stage/include/cjson/"
}

# ---- driver ----------------------------------------------------------------------------
# lib name : Debian source package (order matters: libarchive needs zlib and zstd).
libs=(zlib:zlib zstd:libzstd libarchive:libarchive libuv:libuv1 nettle:nettle cjson:cjson)

deps_key() {
  local recipe
  recipe=$(declare -f "build_$1" cmake_build compile_ar)
  echo "$2 recipe:$(sha256sum <<<"$recipe" | cut -c1-16) musl:$musl_ver cflags:$(sha256sum <<<"$cflags" | cut -c1-8)"
}

# shellcheck source=scripts/deps/common.sh
source "$top/scripts/deps/common.sh"

for l in "${libs[@]}"; do deps_one musl-host "$l"; done
touch "$prefix/.deps-ok"
echo "deps-musl-host: all libraries ready in $prefix"
