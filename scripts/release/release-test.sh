#!/usr/bin/env bash
# release-test.sh VERSION — the release in $DIST (default dist/) installed and run as a user
# would, using only the archives' files (plus the daemon, which the release does not have:
# the test's stand-in, test/standin/, is supplied as an operator supplies the real one).
#
#   0 SHA256SUMS checks
#   1 Linux: the tarball unpacked into an empty directory, a data dir made as docs/install.md
#     says (config.toml from the archive's docs/config.sample.toml, the kernel and
#     base-virtio.img linked from the unpacked tree); the static bin/ephemerd-vmhost's
#     --version, doctor, `run --once` (a real boot under QEMU: ready, then the orderly stop)
#     and status
#   2 Windows: the zip unpacked into an empty directory; ephemerd-vmhost.exe under wine:
#     --version, doctor (fails clearly: no Hyper-V), and one boot through the simulated HCS
#     (test/hcs/fake/, its in-process simulated guest: no QEMU) from the zip's kernel and
#     base-hyperv.img
#
# Work files: $BUILD/release-test/ (a private wine prefix in $BUILD/release-test-wineprefix,
# kept: making one takes a while). Needs `make hcs-fake` ($BUILD/win/hcsfake). Exit 0 when
# every check passed.
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
abs() { case $1 in /*) echo "$1" ;; *) echo "$top/$1" ;; esac; }
version=${1:?usage: release-test.sh VERSION}
build=$(abs "${BUILD:-build}")
dist=$(abs "${DIST:-dist}")
work=$build/release-test
prefix=$build/release-test-wineprefix
fake_dir=$build/win/hcsfake
timeout_s=${RELEASE_TEST_TIMEOUT:-600}
name=ephemerd-vm-$version
tgz=$dist/$name-linux-amd64.tar.gz
zip=$dist/$name-windows-amd64.zip

say() { printf '%s\n' "$*"; }
die() { say "release-test: $*" >&2; exit 1; }
passed=0 failed=0
check() { # check NAME COMMAND...
  if "${@:2}"; then passed=$((passed + 1)); say "  ok    $1"
  else failed=$((failed + 1)); say "  FAIL  $1"; fi
}
has() { grep -qE -- "$1" "$2"; }
winpath() { printf 'Z:%s' "${1//\//\\}"; }

for f in "$tgz" "$zip" "$dist/SHA256SUMS"; do [ -f "$f" ] || die "$f missing (make release VERSION=$version)"; done
for d in computecore computenetwork virtdisk; do
  [ -f "$fake_dir/$d.dll" ] || die "$fake_dir/$d.dll missing (make hcs-fake)"
done
loader=$(command -v wine64 || echo /usr/lib/wine/wine64)
[ -x "$loader" ] || die "wine64 not found"
wineserver=$(dirname "$loader")/wineserver
[ -x "$wineserver" ] || wineserver=$(command -v wineserver) || die "wineserver not found"
standin=$(BUILD=$build "$top/scripts/test/build-standin.sh") || die "cannot build the stand-in daemon"

{ rm -rf "$work" && mkdir -p "$work/logs"; } || die "cannot make $work"
log=$work/logs
t_start=$(date +%s)
say "release-test: $name from $dist"

# ---- 0 checksums --------------------------------------------------------------------------
check "SHA256SUMS matches both archives" bash -c "cd '$dist' && sha256sum --quiet -c SHA256SUMS"

# ---- 1 Linux ------------------------------------------------------------------------------
lin=$work/linux
mkdir -p "$lin/opt" "$lin/data/vm/linux"
tar -xzf "$tgz" -C "$lin/opt" --strip-components=1 || die "cannot unpack $tgz"
vmhost=$lin/opt/bin/ephemerd-vmhost
data=$lin/data
# The archive's sample config, made light for a 2-core test machine.
sed -e 's/^memory_mb = .*/memory_mb = 1024/' -e 's/^disk_size_gb = .*/disk_size_gb = 4/' \
  "$lin/opt/docs/config.sample.toml" >"$data/config.toml"
chmod 0700 "$data" && chmod 0600 "$data/config.toml"
ln -s "$lin/opt/vm/kernel" "$data/vm/linux/kernel"
ln -s "$lin/opt/vm/base-virtio.img" "$data/vm/linux/base-initrd.img"
install -m 0755 "$standin" "$data/vm/linux/ephemerd-linux"

unit=$lin/opt/lib/systemd/system/ephemerd-vm.service
check "linux: the systemd unit is in the archive" test -f "$unit"
# Its ExecStart= names the binary where docs/install.md unpacks the archive.
exec_bin=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$unit" 2>/dev/null)
check "linux: the unit runs $exec_bin, which the archive has" \
  test -n "$exec_bin" -a -x "$lin/opt/${exec_bin#/usr/local/lib/ephemerd-vm/}"

"$vmhost" --version >"$log/linux-version.out" 2>&1
check "linux: --version names $version, a commit and the compiler (musl)" \
  bash -c "head -n 1 '$log/linux-version.out' | grep -qx 'ephemerd-vmhost $version' &&
           grep -q '^commit [0-9a-f]' '$log/linux-version.out' &&
           grep -q '^compiler gcc .*x86_64-linux-musl' '$log/linux-version.out'"
check "linux: bin/ephemerd-vmhost is static (file, ldd)" \
  bash -c "file -b '$vmhost' | grep -q 'statically linked' && ! ldd '$vmhost' >/dev/null 2>&1"
"$vmhost" doctor --data-dir "$data" >"$log/linux-doctor.out" 2>&1
check "linux: doctor finds the data dir's inputs" \
  bash -c "grep -qE '^ok +kernel' '$log/linux-doctor.out' && grep -qE '^ok +base initrd' '$log/linux-doctor.out'"
t0=$(date +%s%N)
timeout -k 10 "$timeout_s" "$vmhost" run --once --data-dir "$data" >"$log/linux-run.out" 2>&1
rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "linux: run --once from the unpacked archive exits 0 (got $rc, $ms ms)" test "$rc" -eq 0
check "linux: the VM got ready" has 'vm ready in [0-9]+ ms' "$log/linux-run.out"
check "linux: the guest staged the config (stand-in daemon saw it)" \
  has 'STANDIN config mode=0600' "$data/vm/linux/console.log"
check "linux: the guest's init is this release's" \
  has "ephemerd-init $version \\(commit" "$data/vm/linux/console.log"
check "linux: the boot initrd starts with the archive's base-virtio.img" \
  cmp -s -n "$(stat -c %s "$lin/opt/vm/base-virtio.img")" "$lin/opt/vm/base-virtio.img" \
    "$data/vm/linux/boot-initrd.img"
"$vmhost" status --data-dir "$data" >"$log/linux-status.out" 2>&1
check "linux: status shows the orderly stop" has 'stopped' "$log/linux-status.out"

# ---- 2 Windows (wine) ---------------------------------------------------------------------
win=$work/windows
mkdir -p "$win/opt" "$win/data/vm/linux" "$win/state"
python3 -m zipfile -e "$zip" "$win/unzip" || die "cannot unpack $zip"
cp -a "$win/unzip/$name-windows-amd64/." "$win/opt/"
exe=$win/opt/ephemerd-vmhost.exe
wdata=$win/data
cp "$win/opt/vm/kernel" "$wdata/vm/linux/kernel"
cp "$win/opt/vm/base-hyperv.img" "$wdata/vm/linux/base-initrd.img"
cp "$standin" "$wdata/vm/linux/ephemerd-linux"
sed -e 's/^memory_mb = .*/memory_mb = 1024/' -e 's/^disk_size_gb = .*/disk_size_gb = 4/' \
  "$win/opt/docs/config.sample.toml" >"$wdata/config.toml"

mkdir -p "$prefix"
export WINEPREFIX=$prefix WINEDEBUG=-all WINEDLLOVERRIDES='mscoree,mshtml='
cleanup() { "$wineserver" -k >/dev/null 2>&1 || true; }
trap cleanup EXIT
timeout 300 "$loader" "$exe" --version >"$log/win-version.out" 2>&1
# (wine's own notes when it makes the prefix come first)
tr -d '\r' <"$log/win-version.out" >"$log/win-version.txt"
check "windows: --version names $version, a commit and the compiler (mingw)" \
  bash -c "grep -qx 'ephemerd-vmhost $version' '$log/win-version.txt' &&
           grep -q '^commit [0-9a-f]' '$log/win-version.txt' &&
           grep -q '^compiler gcc .*x86_64-w64-mingw32' '$log/win-version.txt'"
timeout 120 "$loader" "$exe" doctor --data-dir "$(winpath "$wdata")" >"$log/win-doctor.out" 2>&1
rc=$?
check "windows: doctor without Hyper-V exits 1 (got $rc)" test "$rc" -eq 1
check "windows: doctor says Hyper-V is missing" has 'Hyper-V' "$log/win-doctor.out"

t0=$(date +%s%N)
timeout -k 10 "$timeout_s" env WINEDLLOVERRIDES='mscoree,mshtml=;virtdisk=n' \
  EVM_HCS_DLL_DIR="$(winpath "$fake_dir")" EVM_FAKE_HCS_STATE="$(winpath "$win/state")" \
  "$loader" "$exe" run --once --data-dir "$(winpath "$wdata")" >"$log/win-run.out" 2>&1
rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "windows: run --once through the simulated HCS exits 0 (got $rc, $ms ms)" test "$rc" -eq 0
check "windows: the VM got ready" has 'vm ready in [0-9]+ ms' "$log/win-run.out"
check "windows: HCS booted the data dir's kernel and boot initrd (from the zip's files)" \
  python3 - "$win/state" "$(winpath "$wdata")" <<'PY'
import glob, json, sys
docs = glob.glob(sys.argv[1] + "/*.document.json")
lkd = json.load(open(docs[0]))["VirtualMachine"]["Chipset"]["LinuxKernelDirect"] if docs else {}
sys.exit(0 if len(docs) == 1 and lkd.get("KernelFilePath") == sys.argv[2] + "\\vm\\linux\\kernel"
         and lkd.get("InitRdPath") == sys.argv[2] + "\\vm\\linux\\boot-initrd.img" else 1)
PY
check "windows: the boot initrd starts with the zip's base-hyperv.img" \
  cmp -s -n "$(stat -c %s "$win/opt/vm/base-hyperv.img")" "$win/opt/vm/base-hyperv.img" \
    "$wdata/vm/linux/boot-initrd.img"
cleanup

say "release-test: $passed passed, $failed failed in $(( $(date +%s) - t_start )) s (logs: $log)"
[ "$failed" -eq 0 ]
