#!/usr/bin/env bash
# build-base.sh — build a base initrd from a list with the agent's own builder
# (`ephemerd-vmhost initrd base`: libarchive newc cpio, deterministic, atomic).
#
#   scripts/test/build-base.sh VMHOST LIST MODULES_DIR INIT ROOTFS OUT [zstd|gzip|none]
#
#   VMHOST       the native ephemerd-vmhost
#   LIST         initrd/virtio.list (QEMU) or initrd/hyperv.list (Hyper-V)
#   MODULES_DIR  the kernel's lib/modules/<version> with modules.dep
#                (scripts/test/test-kernel.sh prints it as MODULES_DIR in current.env)
#   INIT         ephemerd-init (static musl build: build/musl/ephemerd-init)
#   ROOTFS       the rootfs tarball to ship as /assets/rootfs.tar.gz
#   OUT          the base initrd to write (replaced atomically)
#
# Entry mtimes follow SOURCE_DATE_EPOCH (else 0): the same inputs give the same bytes.
set -euo pipefail

die() { echo "build-base: $*" >&2; exit 1; }

[ $# -eq 6 ] || [ $# -eq 7 ] ||
  die "usage: build-base.sh VMHOST LIST MODULES_DIR INIT ROOTFS OUT [zstd|gzip|none]"
vmhost=$1 list=$2 modules_dir=$3 init=$4 rootfs=$5 out=$6 compress=${7:-zstd}

[ -x "$vmhost" ] || die "$vmhost: not an executable (build it with make)"
[ -f "$list" ] || die "$list: no such list"
[ -f "$modules_dir/modules.dep" ] ||
  die "$modules_dir/modules.dep: missing (run scripts/test/test-kernel.sh, which runs depmod)"
[ -f "$init" ] || die "$init: no such file (make guest builds it)"
[ -f "$rootfs" ] || die "$rootfs: no such file"
mkdir -p "$(dirname "$out")"

start=$(date +%s%N)
"$vmhost" initrd base --list "$list" --modules-dir "$modules_dir" --init "$init" \
  --rootfs "$rootfs" --compress "$compress" -o "$out"
echo "build-base: $out in $(( ($(date +%s%N) - start) / 1000000 )) ms"
