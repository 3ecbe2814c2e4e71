#!/usr/bin/env bash
# fresh-machine.sh — check that the README's "On a fresh Debian 12 machine" commands work
# on a brand-new Debian 12 machine: a minimal bookworm root (debootstrap minbase plus git,
# make, ca-certificates and sudo — no compiler, no -dev package), a clean clone of the
# committed HEAD (or --ref) in /root/ephemerd-vm, and the README's two commands, read
# literally from the clone's README.md, run in order inside it with chroot as root.
#
#   scripts/fresh-machine.sh [--ref REF] [--only 1|2] [--keep] [--rebuild-root]
#     --ref REF        test commit REF instead of HEAD (uncommitted changes are never tested)
#     --only N         run only command N (1: the main job, 2: the tests)
#     --keep           keep the root afterwards (unmounted) for inspection
#     --rebuild-root   debootstrap a new pristine root instead of using the cached one
#
# Runs as root (debootstrap, chroot, mounts). The pristine root is cached as a tarball
# under $FRESH_CACHE (default /var/cache/ephemerd-vm-fresh); every run unpacks it anew
# into $FRESH_WORK/root (default /var/tmp/ephemerd-vm-fresh). Each command's full output
# goes to $FRESH_WORK/logs/<run>/; a failure prints its tail. The root gets /proc, /sys and
# /dev (recursive bind, slave) for QEMU, loop devices and network namespaces; everything
# mounted under it is unmounted on exit, and it is removed only when nothing is left
# mounted. Mirrors: $FRESH_MIRROR (default http://deb.debian.org/debian) and
# $FRESH_SECURITY_MIRROR (default http://deb.debian.org/debian-security).
# Exit status: 0 when every command run passed, 1 otherwise, 2 on a usage error.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
mirror=${FRESH_MIRROR:-http://deb.debian.org/debian}
sec_mirror=${FRESH_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
cache=${FRESH_CACHE:-/var/cache/ephemerd-vm-fresh}
work=${FRESH_WORK:-/var/tmp/ephemerd-vm-fresh}
suite=bookworm arch=amd64
# What a new user has before typing the README's commands. Nothing else: the project's own
# setup must install the compiler and the -dev packages.
include=git,make,ca-certificates,sudo
recipe=1   # bump when the root's preparation below changes
clone_dir=/root/ephemerd-vm
section='## On a fresh Debian 12 machine'

log() { echo "fresh-machine: $*" >&2; }
die() { log "$*"; exit 1; }
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
mmss() { printf '%d:%02d' $(($1 / 60)) $(($1 % 60)); }

ref=HEAD only='' keep=0 rebuild=0
while [ $# -gt 0 ]; do
  case $1 in
    --ref) [ $# -ge 2 ] || { usage >&2; exit 2; }; ref=$2; shift ;;
    --only) [ "${2:-}" = 1 ] || [ "${2:-}" = 2 ] || { log "--only takes 1 or 2"; exit 2; }; only=$2; shift ;;
    --keep) keep=1 ;;
    --rebuild-root) rebuild=1 ;;
    -h|--help) usage; exit 0 ;;
    *) log "unknown argument: $1"; usage >&2; exit 2 ;;
  esac
  shift
done
[ "$(id -u)" -eq 0 ] || die "run as root (debootstrap, chroot and mounts need it)"

repo=$(git -C "$top" rev-parse --show-toplevel)
commit=$(git -C "$repo" rev-parse --verify --quiet "$ref^{commit}") || die "no commit '$ref' in $repo"
mkdir -p "$cache" "$work/logs"
exec 9>"$work/.lock"
flock -n 9 || die "another run is using $work"
root=$work/root root_ours=''

# ---- mounts and processes under the root -----------------------------------------------
mounts_under() { # <dir>: mount points at or below dir, deepest first
  local d=$1
  awk '{ print $5 }' /proc/self/mountinfo | while read -r m; do
    m=$(printf '%b' "$m")   # mountinfo escapes spaces etc. as \040
    case $m in "$d" | "$d"/*) echo "$m" ;; esac
  done | sort -r -u
}
kill_inside() { # <dir>: processes whose root is dir (left-overs such as wineserver, qemu)
  local d=$1 sig p pids
  for sig in TERM KILL; do
    pids=()
    for p in /proc/[0-9]*; do
      [ "$(readlink "$p/root" 2>/dev/null)" = "$d" ] && pids+=("${p#/proc/}")
    done
    [ ${#pids[@]} -gt 0 ] || return 0
    log "sending SIG$sig to processes left in $d: ${pids[*]}"
    kill -s "$sig" "${pids[@]}" 2>/dev/null || true
    sleep 2
  done
}
unmount_all() { # <dir>: unmount everything below it; lazily when a mount stays busy
  local d=$1 m pass ms
  [ -d "$d" ] || return 0
  kill_inside "$d"
  for pass in 1 2 3 4 5; do
    mapfile -t ms < <(mounts_under "$d")
    [ ${#ms[@]} -gt 0 ] || return 0
    for m in "${ms[@]}"; do
      if [ "$pass" -lt 3 ]; then umount "$m" 2>/dev/null || true; else umount -l "$m" 2>/dev/null || true; fi
    done
  done
  [ -z "$(mounts_under "$d")" ] || { log "still mounted under $d:"; mounts_under "$d" >&2; return 1; }
}
remove_tree() { # <dir>: rm -rf, but never across a mount
  [ -e "$1" ] || return 0
  unmount_all "$1" || { log "not removing $1: something is still mounted under it"; return 1; }
  rm -rf --one-file-system "$1"
}
# shellcheck disable=SC2317  # invoked by the trap
cleanup() {
  local rc=$?
  trap '' INT TERM   # let the unmounting finish
  trap - EXIT
  if [ -n "$root_ours" ]; then
    unmount_all "$root" || rc=1
    if [ "$keep" = 1 ] && [ -d "$root" ]; then
      log "kept the root: $root (chroot into it after mounting /proc, /sys, /dev)"
    else
      remove_tree "$root" || rc=1
    fi
  fi
  [ -z "${build_dir:-}" ] || remove_tree "$build_dir" || rc=1
  exit "$rc"
}
trap cleanup EXIT
trap 'log interrupted; exit 130' INT TERM

# ---- the pristine root, cached as a tarball --------------------------------------------
key=$(echo "$suite $arch $include recipe=$recipe" | sha256sum | cut -c1-12)
tarball=$cache/$suite-$arch-minbase-$key.tar
t0=$SECONDS
if [ "$rebuild" = 1 ] || [ ! -s "$tarball" ]; then
  if ! command -v debootstrap >/dev/null; then
    log "installing debootstrap"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  fi
  build_dir=$cache/build.$$
  remove_tree "$build_dir" || exit 1
  log "debootstrap $suite/$arch minbase + $include from $mirror (log: $cache/debootstrap.log)"
  debootstrap --variant=minbase --arch="$arch" --include="$include" "$suite" "$build_dir" "$mirror" \
    >"$cache/debootstrap.log" 2>&1 || { tail -n 20 "$cache/debootstrap.log" >&2; die "debootstrap failed"; }
  unmount_all "$build_dir"
  # Apt sources as on an installed machine (deb822); no package lists yet, as on a new
  # cloud image or container: the project's setup has to run apt-get update itself.
  rm -f "$build_dir/etc/apt/sources.list"
  cat >"$build_dir/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $sec_mirror
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  find "$build_dir/var/lib/apt/lists" -maxdepth 1 -type f ! -name lock -delete
  rm -f "$build_dir"/var/cache/apt/archives/*.deb
  echo fresh-debian >"$build_dir/etc/hostname"
  printf '127.0.0.1\tlocalhost\n127.0.1.1\tfresh-debian\n::1\tlocalhost ip6-localhost ip6-loopback\n' \
    >"$build_dir/etc/hosts"
  tar -C "$build_dir" --numeric-owner --xattrs --xattrs-include='*' -cf "$tarball.tmp" .
  mv -f "$tarball.tmp" "$tarball"
  remove_tree "$build_dir" || exit 1
  build_dir=
  log "pristine root cached: $tarball ($(mmss $((SECONDS - t0))))"
fi

root_ours=1
remove_tree "$root" || exit 1   # a root kept (or abandoned) by an earlier run
mkdir -p "$root"
tar -C "$root" --numeric-owner --xattrs --xattrs-include='*' -xpf "$tarball"
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
log "fresh root ready in $(mmss $((SECONDS - t0))): $root"

# ---- a clean clone of the commit under test --------------------------------------------
git clone --quiet --no-hardlinks --no-checkout "$repo" "$root$clone_dir"
git -C "$root$clone_dir" checkout --quiet --detach "$commit"
log "testing commit $(git -C "$repo" log -1 --format='%h %s' "$commit")"
dirty=$(git -C "$repo" status --porcelain --untracked-files=no | wc -l)
[ "$dirty" -eq 0 ] || log "note: $dirty uncommitted change(s) in $repo are not part of the test"

# The README's commands: the indented code lines of its fresh-machine section.
mapfile -t cmds < <(awk -v h="$section" '
  index($0, h) == 1 { on = 1; next }
  on && /^## / { exit }
  on && /^    [^ ]/ { sub(/^    /, ""); print }' "$root$clone_dir/README.md")
[ ${#cmds[@]} -eq 2 ] ||
  die "README.md: expected 2 indented commands under '$section', found ${#cmds[@]}${cmds:+: ${cmds[*]}}"

# ---- mounts for QEMU, loop devices and network namespaces --------------------------------
# The root is a mount point of its own, shared in a peer group of its own, as / is on a
# real machine: the tests make "/" private in their mount namespaces (EINVAL on a plain
# directory), and nothing mounted inside propagates to the host.
mount --bind "$root" "$root" && mount --make-private "$root" && mount --make-shared "$root"
mount -t proc proc "$root/proc"
mount --rbind /sys "$root/sys" && mount --make-rslave "$root/sys"
mount --rbind /dev "$root/dev" && mount --make-rslave "$root/dev"
[ -e "$root/dev/pts/ptmx" ] || mount -t devpts devpts "$root/dev/pts"

# ---- run -------------------------------------------------------------------------------
run_id=$(date +%Y%m%d-%H%M%S)
logdir=$work/logs/$run_id
mkdir -p "$logdir"
names=("the main job" "the tests")
results=()
fail=0
for i in 1 2; do
  [ -z "$only" ] || [ "$only" = "$i" ] || continue
  cmd=${cmds[$((i - 1))]}
  out=$logdir/$i.log
  log "[$i] $cmd — ${names[$((i - 1))]} (log: $out)"
  start=$SECONDS rc=0
  # In the background so that a signal to this script runs the trap at once (which then
  # ends everything running in the root) instead of after the command.
  chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    bash -lc "cd $clone_dir && $cmd" </dev/null >"$out" 2>&1 9>&- &
  wait $! || rc=$?
  took=$((SECONDS - start))
  if [ "$rc" -eq 0 ]; then verdict=PASS; else verdict=FAIL; fail=1; fi
  results+=("$(printf '  [%d] %-12s %s  exit %-3d %8s' "$i" "$cmd" "$verdict" "$rc" "$(mmss "$took")")")
  log "[$i] $cmd: $verdict (exit $rc, $(mmss "$took"))"
  if [ "$rc" -ne 0 ]; then
    echo "---- last 25 lines of $out" >&2
    tail -n 25 "$out" >&2
    echo "----" >&2
  fi
done

echo
echo "fresh-machine: commit $(git -C "$repo" log -1 --format='%h' "$commit"), Debian $suite $arch minbase + $include"
printf '%s\n' "${results[@]}"
echo "  total $(mmss $((SECONDS - t0))) (logs: $logdir)"
exit "$fail"
