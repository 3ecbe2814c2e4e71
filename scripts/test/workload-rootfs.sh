#!/usr/bin/env bash
# workload-rootfs.sh — build $BUILD/workload/rootfs.tar.gz (BUILD defaults to build/), the
# rootfs of the e2e workload scenario (test/e2e/e2e.sh, "workload probe"): the test rootfs
# (scripts/test/test-rootfs.sh, extracted as the base) plus real Debian tools with every
# shared library they need, the probe script and a busybox OCI bundle. Only that scenario's
# base initrds carry it, so the other scenarios keep the small rootfs.
#
# Tools (from Debian's packages, the candidate versions of this machine's apt lists):
#   iproute2  /bin/ip (+ /sbin/ip)          nftables  /usr/sbin/nft
#   iptables  /usr/sbin/xtables-nft-multi as iptables-nft, iptables, ip6tables-nft...
#             and its extensions /usr/lib/x86_64-linux-gnu/xtables/*.so (dlopened)
#   kmod      /bin/kmod as /sbin/modprobe (the kernel's module helper), insmod, lsmod...
#   runc      /usr/sbin/runc                netbase   /etc/protocols, /etc/services
#   busybox-static  /bin/busybox, /bin/sh and the applets the tools above do not provide
#             (as symlinks)
# The test's own files: /usr/lib/ephemerd-probe/probe.sh (test/workload/probe.sh),
# /usr/lib/ephemerd-probe/bundle/ (config.json from test/workload/bundle-config.json, a
# rootfs of busybox and its applet links), /usr/lib/ephemerd-probe/packages (name=version
# of every package used), netbase's /etc/protocols and /etc/services, iproute2's
# /etc/iproute2.
#
# Packages: the tools' packages and the closure of their Depends/Pre-Depends restricted to
# library packages (Section: libs; the first of alternatives), fetched with `apt-get download` into
# the cache $BUILD/workload/debs/ (only Debian's mirrors, as configured for apt) and
# unpacked with `dpkg-deb -x`. Libraries: each binary's and each xtables extension's
# DT_NEEDED (readelf), searched in the unpacked tree's /lib/x86_64-linux-gnu and
# /usr/lib/x86_64-linux-gnu, transitively, copied (symlinks resolved) under the name asked
# for; the dynamic loader as /lib64/ld-linux-x86-64.so.2. A name found nowhere is an error
# naming it. Checked at the end with the rootfs's own loader (`ld.so --list`: everything
# resolves inside the rootfs) and, as root, by running each tool's --version in a chroot.
#
# Reproducible as test-rootfs.sh: owners 0:0 (numeric), sorted, mtime SOURCE_DATE_EPOCH
# (default 0), GNU format, gzip -n; the same packages give the same bytes. The output is
# replaced (atomically) only when its bytes change; a stamp of the inputs (packages, these
# files, the base rootfs) skips the rebuild when nothing changed. Prints the path on stdout.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
export BUILD=$build
wdir=$build/workload
out=$wdir/rootfs.tar.gz
debs=$wdir/debs
mtime=${SOURCE_DATE_EPOCH:-0}
multiarch=x86_64-linux-gnu
# Bump when the layout below changes.
recipe=1

tools=(iproute2 nftables iptables kmod runc busybox-static netbase)
log() { echo "workload-rootfs: $*" >&2; }
die() { log "$*"; exit 1; }

for tool in apt-cache apt-get dpkg-deb readelf sha256sum gzip tar; do
  command -v "$tool" >/dev/null || die "$tool not found (run scripts/setup.sh)"
done
mkdir -p "$debs"
exec 9>"$wdir/.lock"
flock 9
# Left-overs of an interrupted run (we hold the lock): by their own names only.
rm -rf "$wdir"/stage.* "$debs"/dl.* "$out".tmp.*

# ---- resolve: name=version of every package ------------------------------------------------
if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
  log "no apt package lists; running apt-get update"
  apt-get update -qq || log "apt-get update failed"
fi
# deps PACKAGE...: their Depends and Pre-Depends (the first of each group of alternatives).
# libs PACKAGE...: those whose Section is libs. One apt-cache call each per round: each call
# takes a while.
deps() {
  apt-cache depends --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces \
    --no-enhances "$@" 2>/dev/null |
    awk '/^ *\|?(Pre)?Depends:/ { if (!skip && $2 !~ /^</) print $2; skip = ($1 ~ /^\|/); next }'
}
libs() {
  apt-cache show --no-all-versions "$@" 2>/dev/null |
    awk '/^Package:/ { p = $2 } /^Section:/ && ($2 == "libs" || $2 ~ /\/libs$/) { print p }'
}
declare -A seen=()
frontier=("${tools[@]}")
while [ ${#frontier[@]} -gt 0 ]; do
  for p in "${frontier[@]}"; do seen[$p]=1; done
  new=()
  for d in $(deps "${frontier[@]}" | LC_ALL=C sort -u); do
    [ -n "${seen[$d]:-}" ] || new+=("$d")
  done
  frontier=()
  [ ${#new[@]} -eq 0 ] || mapfile -t frontier < <(libs "${new[@]}" | LC_ALL=C sort -u)
done
names=$(printf '%s\n' "${!seen[@]}" | LC_ALL=C sort)
# shellcheck disable=SC2086 # one word per package
mapfile -t pkgs < <(apt-cache show --no-all-versions $names 2>/dev/null |
  awk '/^Package:/ { p = $2 } /^Version:/ { print p "=" $2 }' | LC_ALL=C sort -u)
[ ${#pkgs[@]} -eq "$(wc -l <<<"$names")" ] ||
  die "cannot resolve the versions of: $(tr '\n' ' ' <<<"$names") (got ${pkgs[*]}; run apt-get update)"

# ---- stamp: skip when nothing changed --------------------------------------------------------
base=$("$top/scripts/test/test-rootfs.sh")
stamp=$(
  {
    echo "recipe=$recipe mtime=$mtime"
    printf '%s\n' "${pkgs[@]}"
    sha256sum "$0" "$top/test/workload/probe.sh" "$top/test/workload/bundle-config.json" "$base" |
      cut -d' ' -f1
  } | sha256sum | cut -d' ' -f1
)
if [ -f "$out" ] && [ "$(cat "$wdir/.stamp" 2>/dev/null)" = "$stamp $(sha256sum <"$out" | cut -d' ' -f1)" ]; then
  echo "$out"
  exit 0
fi

# ---- fetch and unpack ------------------------------------------------------------------------
stage=$(mktemp -d "$wdir/stage.XXXXXX")
tmp=$out.tmp.$$
trap 'rm -rf "$stage" "$tmp"' EXIT
tree=$stage/tree
mkdir -p "$tree"
for pv in "${pkgs[@]}"; do
  p=${pv%%=*} v=${pv#*=}
  deb=$debs/${p}_${v//:/%3a}.deb
  if [ ! -s "$deb" ]; then
    dl=$(mktemp -d "$debs/dl.XXXXXX")
    (cd "$dl" && apt-get download -qq -o APT::Sandbox::User=root "$pv") ||
      { rm -rf "$dl"; die "apt-get download $pv failed"; }
    got=("$dl"/*.deb)
    if [ ${#got[@]} -ne 1 ] || [ ! -s "${got[0]}" ]; then
      rm -rf "$dl"
      die "no .deb downloaded for $pv"
    fi
    mv -f "${got[0]}" "$deb"
    rm -rf "$dl"
  fi
  dpkg-deb -x "$deb" "$tree"
done
# Debs of other versions are not used again.
for f in "$debs"/*.deb; do
  keep=0
  for pv in "${pkgs[@]}"; do
    p=${pv%%=*} v=${pv#*=}
    [ "$f" = "$debs/${p}_${v//:/%3a}.deb" ] && keep=1
  done
  [ "$keep" = 1 ] || rm -f "$f"
done

# ---- the rootfs: base, tools, libraries ------------------------------------------------------
r=$stage/root
mkdir -p "$r"
tar -xzf "$base" -C "$r" --numeric-owner
mkdir -p "$r/lib/$multiarch" "$r/usr/lib/$multiarch" "$r/lib64" "$r/usr/lib/ephemerd-probe"
chmod 0755 "$r/lib" "$r/lib/$multiarch" "$r/usr/lib" "$r/usr/lib/$multiarch" "$r/lib64" \
  "$r/usr/lib/ephemerd-probe"

put() { # put PATH: the tree's file PATH (symlinks resolved) at PATH in the rootfs
  [ -e "$tree$1" ] || die "$1: not in the unpacked packages"
  mkdir -p "$(dirname "$r$1")"
  cp -L --preserve=mode "$tree$1" "$r$1"
}
link() { # link PATH TARGET: a symlink
  mkdir -p "$(dirname "$r$1")"
  ln -sfn "$2" "$r$1"
}
elves=() # every ELF file whose libraries must be present
put /bin/ip
link /sbin/ip ../bin/ip
put /usr/sbin/nft
put /usr/sbin/xtables-nft-multi
for n in iptables ip6tables; do
  for s in "" -save -restore; do
    link "/usr/sbin/$n-nft$s" xtables-nft-multi
    link "/usr/sbin/$n$s" xtables-nft-multi
  done
done
put /bin/kmod
for n in modprobe insmod rmmod lsmod modinfo depmod; do link "/sbin/$n" ../bin/kmod; done
link /bin/lsmod kmod
put /usr/sbin/runc
put /bin/busybox
elves+=(/bin/ip /usr/sbin/nft /usr/sbin/xtables-nft-multi /bin/kmod /usr/sbin/runc)
xt=/usr/lib/$multiarch/xtables
mkdir -p "$r$xt"
for f in "$tree$xt"/*.so; do
  put "${f#"$tree"}"
  elves+=("${f#"$tree"}")
done
[ ${#elves[@]} -gt 20 ] || die "$xt: no extensions in the iptables package"
for f in /etc/protocols /etc/services; do put "$f"; done
cp -a "$tree/etc/iproute2" "$r/etc/iproute2"

# busybox applets, where no real tool of that name is installed
while read -r applet; do
  # not PID 1's names: the kernel runs /sbin/poweroff on a power request, init answers it
  case $applet in /bin/init | /bin/linuxrc | /bin/halt | /bin/poweroff | /bin/reboot) continue ;; esac
  name=${applet##*/}
  [ -e "$r/bin/$name" ] || [ -e "$r/sbin/$name" ] || [ -e "$r/usr/bin/$name" ] ||
    [ -e "$r/usr/sbin/$name" ] || [ -L "$r/bin/$name" ] || [ -L "$r/sbin/$name" ] || link "/bin/$name" busybox
done < <("$r/bin/busybox" --list | sed 's|^|/bin/|')

# libraries: DT_NEEDED, transitively
loader=$(readelf -l "$r/bin/ip" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
[ "$loader" = /lib64/ld-linux-x86-64.so.2 ] || die "unexpected interpreter '$loader'"
cp -L --preserve=mode "$tree$loader" "$r$loader"
declare -A have=([ld-linux-x86-64.so.2]=1)
needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*Shared library: \[\(.*\)\]/\1/p'; }
todo=()
for e in "${elves[@]}"; do todo+=("$r$e"); done
while [ ${#todo[@]} -gt 0 ]; do
  f=${todo[0]}
  todo=("${todo[@]:1}")
  for so in $(needed "$f"); do
    [ -n "${have[$so]:-}" ] && continue
    found=
    for d in "/lib/$multiarch" "/usr/lib/$multiarch"; do
      if [ -e "$tree$d/$so" ]; then found=$d/$so; break; fi
    done
    [ -n "$found" ] || die "$so (needed by ${f#"$r"}) is in none of the packages (${pkgs[*]})"
    cp -L --preserve=mode "$tree$found" "$r$found"
    chmod 0644 "$r$found"
    have[$so]=1
    todo+=("$r$found")
  done
done

# ---- the probe -------------------------------------------------------------------------------
install -m 0755 "$top/test/workload/probe.sh" "$r/usr/lib/ephemerd-probe/probe.sh"
printf '%s\n' "${pkgs[@]}" >"$r/usr/lib/ephemerd-probe/packages"
chmod 0644 "$r/usr/lib/ephemerd-probe/packages"
b=$r/usr/lib/ephemerd-probe/bundle
mkdir -p "$b/rootfs/bin"
for d in proc dev sys tmp; do mkdir -p "$b/rootfs/$d"; done
chmod -R u=rwX,go=rX "$b"
install -m 0644 "$top/test/workload/bundle-config.json" "$b/config.json"
ln "$r/bin/busybox" "$b/rootfs/bin/busybox"
for n in sh cat ip ping sleep ls echo; do ln -s busybox "$b/rootfs/bin/$n"; done

# ---- checks ----------------------------------------------------------------------------------
libpath=$r/lib/$multiarch:$r/usr/lib/$multiarch
for e in "${elves[@]}"; do
  list=$("$r$loader" --inhibit-cache --library-path "$libpath" --list "$r$e" 2>&1) ||
    die "${e}: the loader cannot list its libraries: $list"
  bad=$(printf '%s\n' "$list" | awk -v r="$r" '/=>/ && index($3, r "/") != 1 { print $1 " => " $3 }')
  [ -z "$bad" ] || die "$e: libraries resolved outside the rootfs: $bad"
done
if [ "$(id -u)" -eq 0 ]; then
  for cmd in "/bin/ip -V" "/usr/sbin/nft --version" "/usr/sbin/iptables-nft --version" \
             "/sbin/modprobe --version" "/usr/sbin/runc --version" "/bin/sh -c true"; do
    # shellcheck disable=SC2086 # the command's words
    chroot "$r" $cmd >/dev/null 2>&1 || die "chroot: '$cmd' fails in the rootfs"
  done
fi

# ---- the tarball -----------------------------------------------------------------------------
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
echo "$stamp $(sha256sum <"$out" | cut -d' ' -f1)" >"$wdir/.stamp"
log "$(printf '%s ' "${pkgs[@]}")"
log "$out: $(stat -c %s "$out") bytes, $(wc -l <"$stage/list") entries"
echo "$out"
