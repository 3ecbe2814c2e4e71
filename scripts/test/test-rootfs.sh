#!/usr/bin/env bash
# test-rootfs.sh — build $BUILD/rootfs/rootfs.tar.gz (BUILD defaults to build/), the small
# rootfs tarball the guest init extracts on a blank root disk (first populate; it goes into
# the base initrd as /assets/rootfs.tar.gz).
#
# Contents: the directory skeleton (bin sbin usr/{bin,sbin,local/bin} etc var/lib/ephemerd
# root 0700, tmp 1777, run proc sys dev), etc/os-release naming the "ephemerd test rootfs"
# (or $ROOTFS_NAME, with ID $ROOTFS_ID),
# and a root-only etc/passwd and etc/group. No daemon binary: init installs
# usr/local/bin/ephemerd-linux from the boot initrd's tail on every boot, and creates
# etc/ephemerd itself. Directories are real directories (no merged-/usr symlinks), so
# extraction never has to write through a symlink.
#
# Reproducible: every entry owned 0:0 (numeric), sorted, mtime SOURCE_DATE_EPOCH (default
# 0), GNU format (no pax atime/ctime records), gzip without name or timestamp. The file is
# replaced (atomically) only when its bytes change. Prints the tarball's path on stdout.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
outdir=$build/rootfs
out=$outdir/rootfs.tar.gz
mtime=${SOURCE_DATE_EPOCH:-0}

mkdir -p "$outdir"
stage=$(mktemp -d "$outdir/stage.XXXXXX")
tmp=$out.tmp.$$
trap 'rm -rf "$stage" "$tmp"' EXIT

r=$stage/root
mkdir -p "$r"
for d in bin sbin usr usr/bin usr/sbin usr/local usr/local/bin etc var var/lib \
         var/lib/ephemerd run proc sys dev; do
  mkdir -p "$r/$d"
  chmod 0755 "$r/$d"
done
chmod 0755 "$r"
mkdir -p "$r/root" "$r/tmp"
chmod 0700 "$r/root"
chmod 1777 "$r/tmp"

# The release builds its own (scripts/release/release.sh) with another name and id.
name=${ROOTFS_NAME:-ephemerd test rootfs}
id=${ROOTFS_ID:-ephemerd-test}
printf 'NAME="%s"\nPRETTY_NAME="%s"\nID=%s\n' "$name" "$name" "$id" >"$r/etc/os-release"
echo 'root:x:0:0:root:/root:/bin/sh' >"$r/etc/passwd"
echo 'root:x:0:' >"$r/etc/group"
chmod 0644 "$r/etc/os-release" "$r/etc/passwd" "$r/etc/group"

# Member names are relative ("bin", "etc/os-release"), never "./" or "/"-prefixed.
(cd "$r" && find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort) >"$stage/list"
tar --create --file=- --directory="$r" --format=gnu --owner=0 --group=0 --numeric-owner \
  --sort=name --mtime="@$mtime" --no-recursion --verbatim-files-from --files-from="$stage/list" |
  gzip -9 -n >"$tmp"

if [ -f "$out" ] && cmp -s "$tmp" "$out"; then
  rm -f "$tmp"
else
  chmod 0644 "$tmp"
  mv -f "$tmp" "$out"
fi
echo "$out"
