#!/usr/bin/env bash
# e2e-assets.sh VMHOST INIT — everything a real boot needs, built or fetched (all cached):
# the test kernel (scripts/test/test-kernel.sh), the stand-in daemon (scripts/test/build-standin.sh),
# the test rootfs (scripts/test/test-rootfs.sh) and the base initrds built by VMHOST with INIT
# as /init (scripts/test/build-base.sh): base-virtio.img from initrd/virtio.list (the QEMU
# backend) and base-virtio-scsi.img from initrd/virtio-scsi.list (the simulated HCS tests,
# root disk /dev/sda). Writes $BUILD/e2e/assets/assets.env for test/e2e/e2e.sh,
# test/hcs/, the demo and the bench.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
vmhost=${1:?usage: e2e-assets.sh VMHOST INIT}
init=${2:?usage: e2e-assets.sh VMHOST INIT}
build=${BUILD:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
export BUILD=$build
assets=$build/e2e/assets
mkdir -p "$assets"

"$top/scripts/test/test-kernel.sh" > /dev/null
# shellcheck disable=SC1091
source "$build/kernel/current.env"
standin=$("$top/scripts/test/build-standin.sh")
rootfs=$("$top/scripts/test/test-rootfs.sh")
base=$assets/base-virtio.img
"$top/scripts/test/build-base.sh" "$vmhost" "$top/initrd/virtio.list" "$MODULES_DIR" "$init" \
  "$rootfs" "$base" > "$assets/base.log"
base_scsi=$assets/base-virtio-scsi.img
"$top/scripts/test/build-base.sh" "$vmhost" "$top/initrd/virtio-scsi.list" "$MODULES_DIR" "$init" \
  "$rootfs" "$base_scsi" > "$assets/base-scsi.log"

cat > "$assets/assets.env.tmp" <<ENV
# written by scripts/test/e2e-assets.sh
KERNEL_VERSION=$KERNEL_VERSION
VMLINUX=$VMLINUX
MODULES_DIR=$MODULES_DIR
STANDIN=$standin
ROOTFS=$rootfs
BASE_INITRD=$base
BASE_INITRD_SCSI=$base_scsi
INIT=$init
ENV
mv "$assets/assets.env.tmp" "$assets/assets.env"
cat "$assets/assets.env"
