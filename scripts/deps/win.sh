#!/usr/bin/env bash
# deps-win.sh — cross-build the Windows (x86_64-w64-mingw32) static libraries from Debian
# (bookworm) source packages: zlib, zstd, libarchive (zlib + zstd only), libuv, nettle,
# cJSON, cmocka. Installs into $DEPS_DIR/x86_64-w64-mingw32/{include,lib} and touches
# .deps-ok there (the Makefile's WIN_STAMP).
#
# Cache: one stamp per library in $prefix/stamps/<lib> holding the source version and a
# hash of its recipe; a library whose stamp matches is skipped, so a rerun costs seconds.
# Each library is built in a scratch directory and installed into a private stage first;
# its stamp is removed before the copy into the prefix and written only after it, so an
# interrupted install is never marked done. Full logs: $DEPS_DIR/logs/win-<lib>.log.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
deps=${DEPS_DIR:-$top/build/deps}
mkdir -p "$deps"
deps=$(cd "$deps" && pwd)
export DEPS_DIR=$deps
host=x86_64-w64-mingw32
prefix=$deps/$host
logs=$deps/logs
scratch=$deps/build-$host
jobs=2
mkdir -p "$prefix/include" "$prefix/lib" "$prefix/stamps" "$logs" "$scratch"
# Parallel builds sharing one DEPS_DIR wait for each other instead of colliding.
exec 9>"$deps/.deps-win.lock"
flock 9

for tool in $host-gcc $host-ar $host-ranlib cmake make; do
  command -v "$tool" >/dev/null || { echo "deps-win: $tool not found (run scripts/setup.sh)" >&2; exit 1; }
done
# CMake 3.25's try_run crashes when cross-compiling without an emulator; Debian's wine64
# loader is not on PATH.
wine_loader=$(command -v wine64 || true)
[ -n "$wine_loader" ] || wine_loader=/usr/lib/wine/wine64
export WINEPREFIX=$deps/wineprefix-cmake WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="

# The unpacked source dir of a bookworm source package (deps_srcdir, common.sh).
srcdir() { deps_srcdir win "$1"; }

# ---- helpers used by the recipes (run inside the lib's scratch dir, stage in $stage) ---
toolchain=$scratch/toolchain.cmake
cat >"$toolchain.tmp" <<EOF
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(CMAKE_C_COMPILER $host-gcc)
set(CMAKE_CXX_COMPILER $host-g++)
set(CMAKE_RC_COMPILER $host-windres)
set(CMAKE_AR $(command -v $host-ar) CACHE FILEPATH "")
set(CMAKE_RANLIB $(command -v $host-ranlib) CACHE FILEPATH "")
set(CMAKE_FIND_ROOT_PATH $prefix /usr/$host)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(CMAKE_CROSSCOMPILING_EMULATOR $wine_loader)
EOF
mv "$toolchain.tmp" "$toolchain"

cmake_build() { # SRC BUILDDIR TARGET [cmake args...]
  local src=$1 bdir=$2 target=$3; shift 3
  cmake -S "$src" -B "$bdir" -DCMAKE_TOOLCHAIN_FILE="$toolchain" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG" -DCMAKE_INSTALL_PREFIX="$stage" \
    -DBUILD_SHARED_LIBS=OFF "$@"
  cmake --build "$bdir" --target "$target" -- -j"$jobs"
}

compile_ar() { # LIBNAME CFLAGS SRC...   plain compile + ar for small libraries
  local lib=$1 cflags=$2; shift 2
  local objs=() f o
  for f in "$@"; do
    o=obj/$(basename "${f%.c}").o
    mkdir -p obj
    objs+=("$o")
    echo "CC $f"
    # shellcheck disable=SC2086
    $host-gcc -O2 -DNDEBUG $cflags -c "$f" -o "$o" &
    if [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; then wait -n; fi
  done
  wait
  for o in "${objs[@]}"; do [ -f "$o" ] || { echo "missing $o" >&2; return 1; }; done
  mkdir -p "$stage/lib"
  $host-ar rcs "$stage/lib/lib$lib.a" "${objs[@]}"
}

# ---- recipes: each builds from $src into $stage/{include,lib} ---------------------------
build_zlib() {
  compile_ar z "-I$src" "$src"/{adler32,compress,crc32,deflate,gzclose,gzlib,gzread,gzwrite,infback,inffast,inflate,inftrees,trees,uncompr,zutil}.c
  mkdir -p "$stage/include"
  cp "$src/zlib.h" "$src/zconf.h" "$stage/include/"
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
  for o in MBEDTLS NETTLE OPENSSL LIBB2 LZ4 LZO LZMA BZip2 LIBXML2 EXPAT PCREPOSIX LIBGCC CNG \
           TAR CPIO CAT XATTR ACL ICONV TEST COVERAGE WERROR; do
    off+=("-DENABLE_$o=OFF")
  done
  cmake_build "$src" b archive_static "${off[@]}" -DENABLE_ZLIB=ON -DENABLE_ZSTD=ON \
    -DPOSIX_REGEX_LIB=NONE \
    -DZLIB_LIBRARY="$prefix/lib/libz.a" -DZLIB_INCLUDE_DIR="$prefix/include" \
    -DZSTD_LIBRARY="$prefix/lib/libzstd.a" -DZSTD_INCLUDE_DIR="$prefix/include"
  grep -q '^#define HAVE_ZLIB_H 1' b/config.h || { echo "libarchive: zlib not detected" >&2; return 1; }
  grep -q '^#define HAVE_LIBZSTD_COMPRESSOR 1' b/config.h || { echo "libarchive: zstd not detected" >&2; return 1; }
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
  # Fat binary (x86_64 assembly chosen at run time by CPUID) when m4 is there to
  # preprocess the .asm files; portable C otherwise.
  local asm=--enable-fat
  command -v m4 >/dev/null || asm=--disable-assembler
  "$src/configure" --host=$host --prefix="$stage" --disable-shared --enable-static \
    --disable-public-key --disable-openssl --disable-documentation $asm
  make -j"$jobs" libnettle.a
  make install-headers install-static
  echo "nettle: built with $asm"
}

build_cjson() {
  compile_ar cjson "-DCJSON_HIDE_SYMBOLS -std=c89" "$src/cJSON.c"
  mkdir -p "$stage/include/cjson"
  cp "$src/cJSON.h" "$stage/include/"
  cp "$src/cJSON.h" "$stage/include/cjson/"
}

build_cmocka() {
  cmake_build "$src" b cmocka-static -DWITH_STATIC_LIB=ON -DWITH_EXAMPLES=OFF -DUNIT_TESTING=OFF \
    -DPICKY_DEVELOPER=OFF
  mkdir -p "$stage/lib" "$stage/include"
  cp "$(find b -name 'libcmocka-static.a' -o -name 'libcmocka.a' | head -n 1)" "$stage/lib/libcmocka.a"
  cp "$src/include/cmocka.h" "$src/include/cmocka_pbc.h" "$stage/include/"
}

# ---- driver ----------------------------------------------------------------------------
# lib name : Debian source package (order matters: libarchive needs zlib and zstd).
libs=(zlib:zlib zstd:libzstd libarchive:libarchive libuv:libuv1 nettle:nettle cjson:cjson cmocka:cmocka)

deps_key() {
  echo "$2 recipe:$(declare -f "build_$1" cmake_build compile_ar | sha256sum | cut -c1-16) host:$host"
}

# shellcheck source=scripts/deps/common.sh
source "$top/scripts/deps/common.sh"

for l in "${libs[@]}"; do deps_one win "$l"; done
if [ -d "$WINEPREFIX" ]; then "$(dirname "$wine_loader")/wineserver" -w 2>/dev/null || true; fi
touch "$prefix/.deps-ok"
echo "deps-win: all libraries ready in $prefix"
