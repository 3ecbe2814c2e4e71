#!/usr/bin/env bash
# e2e-assets.sh VMHOST INIT — everything a real boot needs, built or fetched (all cached):
# the test kernel (scripts/test/test-kernel.sh), the stand-in daemon (scripts/test/build-standin.sh),
# the test rootfs (scripts/test/test-rootfs.sh) and the base initrds built by VMHOST with INIT
# as /init (scripts/test/build-base.sh): base-virtio.img from initrd/virtio.list (the QEMU
# backend) and base-virtio-scsi.img from initrd/virtio-scsi.list (the simulated HCS tests,
# root disk /dev/sda). Writes $BUILD/e2e/assets/assets.env for test/e2e/e2e.sh,
# test/hcs/, the demo and the bench.
# The workload scenario's assets (issue 11): the workload rootfs
# (scripts/test/workload-rootfs.sh: Debian's network, firewall, module and container tools
# and the probe) in base initrds of its own from initrd/virtio.list, one per kernel flavour:
# base-workload-virtio.img for the default kernel and base-workload-cloud.img for
# linux-image-cloud-amd64 (scripts/test/test-kernel.sh cloud-amd64). E2E_WORKLOAD=0 skips
# them (their variables are then empty and the scenario says so).
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

workload_rootfs='' base_workload='' base_workload_cloud=''
cloud_kernel_version='' cloud_vmlinux='' cloud_modules_dir=''
if [ "${E2E_WORKLOAD:-1}" != 0 ]; then
  workload_rootfs=$("$top/scripts/test/workload-rootfs.sh")
  base_workload=$assets/base-workload-virtio.img
  "$top/scripts/test/build-base.sh" "$vmhost" "$top/initrd/virtio.list" "$MODULES_DIR" "$init" \
    "$workload_rootfs" "$base_workload" > "$assets/base-workload.log"
  "$top/scripts/test/test-kernel.sh" cloud-amd64 > /dev/null
  # shellcheck disable=SC1091
  mapfile -t cloud < <(source "$build/kernel-cloud-amd64/current.env" &&
    printf '%s\n' "$KERNEL_VERSION" "$VMLINUX" "$MODULES_DIR")
  [ ${#cloud[@]} -eq 3 ] || { echo "e2e-assets: bad $build/kernel-cloud-amd64/current.env" >&2; exit 1; }
  cloud_kernel_version=${cloud[0]} cloud_vmlinux=${cloud[1]} cloud_modules_dir=${cloud[2]}
  base_workload_cloud=$assets/base-workload-cloud.img
  "$top/scripts/test/build-base.sh" "$vmhost" "$top/initrd/virtio.list" "$cloud_modules_dir" \
    "$init" "$workload_rootfs" "$base_workload_cloud" > "$assets/base-workload-cloud.log"
fi

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
WORKLOAD_ROOTFS=$workload_rootfs
BASE_INITRD_WORKLOAD=$base_workload
CLOUD_KERNEL_VERSION=$cloud_kernel_version
CLOUD_VMLINUX=$cloud_vmlinux
CLOUD_MODULES_DIR=$cloud_modules_dir
BASE_INITRD_WORKLOAD_CLOUD=$base_workload_cloud
ENV
mv "$assets/assets.env.tmp" "$assets/assets.env"
cat "$assets/assets.env"
