#!/usr/bin/env bash
# debsrc.sh — fetch and unpack a Debian source package, pristine (upstream tarball
# only, Debian patches not applied), cached under $DEPS_DIR/src and keyed by version.
#
#   scripts/deps/debsrc.sh PACKAGE [SUITE]   → prints the unpacked source directory
#
# Uses a private apt state directory (no change to the system's apt configuration):
# a copy of the system's deb822 sources with `Types: deb deb-src` and, when SUITE is
# given (e.g. trixie), that suite added. The first call per suite runs `apt-get update`
# on the private directory; later calls reuse it, so a cached package costs milliseconds.
set -euo pipefail

pkg=${1:?usage: debsrc.sh PACKAGE [SUITE]}
suite=${2:-}
top=$(cd "$(dirname "$0")/../.." && pwd)
deps=$(realpath -m "${DEPS_DIR:-$top/build/deps}")
aptdir=$deps/apt${suite:+-$suite}
mkdir -p "$aptdir/lists/partial" "$aptdir/sources.list.d" "$deps/src" "$deps/dl"
# One fetch at a time per DEPS_DIR: parallel dependency builds share the apt state and the
# source cache.
exec 9>"$deps/.debsrc-fetch.lock"
flock 9

# The system's sources: deb822 (cloud images, containers) or, as the Debian 12 installer
# writes them, one-line entries in sources.list: then the main archive's mirror is taken
# from its first "deb" line. (Both paths can be overridden to test this.)
sys_sources=${DEBSRC_SYSTEM_SOURCES:-/etc/apt/sources.list.d/debian.sources}
sys_list=${DEBSRC_SYSTEM_LIST:-/etc/apt/sources.list}
deb822_from_list() {
  local mirror
  mirror=$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i !~ /^\[/) { print $i; exit } }' "$sys_list")
  [ -n "$mirror" ] || { echo "debsrc: no deb822 sources ($sys_sources) and no 'deb' line in $sys_list" >&2; return 1; }
  printf 'Types: deb deb-src\nURIs: %s\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$mirror"
}
if [ ! -f "$aptdir/sources.list.d/debian.sources" ]; then
  if [ -f "$sys_sources" ]; then
    sed -e 's/^Types:.*/Types: deb deb-src/' "$sys_sources" > "$aptdir/sources.list.d/debian.sources.tmp"
  else
    deb822_from_list > "$aptdir/sources.list.d/debian.sources.tmp"
  fi
  if [ -n "$suite" ]; then
    # Only the main archive's stanza gains the extra suite.
    awk -v s="$suite" '/^Suites:/ && !/security/ { $0 = $0 " " s } { print }' \
      "$aptdir/sources.list.d/debian.sources.tmp" > "$aptdir/sources.list.d/debian.sources.tmp2"
    mv "$aptdir/sources.list.d/debian.sources.tmp2" "$aptdir/sources.list.d/debian.sources.tmp"
  fi
  mv "$aptdir/sources.list.d/debian.sources.tmp" "$aptdir/sources.list.d/debian.sources"
fi
: > "$aptdir/sources.list"
apt_opts=(-o "Dir::Etc::SourceParts=$aptdir/sources.list.d" -o "Dir::Etc::SourceList=$aptdir/sources.list"
          -o "Dir::State::Lists=$aptdir/lists" -o "Dir::Cache=$aptdir/cache" -o "APT::Get::Only-Source=true"
          -o "Debug::NoLocking=true" -o "APT::Sandbox::User=root")
mkdir -p "$aptdir/cache/archives/partial"
if [ ! -f "$aptdir/updated" ]; then
  apt-get -qq "${apt_opts[@]}" update >&2
  touch "$aptdir/updated"
fi

# Newest version among the configured suites.
ver=$(apt-cache "${apt_opts[@]}" showsrc "$pkg" 2>/dev/null | awk '/^Version:/ {print $2}' | sort -V | tail -n 1)
[ -n "$ver" ] || { echo "debsrc: no source package '$pkg'${suite:+ in $suite}" >&2; exit 1; }
upver=${ver#*:}; upver=${upver%-*}
dest=$deps/src/$pkg-$upver
if [ -f "$dest/.debsrc-ok" ]; then echo "$dest"; exit 0; fi

dl=$deps/dl/$pkg-$ver
rm -rf "$dl" && mkdir -p "$dl"
( cd "$dl" && apt-get -qq "${apt_opts[@]}" source --download-only "$pkg=$ver" >&2 )
orig=$(ls "$dl"/*.orig.tar.* 2>/dev/null | grep -v '\.asc$' | head -n 1 || true)
if [ -z "$orig" ]; then   # native package: the only tarball is the source
  orig=$(ls "$dl"/*.tar.* | grep -v '\.asc$' | grep -v debian.tar | head -n 1)
fi
rm -rf "$dest.tmp" && mkdir -p "$dest.tmp"
tar -xf "$orig" -C "$dest.tmp" --strip-components=1
touch "$dest.tmp/.debsrc-ok"
rm -rf "$dest" && mv "$dest.tmp" "$dest"
echo "$dest"
