#!/usr/bin/env bash
# modload.sh — what loading one kernel module costs under this QEMU, and why: ext4.ko (2 MB,
# the longest step of the boot bench's eager modules) loaded and unloaded ROUNDS times, as
# Debian signed it and with its signature stripped, with 2 vCPUs and with 1. The difference
# between the first two columns is the in-guest SHA-256 of the signature; between the rows,
# what a second vCPU costs (the loader's cross-CPU TLB shootdowns and text-patching syncs).
# Figures only (issue 11's note); not part of make test.
# Usage: bench/modload/modload.sh   (BUILD selects the build dir; needs `make e2e-assets`
#   for the test kernel; MODLOAD_ROUNDS (default 4), MODLOAD_ACCEL (default tcg))
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-$top/build}
case $build in /*) ;; *) build=$top/$build ;; esac
rounds=${MODLOAD_ROUNDS:-4}
accel=${MODLOAD_ACCEL:-tcg}
# shellcheck disable=SC1091
source "$build/e2e/assets/assets.env" || { echo "modload: run make e2e-assets first" >&2; exit 1; }
work=$build/bench-modload
rm -rf "$work" && mkdir -p "$work/root/m" "$work/root/proc" "$work/root/dev"

musl-gcc -static -O2 -Wall -Wextra -Werror -o "$work/root/init" "$top/bench/modload/init.c"
m=$MODULES_DIR/kernel
cp "$m/lib/crc16.ko" "$m/fs/mbcache.ko" "$m/fs/jbd2/jbd2.ko" "$m/fs/ext4/ext4.ko" "$work/root/m/"
# The appended signature: "~Module signature appended~\n" after a 12-byte struct
# module_signature whose last 4 bytes are the PKCS#7 blob's length (big endian).
python3 - "$work/root/m/ext4.ko" "$work/root/m/ext4-unsigned.ko" <<'PY'
import struct, sys
magic = b"~Module signature appended~\n"
d = open(sys.argv[1], "rb").read()
if not d.endswith(magic):
    sys.exit("modload: %s carries no signature" % sys.argv[1])
n = struct.unpack(">I", d[-len(magic) - 4:-len(magic)])[0]
open(sys.argv[2], "wb").write(d[:len(d) - len(magic) - 12 - n])
PY
(cd "$work/root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) > "$work/modload.cpio"

echo "== module load bench, $(date -u '+%Y-%m-%d %H:%M UTC') =="
echo "kernel $KERNEL_VERSION, QEMU -accel $accel -cpu max; ext4.ko $(stat -c %s "$m/fs/ext4/ext4.ko") bytes" \
  "(signed), $(stat -c %s "$work/root/m/ext4-unsigned.ko") (signature stripped); $rounds rounds" \
  "each, the first left out (cold translation)"
median() { sort -n | awk '{ a[NR] = $1 } END { if (NR == 0) { print "nan"; exit } m = int((NR + 1) / 2); if (NR % 2) print a[m]; else printf "%.0f\n", (a[m] + a[m + 1]) / 2 }'; }
printf '\n%-8s %20s %22s %12s\n' vCPUs "ext4 signed (ms)" "ext4 unsigned (ms)" "jbd2 (ms)"
for smp in 2 1; do
  log=$work/smp$smp.log
  timeout 300 qemu-system-x86_64 -M q35 -accel "$accel" -cpu max -smp "$smp" -m 1024 -nodefaults \
    -no-user-config -nographic -no-reboot -kernel "$VMLINUX" -initrd "$work/modload.cpio" \
    -append "rdinit=/init console=ttyS0 quiet panic=-1 modload.rounds=$rounds modload.deps=/m/crc16.ko,/m/mbcache.ko,/m/jbd2.ko modload.mods=ext4:/m/ext4.ko,ext4:/m/ext4-unsigned.ko" \
    -serial stdio > "$log" 2>&1 || { echo "modload: QEMU failed, see $log" >&2; exit 1; }
  grep -q 'MODLOAD round .* rc=-' "$log" && { echo "modload: a load failed, see $log" >&2; exit 1; }
  signed=$(awk '/^MODLOAD round/ && $3 != 0 && $4 == "/m/ext4.ko" { printf "%.0f\n", $6 / 1000 }' "$log" | median)
  unsigned=$(awk '/^MODLOAD round/ && $3 != 0 && $4 == "/m/ext4-unsigned.ko" { printf "%.0f\n", $6 / 1000 }' "$log" | median)
  jbd2=$(awk '/^MODLOAD dep \/m\/jbd2.ko/ { printf "%.0f\n", $5 / 1000 }' "$log")
  printf '%-8s %20s %22s %12s\n' "$smp" "$signed" "$unsigned" "$jbd2"
done
