#!/usr/bin/env bash
# deps-musl.sh — build the guest init's static libraries for musl (musl-gcc from Debian's
# musl-tools) from Debian (bookworm) source packages: zlib, libarchive (zlib only, read
# side is all the guest uses) and nettle (SHA-256; no public key). Installs into
# $DEPS_DIR/musl/{include,lib} and touches $DEPS_DIR/musl/.deps-ok (the Makefile's
# MUSL_STAMP). Everything is compiled -Os -ffunction-sections -fdata-sections so the
# static init can drop what it does not call (-Wl,--gc-sections).
#
# Kernel uapi headers: musl-gcc searches only musl's include dir. $DEPS_DIR/musl/kinclude
# holds symlinks to the system's linux/, asm-generic/, asm/ (x86_64) and mtd/ header
# directories and nothing else, to be used with -isystem; /usr/include itself is never
# added, so no glibc header can leak into a musl build.
#
# Cache: one stamp per library in $prefix/stamps/<lib> holding the source version, a hash
# of its recipe, the musl version and the flags; a library whose stamp matches is skipped,
# so a rerun costs about a second. Each library is built in a scratch directory and
# installed into a private stage first; its stamp is removed before the copy into the
# prefix and written only after it, so an interrupted install is never marked done.
# Full logs: $DEPS_DIR/logs/musl-<lib>.log.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
deps=${DEPS_DIR:-$top/build/deps}
mkdir -p "$deps"
deps=$(cd "$deps" && pwd)
export DEPS_DIR=$deps
prefix=$deps/musl
logs=$deps/logs
scratch=$deps/build-musl
jobs=2
mkdir -p "$prefix/include" "$prefix/lib" "$prefix/stamps" "$logs" "$scratch"
# Parallel builds sharing one DEPS_DIR wait for each other instead of colliding.
exec 9>"$deps/.deps-musl.lock"
flock 9

for tool in musl-gcc ar ranlib cmake make m4; do
  command -v "$tool" >/dev/null || { echo "deps-musl: $tool not found (run scripts/setup.sh)" >&2; exit 1; }
done
musl_ver=$(dpkg-query -W -f='${Version}' musl-dev 2>/dev/null || echo unknown)

# ---- kernel uapi headers for musl-gcc --------------------------------------------------
kinc=$prefix/kinclude
mkdir -p "$kinc"
for pair in linux:/usr/include/linux asm-generic:/usr/include/asm-generic \
            asm:/usr/include/x86_64-linux-gnu/asm mtd:/usr/include/mtd; do
  name=${pair%%:*} target=${pair#*:}
  [ -d "$target" ] || { echo "deps-musl: $target missing (install linux-libc-dev)" >&2; exit 1; }
  [ "$(readlink "$kinc/$name" 2>/dev/null)" = "$target" ] || ln -sfn "$target" "$kinc/$name"
done

export CC=musl-gcc AR=ar RANLIB=ranlib
cflags="-Os -ffunction-sections -fdata-sections -isystem $kinc"

# ---- sources ---------------------------------------------------------------------------
# The unpacked source dir of a bookworm source package (deps_srcdir, common.sh).
srcdir() { deps_srcdir musl "$1"; }

# ---- helpers used by the recipes (run inside the lib's scratch dir, stage in $stage) ---
# A native (not cross) CMake build with musl-gcc: try_run programs are static musl
# binaries that run here. The flags (with kinclude) go in CMAKE_C_FLAGS so the
# configure checks see the same headers as the build. find_* is confined to the musl prefix so no glibc library
# from /usr/lib can be picked up.
cmake_build() { # SRC BUILDDIR TARGET [cmake args...]
  local src=$1 bdir=$2 target=$3; shift 3
  cmake -S "$src" -B "$bdir" -DCMAKE_C_COMPILER=musl-gcc -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_FLAGS="$cflags" -DCMAKE_C_FLAGS_RELEASE=-DNDEBUG \
    -DCMAKE_EXE_LINKER_FLAGS=-static \
    -DCMAKE_FIND_ROOT_PATH="$prefix" -DCMAKE_FIND_ROOT_PATH_MODE_PROGRAM=NEVER \
    -DCMAKE_FIND_ROOT_PATH_MODE_LIBRARY=ONLY -DCMAKE_FIND_ROOT_PATH_MODE_INCLUDE=ONLY \
    -DCMAKE_FIND_ROOT_PATH_MODE_PACKAGE=ONLY -DCMAKE_DISABLE_FIND_PACKAGE_PkgConfig=ON \
    -DCMAKE_INSTALL_PREFIX="$stage" -DBUILD_SHARED_LIBS=OFF "$@"
  cmake --build "$bdir" --target "$target" -- -j"$jobs"
}

# ---- recipes: each builds from $src into $stage/{include,lib} ---------------------------
build_zlib() {
  # zlib's own configure, out of tree (it writes zconf.h into the build dir, leaving the
  # shared source tree untouched); --static builds libz.a only.
  mkdir -p b && cd b
  CFLAGS="$cflags" "$src/configure" --static --prefix="$stage"
  make -j"$jobs" libz.a
  mkdir -p "$stage/lib" "$stage/include"
  cp libz.a "$stage/lib/"
  cp zconf.h "$src/zlib.h" "$stage/include/"
}

build_libarchive() {
  local off=()
  for o in MBEDTLS NETTLE OPENSSL LIBB2 LZ4 LZO LZMA ZSTD BZip2 LIBXML2 EXPAT PCREPOSIX LIBGCC \
           CNG TAR CPIO CAT ACL ICONV TEST COVERAGE WERROR INSTALL; do
    off+=("-DENABLE_$o=OFF")
  done
  # xattrs stay on: the rootfs may carry file capabilities (security.capability).
  cmake_build "$src" b archive_static "${off[@]}" -DENABLE_ZLIB=ON -DENABLE_XATTR=ON \
    -DPOSIX_REGEX_LIB=NONE \
    -DZLIB_LIBRARY="$prefix/lib/libz.a" -DZLIB_INCLUDE_DIR="$prefix/include"
  grep -q '^#define HAVE_ZLIB_H 1' b/config.h || { echo "libarchive: zlib not detected" >&2; return 1; }
  grep -q '^#define ARCHIVE_XATTR_LINUX 1' b/config.h || { echo "libarchive: xattr support not detected" >&2; return 1; }
  for h in HAVE_LZMA_H HAVE_BZLIB_H HAVE_ZSTD_H HAVE_LIBXML_XMLREADER_H HAVE_ICONV_H; do
    if grep -q "^#define $h 1" b/config.h; then echo "libarchive: unexpected $h" >&2; return 1; fi
  done
  mkdir -p "$stage/lib" "$stage/include"
  cp b/libarchive/libarchive.a "$stage/lib/libarchive.a" 2>/dev/null ||
    cp b/libarchive/libarchive_static.a "$stage/lib/libarchive.a"
  cp "$src/libarchive/archive.h" "$src/libarchive/archive_entry.h" "$stage/include/"
}

build_nettle() {
  # Fat library (x86_64 assembly chosen at run time by CPUID, including the SHA-NI
  # sha256 compression) when it configures and builds with musl-gcc; portable C otherwise.
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

# ---- driver ----------------------------------------------------------------------------
# lib name : Debian source package (order matters: libarchive needs zlib).
libs=(zlib:zlib libarchive:libarchive nettle:nettle)

deps_key() {
  local recipe
  recipe=$(declare -f "build_$1")
  case $recipe in *cmake_build*) recipe+=$(declare -f cmake_build) ;; esac
  echo "$2 recipe:$(sha256sum <<<"$recipe" | cut -c1-16) musl:$musl_ver cflags:$(sha256sum <<<"$cflags" | cut -c1-8)"
}

# shellcheck source=scripts/deps/common.sh
source "$top/scripts/deps/common.sh"

for l in "${libs[@]}"; do deps_one musl "$l"; done
touch "$prefix/.deps-ok"
echo "deps-musl: all libraries ready in $prefix"
