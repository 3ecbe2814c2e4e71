#!/usr/bin/env bash
# demo.sh VMHOST — the main job on a fresh machine: boot the Linux VM for real (QEMU; KVM
# when the CPU offers it, else emulation) from a sample data dir holding
# docs/config.sample.toml, wait until it is ready, stop it in order, and show what the guest
# reported: the staged config (mode, owner, digest equal to the host file's), the daemon's
# command line, and the boot's stages. Run by `make demo` after `make e2e-assets`.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
vmhost=${1:?usage: demo.sh VMHOST}
build=${BUILD:-$top/build}
case $build in /*) ;; *) build=$top/$build ;; esac
# shellcheck disable=SC1091
source "$build/e2e/assets/assets.env"
data=$build/demo/data
rm -rf "$build/demo" && mkdir -p "$data/vm/linux"
ln -s "$VMLINUX" "$data/vm/linux/kernel"
ln -s "$BASE_INITRD" "$data/vm/linux/base-initrd.img"
cp "$STANDIN" "$data/vm/linux/ephemerd-linux"
cp "$top/docs/config.sample.toml" "$data/config.toml"

echo "== ephemerd-vmhost run --data-dir $data --once"
"$vmhost" run --data-dir "$data" --once
echo
echo "== what the guest reported (from $data/vm/linux/console.log)"
grep -E '^(ephemerd-init: (host config staged|launching|root disk|tail verified|stop requested on the console)|EPHEMERD_IP|EPHEMERD_EXIT|STANDIN (argv|config (path|mode|uid|gid|sha256)|exiting))' \
  "$data/vm/linux/console.log"
echo "host config sha256: $(sha256sum "$data/config.toml" | cut -d' ' -f1)"
echo
echo "== ephemerd-vmhost status --data-dir $data"
"$vmhost" status --data-dir "$data" || true
echo
echo "== ephemerd-vmhost initrd inspect (the tail of the boot initrd)"
"$vmhost" initrd inspect "$data/vm/linux/boot-initrd.img" | sed -n '/^member 1:/,$p'
