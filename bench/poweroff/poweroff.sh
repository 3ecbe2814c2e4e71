#!/usr/bin/env bash
# poweroff.sh — how often a guest fails to power off by itself: N boots (`run --once`) whose
# stand-in daemon exits with 3 as soon as it listens, so init powers the VM off at once,
# while the boot's network traffic is still going. A boot counts as stuck when the agent had
# to end the VM (the power-off deadline, the ready timeout, or the stop fallbacks). Where its
# console stops says where it hung: at the power-off, in the kernel's boot before init, or in
# init's boot. The console is kept, and its stall report's first lines are printed.
# Figures only, not part of make test. Before init brought the NIC down first, a guest hung
# at the power-off once in 650 boots here, and once in CI (docs/guest-init.md, "The
# power-off"). Two copies with different agents or base initrds, started together, compare
# builds under the same load.
# Usage: bench/poweroff/poweroff.sh VMHOST [BASE_INITRD] [NAME]
#   (needs `make e2e-assets`; BASE_INITRD defaults to its base-virtio.img; NAME (default
#   "run") names the work dir $BUILD/bench-poweroff/NAME; POWEROFF_BOOTS (default 200))
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-$top/build}
case $build in /*) ;; *) build=$top/$build ;; esac
vmhost=$(realpath "${1:?usage: poweroff.sh VMHOST [BASE_INITRD] [NAME]}")
# shellcheck disable=SC1091
source "$build/e2e/assets/assets.env" || { echo "poweroff: run make e2e-assets first" >&2; exit 1; }
base=$(realpath "${2:-$BASE_INITRD}")
name=${3:-run}
boots=${POWEROFF_BOOTS:-200}
d=$build/bench-poweroff/$name
rm -rf "$d" && mkdir -p "$d/vm/linux" "$d/logs"
ln -s "$VMLINUX" "$d/vm/linux/kernel"
ln -s "$base" "$d/vm/linux/base-initrd.img"
cp "$STANDIN" "$d/vm/linux/ephemerd-linux"
cat > "$d/config.toml" <<TOML
[vm.linux]
cpus = 2
memory_mb = 1024
disk_size_gb = 8
[standin]
exit_code = 3
TOML

echo "== power-off bench $name: $boots boots, $(date -u '+%Y-%m-%d %H:%M UTC') =="
echo "agent $vmhost, base initrd $base, kernel $KERNEL_VERSION"
ok=0 stuck=0 other=0 at_off=0 in_kernel=0 in_init=0
for i in $(seq 1 "$boots"); do
  : > "$d/vm/linux/console.log"
  out=$d/logs/$i.out
  t0=$(date +%s%N)
  timeout -k 5 120 "$vmhost" run --data-dir "$d" --once --ready-timeout 40 > "$out" 2>&1
  ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  if grep -qE 'has not powered off|VM not ready after|ctrl-alt-delete|quitting qemu' "$out"; then
    stuck=$((stuck + 1))
    c=$d/logs/$i.console
    cp "$d/vm/linux/console.log" "$c"
    # Where: on the way down (what this bench is for), or in the boot, before or after init.
    if grep -q 'syncing, unmounting and powering off' "$c"; then
      where="at the power-off"; at_off=$((at_off + 1))
    elif ! grep -q 'ephemerd-init' "$c"; then
      where="in the kernel's boot, before init"; in_kernel=$((in_kernel + 1))
    else
      where="in init's boot"; in_init=$((in_init + 1))
    fi
    echo "boot $i: stuck $where, ended by the agent after $ms ms (console: $c)"
    grep -m 3 -E 'rcu: INFO|soft lockup|RIP:' "$c" | sed 's/^/    /'
  elif grep -q 'the guest daemon exited with status 3' "$out"; then
    ok=$((ok + 1)); rm -f "$out"
  else
    other=$((other + 1))
    cp "$d/vm/linux/console.log" "$d/logs/$i.console"
    echo "boot $i: other failure after $ms ms (log: $out)"
  fi
done
echo "$name: $boots boots: $ok powered off by themselves, $stuck stuck ($at_off at the power-off," \
  "$in_kernel in the kernel's boot, $in_init in init's boot), $other other"
