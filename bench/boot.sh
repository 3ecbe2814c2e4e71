#!/usr/bin/env bash
# boot.sh VMHOST — the boot benchmark of issues 4 and 11: N boots (BENCH_BOOTS, default 5) on
# a warm disk with ephemerd-init and with the baseline it replaced (bench/baseline/init.sh:
# the old busybox shell init), under the same kernel, QEMU settings, tail and stand-in
# daemon, taken in turns (init, baseline, init, …) so that a change in the machine's load
# weighs on both alike. Per init it prints the median milliseconds from the kernel handing
# over to /init ("Run /init as init process", the kernel's own timestamp) to the daemon's
# start (the stand-in's "STANDIN boottime_ms=", CLOCK_BOOTTIME), and the agent's wall time
# from `run` to ready ("vm ready in N ms"), with ratios (goal: handover->daemon >= 5x); then
# ephemerd-init's stage timings (median ms after the handover at which each
# EPHEMERD_STAGE marker came, and the eager modules' own time). Figures only: it fails only
# when a boot fails.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
vmhost=${1:?usage: boot.sh VMHOST}
build=${BUILD:-$top/build}
case $build in /*) ;; *) build=$top/$build ;; esac
runs=${BENCH_BOOTS:-5}
# shellcheck disable=SC1091
source "$build/e2e/assets/assets.env" || { echo "boot bench: run make e2e-assets first" >&2; exit 1; }
work=$build/bench-boot
rm -rf "$work" && mkdir -p "$work"

baseline=$work/base-baseline.img
(cd "$top" && "$top/scripts/test/build-base.sh" "$vmhost" bench/baseline/baseline.list "$MODULES_DIR" \
  bench/baseline/init.sh "$ROOTFS" "$baseline" > "$work/base-baseline.log")

median() { sort -n | awk '{ a[NR] = $1 } END { if (NR == 0) { print "nan"; exit } m = int((NR + 1) / 2); if (NR % 2) print a[m]; else printf "%.1f\n", (a[m] + a[m + 1]) / 2 }'; }

setup_init() { # setup_init NAME BASE: the data dir, and a warm-up boot that populates the disk
  local name=$1 base=$2 data=$work/$1
  mkdir -p "$data/vm/linux"
  ln -s "$VMLINUX" "$data/vm/linux/kernel"
  ln -s "$base" "$data/vm/linux/base-initrd.img"
  cp "$STANDIN" "$data/vm/linux/ephemerd-linux"
  printf '[vm.linux]\ncpus = 2\nmemory_mb = 1024\ndisk_size_gb = 8\n[dind]\nenabled = true\n' > "$data/config.toml"
  # Warm-up boot: creates and populates the disk (not timed).
  "$vmhost" run --data-dir "$data" --once --ready-timeout 120 > "$work/$name-warmup.log" 2>&1 ||
    { echo "boot bench: $name warm-up boot failed, see $work/$name-warmup.log" >&2; tail -5 "$work/$name-warmup.log" >&2; return 1; }
  : > "$work/$name.handover"; : > "$work/$name.ready"; : > "$work/$name.wall"; : > "$work/$name.stages"
}

boot_once() { # boot_once NAME I: one timed boot
  local name=$1 i=$2 data=$work/$1 t0 t1 run_init launch
  : > "$data/vm/linux/console.log"
  t0=$(date +%s%N)
  "$vmhost" run --data-dir "$data" --once --ready-timeout 120 > "$work/$name-$i.log" 2>&1 ||
    { echo "boot bench: $name boot $i failed, see $work/$name-$i.log" >&2; return 1; }
  t1=$(date +%s%N)
  cp "$data/vm/linux/console.log" "$work/$name-$i.console"
  run_init=$(sed -n 's/^\[ *\([0-9.]*\)\] Run \/init as init process.*/\1/p' "$work/$name-$i.console" | head -n 1)
  launch=$(sed -n 's/^STANDIN boottime_ms=\([0-9]*\).*/\1/p' "$work/$name-$i.console" | head -n 1)
  [ -n "$run_init" ] && [ -n "$launch" ] ||
    { echo "boot bench: $name boot $i: markers missing in $work/$name-$i.console" >&2; return 1; }
  awk -v a="$run_init" -v b="$launch" 'BEGIN { printf "%.0f\n", b - a * 1000 }' >> "$work/$name.handover"
  sed -n 's/.*vm ready in \([0-9]*\) ms.*/\1/p' "$work/$name-$i.log" | head -n 1 >> "$work/$name.ready"
  echo $(( (t1 - t0) / 1000000 )) >> "$work/$name.wall"
  # "<stage> <ms after the handover>" per EPHEMERD_STAGE marker, and the eager modules' time.
  awk -v a="$run_init" '/^EPHEMERD_STAGE stage=/ { split($2, s, "="); split($3, m, "=");
      printf "%s %.0f\n", s[2], m[2] - a * 1000 }
    /ephemerd-init: modules: .* in [0-9]+ ms/ { print "(eager-modules-own)", $(NF - 1) }' \
    "$work/$name-$i.console" >> "$work/$name.stages"
}

echo "== boot bench, $(date -u '+%Y-%m-%d %H:%M UTC') =="
echo "kernel $KERNEL_VERSION; $runs boots per init on a warm disk after one untimed warm-up boot"
setup_init ephemerd-init "$BASE_INITRD"
setup_init baseline "$baseline"
for i in $(seq 1 "$runs"); do
  boot_once ephemerd-init "$i"
  boot_once baseline "$i"
done
grep -ho 'VM started ([^)]*)' "$work/ephemerd-init-1.log" | head -n 1

printf '\n%-16s %26s %22s %18s\n' init "handover->daemon ms (med)" "run->ready ms (med)" "run --once wall ms"
declare -A h r w
for n in ephemerd-init baseline; do
  h[$n]=$(median < "$work/$n.handover"); r[$n]=$(median < "$work/$n.ready"); w[$n]=$(median < "$work/$n.wall")
  printf '%-16s %26s %22s %18s   (each: %s)\n' "$n" "${h[$n]}" "${r[$n]}" "${w[$n]}" "$(paste -sd' ' "$work/$n.handover")"
done
awk -v a="${h[baseline]}" -v b="${h[ephemerd-init]}" -v c="${r[baseline]}" -v d="${r[ephemerd-init]}" 'BEGIN {
  printf "\nratios: handover->daemon baseline/ephemerd-init %.2fx (goal >= 5x); run->ready %.2fx\n", a / b, c / d }'

printf '\nephemerd-init stages (median ms after the handover, %s boots):\n' "$runs"
awk '{ v[$1] = v[$1] " " $2; if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 } }
  END { for (k = 1; k <= n; k++) print order[k] v[order[k]] }' "$work/ephemerd-init.stages" |
  while read -r stage values; do
    # shellcheck disable=SC2086 # one value a word
    printf '  %-22s %6s\n' "$stage" "$(printf '%s\n' $values | median)"
  done
