#!/usr/bin/env bash
# test-kernel.sh [FLAVOUR] — fetch and prepare a test kernel: Debian's current kernel of
# FLAVOUR, `amd64` (the default: the kernel every test boots) or `cloud-amd64` (the
# second e2e kernel: the workload probe runs on both, proving the module lists against two
# kernel configurations; its built-ins differ).
#
# The package is resolved through linux-image-FLAVOUR's dependency (never a hard-coded
# name), downloaded with `apt-get download`, unpacked with `dpkg-deb -x`, given a
# modules.dep by `depmod -b` (the package ships none), and the uncompressed vmlinux ELF is
# extracted from the bzImage: under TCG, decompressing an xz bzImage is most of the boot
# time, and QEMU boots the ELF directly (PVH entry note) with an initrd.
#
# Extraction: the x86 boot protocol header (>= 2.08) gives the compressed payload's
# offset and length inside the bzImage (payload_offset/payload_length at 0x248/0x24c,
# relative to the protected-mode code after the (setup_sects+1)*512 setup). The format is
# identified by its magic at that offset (xz, zstd, gzip, lzma, bzip2, lz4), decompressed
# with the matching tool, and checked: an ELF header, `file` saying ELF 64-bit, and the
# size equal to the little-endian length the kernel build appends after the payload.
#
# Cache: $BUILD/kernel/<package version>/ (BUILD defaults to build/) for amd64,
# $BUILD/kernel-FLAVOUR/<package version>/ for another flavour, each with a stamp; a run
# whose package version matches the stamp does nothing but rewrite the env file. Other
# versions' directories are removed once the new one is complete. Concurrent runs wait
# for each other (flock). When the package cannot be resolved (no network) and a complete
# cached kernel exists, it is used with a warning.
#
# Output: current.env in the flavour's cache ($BUILD/kernel/current.env for amd64), also
# printed, for other scripts to `source`:
#   KERNEL_PACKAGE KERNEL_PKG_VERSION KERNEL_VERSION (uname -r) VMLINUX BZIMAGE
#   MODULES_DIR (the lib/modules/<version> tree) KERNEL_TREE (the unpacked package)
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
flavour=${1:-amd64}
case $flavour in
  amd64) kdir=$build/kernel ;;
  cloud-amd64) kdir=$build/kernel-$flavour ;;
  *) echo "test-kernel: unknown flavour '$flavour' (amd64 or cloud-amd64)" >&2; exit 1 ;;
esac
meta=linux-image-$flavour
mkdir -p "$kdir"
kdir=$(cd "$kdir" && pwd)
# Bump when the layout or extraction below changes, so old caches are redone.
recipe=1

log() { echo "test-kernel: $*" >&2; }
die() { log "$*"; exit 1; }

for tool in apt-cache apt-get dpkg-deb depmod file od dd; do
  command -v "$tool" >/dev/null || die "$tool not found (run scripts/setup.sh)"
done

exec 9>"$kdir/.lock"
flock 9

env_file=$kdir/current.env

write_env() { # <cache dir>
  local d=$1 kver
  kver=$(cat "$d/kernel-version")
  local tmp=$env_file.tmp.$$
  {
    echo "# written by scripts/test/test-kernel.sh; source it"
    printf 'KERNEL_PACKAGE=%q\n' "$(cat "$d/package")"
    printf 'KERNEL_PKG_VERSION=%q\n' "$(cat "$d/package-version")"
    printf 'KERNEL_VERSION=%q\n' "$kver"
    printf 'VMLINUX=%q\n' "$d/vmlinux"
    printf 'BZIMAGE=%q\n' "$d/tree/boot/vmlinuz-$kver"
    printf 'MODULES_DIR=%q\n' "$d/tree/lib/modules/$kver"
    printf 'KERNEL_TREE=%q\n' "$d/tree"
  } >"$tmp"
  mv -f "$tmp" "$env_file"
  cat "$env_file"
}

stamp_ok() { # <cache dir> <package> <version>
  [ -f "$1/.stamp" ] && [ "$(cat "$1/.stamp")" = "recipe=$recipe package=$2 version=$3" ]
}

# ---- resolve ---------------------------------------------------------------------------
have_lists() {
  compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null
}
if ! have_lists; then
  log "no apt package lists; running apt-get update"
  apt-get update -qq || log "apt-get update failed"
fi

resolve() {
  apt-cache depends "$meta" 2>/dev/null |
    awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }'
}
pkg=$(resolve || true)
ver=
if [ -n "$pkg" ]; then
  ver=$(apt-cache show --no-all-versions "$pkg" 2>/dev/null | awk '/^Version:/ { print $2; exit }')
fi
if [ -z "$pkg" ] || [ -z "$ver" ]; then
  # Offline: fall back to the newest complete cache, if any.
  for d in $(find "$kdir" -mindepth 1 -maxdepth 1 -type d | sort -V -r); do
    if [ -f "$d/.stamp" ] && stamp_ok "$d" "$(cat "$d/package")" "$(cat "$d/package-version")"; then
      log "warning: cannot resolve $meta; using cached $(cat "$d/package") $(cat "$d/package-version")"
      write_env "$d"
      exit 0
    fi
  done
  die "cannot resolve $meta's kernel package (apt lists missing or no network?)"
fi

safe_ver=${ver//:/_}
dir=$kdir/$safe_ver
if stamp_ok "$dir" "$pkg" "$ver"; then
  write_env "$dir"
  exit 0
fi

# ---- fetch and unpack ------------------------------------------------------------------
log "preparing $pkg $ver in $dir"
# Built in a private directory (left-overs of an interrupted run are removed first; we
# hold the lock) and renamed into place once complete.
final=$dir
rm -rf "$kdir"/.new.*
dir=$kdir/.new.$safe_ver
mkdir -p "$dir/dl"
(cd "$dir/dl" && apt-get download -qq -o APT::Sandbox::User=root "$pkg=$ver") ||
  die "apt-get download $pkg=$ver failed"
deb=$(find "$dir/dl" -maxdepth 1 -name '*.deb' | head -n 1)
[ -s "$deb" ] || die "no .deb downloaded for $pkg=$ver"
dpkg-deb -x "$deb" "$dir/tree"

# The tree holds exactly one lib/modules/<version>.
mods=("$dir"/tree/lib/modules/*/)
if [ ${#mods[@]} -ne 1 ] || [ ! -d "${mods[0]}" ]; then
  die "$deb: expected one lib/modules/<version> directory"
fi
kver=$(basename "${mods[0]}")
[ "$pkg" = "linux-image-$kver" ] || log "note: package $pkg holds kernel version $kver"
bz=$dir/tree/boot/vmlinuz-$kver
[ -f "$bz" ] || die "$deb: no boot/vmlinuz-$kver"
depmod -b "$dir/tree" "$kver" || die "depmod -b $dir/tree $kver failed"
[ -s "$dir/tree/lib/modules/$kver/modules.dep" ] || die "depmod wrote no modules.dep"

# ---- vmlinux from the bzImage ----------------------------------------------------------
u8() { od -An -v -t u1 -j "$2" -N 1 "$1" | tr -d ' \n'; }
u16() { od -An -v -t u2 -j "$2" -N 2 --endian=little "$1" | tr -d ' \n'; }
u32() { od -An -v -t u4 -j "$2" -N 4 --endian=little "$1" | tr -d ' \n'; }
hexat() { od -An -v -t x1 -j "$2" -N "$3" "$1" | tr -d ' \n'; }

[ "$(hexat "$bz" 514 4)" = 48647253 ] || die "$bz: no 'HdrS' boot protocol header"
proto=$(u16 "$bz" 518)
[ "$proto" -ge $((0x208)) ] || die "$bz: boot protocol $(printf '%#x' "$proto") < 2.08 (no payload fields)"
setup_sects=$(u8 "$bz" $((0x1f1)))
[ "$setup_sects" -ne 0 ] || setup_sects=4
pm_start=$(((setup_sects + 1) * 512))
poff=$((pm_start + $(u32 "$bz" $((0x248)))))
plen=$(u32 "$bz" $((0x24c)))
bzsize=$(stat -c %s "$bz")
if [ "$plen" -le 4 ] || [ $((poff + plen)) -gt "$bzsize" ]; then
  die "$bz: payload offset $poff length $plen outside the file ($bzsize bytes)"
fi
# The build appends the uncompressed size (LE32) after the compressed stream.
want_size=$(u32 "$bz" $((poff + plen - 4)))

magic=$(hexat "$bz" "$poff" 6)
case $magic in
  fd377a585a00*) fmt=xz; dec=(xz -dc --single-stream) ;;
  28b52ffd*) fmt=zstd; dec=(zstd -dcq) ;;
  1f8b*) fmt=gzip; dec=(gzip -dc) ;;
  5d0000*) fmt=lzma; dec=(xz -dc --format=lzma) ;;
  425a68*) fmt=bzip2; dec=(bzip2 -dc) ;;
  02214c18*) fmt=lz4; dec=(lz4 -dc) ;;
  *) die "$bz: unknown payload magic $magic at offset $poff" ;;
esac
command -v "${dec[0]}" >/dev/null || die "${dec[0]} not found for the $fmt payload"
log "bzImage payload: $fmt, $((plen - 4)) bytes at offset $poff; vmlinux $want_size bytes"
dd if="$bz" iflag=skip_bytes,count_bytes skip="$poff" count=$((plen - 4)) bs=1M status=none |
  "${dec[@]}" >"$dir/vmlinux.tmp" ||
  die "$bz: decompressing the $fmt payload failed"
[ "$(hexat "$dir/vmlinux.tmp" 0 4)" = 7f454c46 ] || die "extracted vmlinux is not an ELF file"
info=$(file -b "$dir/vmlinux.tmp")
case $info in "ELF 64-bit LSB executable, x86-64"*) ;; *) die "extracted vmlinux: $info" ;; esac
got_size=$(stat -c %s "$dir/vmlinux.tmp")
[ "$got_size" -eq "$want_size" ] || die "extracted vmlinux is $got_size bytes, the bzImage says $want_size"
mv -f "$dir/vmlinux.tmp" "$dir/vmlinux"

# ---- stamp, prune, env -----------------------------------------------------------------
rm -rf "$dir/dl"
echo "$pkg" >"$dir/package"
echo "$ver" >"$dir/package-version"
echo "$kver" >"$dir/kernel-version"
echo "recipe=$recipe package=$pkg version=$ver" >"$dir/.stamp"
rm -rf "$final"
mv "$dir" "$final"
dir=$final
for old in "$kdir"/*/; do
  old=${old%/}
  [ "$old" = "$dir" ] || { log "removing old kernel cache $old"; rm -rf "$old"; }
done
write_env "$dir"
