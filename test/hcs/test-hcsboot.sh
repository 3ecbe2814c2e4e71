#!/usr/bin/env bash
# test-hcsboot.sh — proves the Linux side of a boot through the simulated HCS on its own,
# without the mingw fakes or wine: test/hcs/hcsclient.py plays the fake computecore.dll
# against test/hcs/hcsboot.py inside a network namespace made by test/hcs/netns.sh, with a
# real kernel, the virtio-scsi base initrd plus a boot tail, and a VHDX root disk.
#   1 a document on drive C: is refused with a clear reason
#   2 first boot on a blank VHDX: /dev/sda formatted, DHCP address on the bridge, the
#     stand-in's containerd port answers from the namespace, the console stop request
#     (written on the console connection) powers the guest off: GracefulExit
#   3 second boot on the same VHDX: the filesystem is kept; shutdown is ignored by our
#     guest; terminate: ForcedExit
#   4 a guest panic (panic=-1 under -no-reboot): UnexpectedExit
#   5 the control connection dropped right after start: QEMU is killed
#   6 hcsboot stops on SIGTERM with a VM running, leaving no QEMU
#   7 hcsboot killed (SIGKILL) with a VM running (NIC on netns.sh's tap): QEMU dies with it
#     (PR_SET_PDEATHSIG)
# Usage: test/hcs/test-hcsboot.sh   (root; BUILD selects the build dir, default build/;
#   needs scripts/test/e2e-assets.sh's outputs (BASE_INITRD_SCSI) and the native vmhost;
#   ASSETS_ENV and VMHOST override where they are). Every step is bounded; the namespace,
#   hcsboot and any QEMU are removed on every exit path.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
assets_env=${ASSETS_ENV:-$build/e2e/assets/assets.env}
vmhost=${VMHOST:-$build/native/ephemerd-vmhost}
hcs=$top/test/hcs
work=$build/hcs-test
ns=evm-hcsboot-$$
boot_timeout=${HCS_BOOT_TIMEOUT:-300}

say() { printf '%s\n' "$*"; }
die() { say "test-hcsboot: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces, taps)"
# shellcheck disable=SC1090
source "$assets_env" 2>/dev/null || die "$assets_env: missing (run make e2e-assets)"
[ -f "${BASE_INITRD_SCSI:-}" ] ||
  die "BASE_INITRD_SCSI missing from $assets_env (rerun make e2e-assets)"
[ -x "$vmhost" ] || die "$vmhost: not built"
command -v qemu-img >/dev/null || die "qemu-img not found"

{ rm -rf "$work" && mkdir -p "$work/data" "$work/logs"; } || die "cannot make $work"
log=$work/logs
hb_pid=""
client_pids=()

hcsboot_qemus() { # hcsboot_qemus [ID]: pids of hcsboot's QEMUs (for VM ID) in our namespace
  local p
  for p in $(ip netns pids "$ns" 2>/dev/null); do
    tr '\0' ' ' 2>/dev/null < "/proc/$p/cmdline" | grep -q -- "-name hcsboot-${1:-}" && echo "$p"
  done
  return 0
}

cleanup() {
  local p
  for p in "${client_pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  if [ -n "$hb_pid" ] && kill -0 "$hb_pid" 2>/dev/null; then
    kill -TERM "$hb_pid" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$hb_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$hb_pid" 2>/dev/null
  fi
  "$hcs/netns.sh" down "$ns" >/dev/null 2>&1 || say "test-hcsboot: netns.sh down $ns failed" >&2
}
trap cleanup EXIT
trap 'exit 130' INT TERM

passed=0; failed=0; names=()
scenario() { # scenario NAME FUNCTION
  local t0 t1
  t0=$(date +%s%N)
  if "$2"; then
    t1=$(date +%s%N); passed=$((passed + 1))
    say "  ok    $1 ($(( (t1 - t0) / 1000000 )) ms)"
  else
    failed=$((failed + 1)); names+=("$1")
    say "  FAIL  $1 — logs: $log/"
    tail -n 8 "$log/hcsboot.log" 2>/dev/null | sed 's/^/        hcsboot: /'
  fi
}
check() { "${@:2}" && return 0; say "    FAILED: $1"; return 1; }
has() { grep -qF -- "$1" "$2"; }

winpath() { printf 'Z:%s' "${1//\//\\}"; }
new_id() { python3 -c 'import uuid; print(str(uuid.uuid4()).upper())'; }
new_boot_id() { od -An -N16 -tx1 /dev/urandom | tr -d ' \n'; }

# document OUT BOOT_ID KERNEL_PATH [EXTRA]: the document the HCS backend would send (research
# §(b)), with the kernel arguments its COM1 needs appended (pci=off included: hcsboot drops
# it), then EXTRA.
document() {
  local out=$1 bid=$2 kernel=$3 extra=${4:-} initrd=$work/boot-$2.img cmdline
  timeout 30 "$vmhost" initrd build --base "$BASE_INITRD_SCSI" --binary "$STANDIN" \
    --config "$work/data/config.toml" --boot-id "$bid" -o "$initrd" \
    > "$log/initrd-$bid.out" 2>&1 || { say "    initrd build failed: $(tail -n 3 "$log/initrd-$bid.out")"; return 1; }
  cmdline=$(timeout 10 "$vmhost" cmdline --data-dir "$work/data" --root-disk /dev/sda \
    --boot-id "$bid" 2>/dev/null) || { say "    vmhost cmdline failed"; return 1; }
  cmdline="$cmdline console=ttyS0,115200 8250_core.nr_uarts=1 8250_core.skip_txen_test=1"
  cmdline="$cmdline panic=-1 pci=off brd.rd_nr=0 pmtmr=0 nr_cpus=2 $extra"
  KERNEL="$kernel" INITRD="$(winpath "$initrd")" CMDLINE="$cmdline" \
    DISK="$(winpath "$work/root.vhdx")" PIPE='\\.\pipe\ephemerd-vm-test-com1' \
    python3 - > "$out" <<'PY' || return 1
import json, os, uuid
ep = str(uuid.uuid4()).upper()
print(json.dumps({
    "Owner": "ephemerd",
    "SchemaVersion": {"Major": 2, "Minor": 3},
    "ShouldTerminateOnLastHandleClosed": True,
    "VirtualMachine": {
        "StopOnReset": True,
        "Chipset": {"UseUtc": True, "LinuxKernelDirect": {
            "KernelFilePath": os.environ["KERNEL"], "InitRdPath": os.environ["INITRD"],
            "KernelCmdLine": os.environ["CMDLINE"]}},
        "ComputeTopology": {
            "Memory": {"SizeInMB": 1024, "AllowOvercommit": True, "EnableDeferredCommit": True},
            "Processor": {"Count": 2}},
        "Devices": {
            "Scsi": {"df6d0690-79e5-55b6-a5ec-c1e2f77f580a": {"Attachments": {
                "0": {"Type": "VirtualDisk", "Path": os.environ["DISK"]}}}},
            "NetworkAdapters": {ep: {"EndpointId": ep, "MacAddress": "00-15-5D-12-34-56"}},
            "ComPorts": {"0": {"NamedPipe": os.environ["PIPE"]}}}}}, indent=1))
PY
}

# client NAME SCENARIO ID DOC [hcsclient options]: bounded; output in $log/NAME.client
client() {
  local name=$1 sc=$2 id=$3 doc=$4; shift 4
  # In the background and waited for, so that a signal to this script is handled at once.
  timeout -k 5 $((boot_timeout + 240)) ip netns exec "$ns" python3 "$hcs/hcsclient.py" "$sc" \
    --port "$port" --id "$id" --document "$doc" --console-log "$log/$name.console" \
    --boot-timeout "$boot_timeout" "$@" > "$log/$name.client" 2>&1 &
  local pid=$! rc
  client_pids+=("$pid")
  wait "$pid"; rc=$?
  sed 's/^/    /' "$log/$name.client"
  return $rc
}

no_qemu_left() { # no_qemu_left ID: hcsboot's QEMU for this VM is gone (within 10 s)
  for _ in $(seq 1 100); do
    [ -z "$(hcsboot_qemus "$1")" ] && return 0
    sleep 0.1
  done
  return 1
}

s1_refused() {
  local id doc=$work/doc-c.json
  id=$(new_id)
  document "$doc" "$(new_boot_id)" 'C:\ProgramData\ephemerd\vm\linux\kernel' || return 1
  client s1 fail "$id" "$doc" --expect-message "drive C:" || return 1
  check "no QEMU for a refused document" no_qemu_left "$id"
}

s2_first_boot() {
  local id bid doc=$work/doc-2.json c=$log/s2.console ok=0
  id=$(new_id); bid=$(new_boot_id)
  document "$doc" "$bid" "$(winpath "$VMLINUX")" || return 1
  client s2 stop "$id" "$doc" --boot-id "$bid" --subnet "$SUBNET" || ok=1
  # (the kernel's own "sd 0:0:0:0: [sda]" is a notice, kept off the console once init runs)
  check "the virtio-scsi disk mounted as sda" has "ephemerd-init: root disk /dev/sda mounted at /newroot" "$c" || ok=1
  check "mkfs on the blank /dev/sda" has "holds no filesystem: creating ext4" "$c" || ok=1
  check "pci=off was dropped" has "kernel argument pci=off dropped" "$log/hcsboot.log" || ok=1
  check "the MAC from the document" grep -q 'mac=00:15:5d:12:34:56' "$log/hcsboot.log" || ok=1
  check "init acted on the console stop request" has "stop requested on the console (boot id $bid)" "$c" || ok=1
  check "the daemon was stopped in order" has "STANDIN exiting on SIGTERM" "$c" || ok=1
  check "qemu saw a guest power-off" has '"reason": "guest-shutdown"' "$log/hcsboot.log" || ok=1
  check "no QEMU left" no_qemu_left "$id" || ok=1
  grep -o 'timing [a-z_]*=[0-9]*' "$log/s2.client" | tr '\n' ' ' | sed 's/^/    boot 1: /; s/$/\n/'
  return $ok
}

s3_second_boot_terminate() {
  local id bid doc=$work/doc-3.json c=$log/s3.console ok=0
  id=$(new_id); bid=$(new_boot_id)
  document "$doc" "$bid" "$(winpath "$VMLINUX")" || return 1
  client s3 terminate "$id" "$doc" --subnet "$SUBNET" || ok=1
  check "the filesystem on the VHDX was kept" has "holds an existing ext4 filesystem" "$c" || ok=1
  check "hcsboot sent system_powerdown" has "system_powerdown sent" "$log/hcsboot.log" || ok=1
  check "no QEMU left" no_qemu_left "$id" || ok=1
  return $ok
}

s4_panic() {
  local id doc=$work/doc-4.json ok=0
  id=$(new_id)
  # No init in the initrd and no root: the kernel panics, panic=-1 resets, -no-reboot exits.
  document "$doc" "$(new_boot_id)" "$(winpath "$VMLINUX")" "rdinit=/nonexistent" || return 1
  client s4 panic "$id" "$doc" || ok=1
  check "the guest panicked" has "Kernel panic" "$log/s4.console" || ok=1
  check "qemu saw a guest reset" has '"reason": "guest-reset"' "$log/hcsboot.log" || ok=1
  check "no QEMU left" no_qemu_left "$id" || ok=1
  return $ok
}

s5_dropped_control() {
  local id doc=$work/doc-5.json ok=0
  id=$(new_id)
  document "$doc" "$(new_boot_id)" "$(winpath "$VMLINUX")" || return 1
  client s5 drop "$id" "$doc" || ok=1
  check "QEMU killed when the control connection closed" no_qemu_left "$id" || ok=1
  check "hcsboot says why" has "[$id] killing qemu (pid" "$log/hcsboot.log" || ok=1
  return $ok
}

# hold NAME: a VM started and held by a client in the background; sets held_id, held_pid.
hold() {
  local doc=$work/doc-$1.json
  held_id=$(new_id)
  document "$doc" "$(new_boot_id)" "$(winpath "$VMLINUX")" || return 1
  client "$1" hold "$held_id" "$doc" --boot-timeout 120 &
  held_pid=$!
  for _ in $(seq 1 300); do has holding "$log/$1.client" 2>/dev/null && break; sleep 0.1; done
  check "a VM is running" test -n "$(hcsboot_qemus "$held_id")"
}

# stop_hcsboot SIGNAL: signals hcsboot, waits up to 15 s; its exit status in hb_rc.
stop_hcsboot() {
  kill "-$1" "$hb_pid"
  for _ in $(seq 1 150); do kill -0 "$hb_pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$hb_pid" 2>/dev/null; then say "    hcsboot did not stop within 15 s"; return 1; fi
  { wait "$hb_pid"; } 2>/dev/null; hb_rc=$?; hb_pid=""
client_pids=()
}

s6_sigterm() {
  local ok=0
  hold s6 || ok=1
  stop_hcsboot TERM || return 1
  check "hcsboot exited 0 on SIGTERM (got $hb_rc)" test "$hb_rc" -eq 0 || ok=1
  check "its QEMU was killed" no_qemu_left "$held_id" || ok=1
  check "hcsboot says why" has "[$held_id] killing qemu (pid" "$log/hcsboot.log" || ok=1
  wait "$held_pid" || ok=1
  return $ok
}

s7_sigkill() {
  local ok=0
  start_hcsboot 2 --tap "$TAP" || return 1   # the other NIC mode: netns.sh's tap
  hold s7 || ok=1
  stop_hcsboot KILL 2>/dev/null || return 1  # (bash's "Killed" job notice hidden)
  check "QEMU died with hcsboot" no_qemu_left "$held_id" || ok=1
  wait "$held_pid" || ok=1
  return $ok
}

# start_hcsboot [N [NIC options]]: hcsboot in the namespace (default --bridge), logging to
# $log/hcsboot[-N].log; sets port.
start_hcsboot() {
  local sfx=${1:+-$1} nic=(--bridge "$BRIDGE")
  [ $# -gt 1 ] && nic=("${@:2}")
  rm -f "$work/port"
  ip netns exec "$ns" python3 "$hcs/hcsboot.py" "${nic[@]}" --port-file "$work/port" \
    --log "$log/hcsboot$sfx.log" --work-dir "$work/vms" > "$log/hcsboot$sfx.out" 2>&1 &
  hb_pid=$!
  for _ in $(seq 1 100); do [ -s "$work/port" ] && break; kill -0 "$hb_pid" 2>/dev/null || break; sleep 0.1; done
  [ -s "$work/port" ] || { say "hcsboot did not listen within 10 s: $(cat "$log/hcsboot$sfx.out")"; return 1; }
  port=$(cat "$work/port")
}

t0=$(date +%s%N)
"$hcs/netns.sh" up "$ns" > "$work/netns.env" 2> "$log/netns.err" ||
  die "netns.sh up failed: $(cat "$log/netns.err")"
# shellcheck disable=SC1091
source "$work/netns.env"
cp "$top/docs/config.sample.toml" "$work/data/config.toml"
timeout 30 qemu-img create -q -f vhdx "$work/root.vhdx" 8G || die "qemu-img create failed"
start_hcsboot || die "hcsboot did not start"
say "test-hcsboot: kernel $KERNEL_VERSION, namespace $ns ($SUBNET), hcsboot on 127.0.0.1:$port"

scenario "1 a document on drive C: is refused" s1_refused
scenario "2 first boot: DHCP, containerd port, console stop -> GracefulExit" s2_first_boot
scenario "3 second boot: disk kept, shutdown ignored, terminate -> ForcedExit" s3_second_boot_terminate
scenario "4 guest panic -> UnexpectedExit" s4_panic
scenario "5 control connection dropped: QEMU killed" s5_dropped_control
scenario "6 hcsboot stops on SIGTERM with a VM running, no QEMU left" s6_sigterm
scenario "7 hcsboot killed with a VM running: QEMU dies with it" s7_sigkill

cleanup
trap - EXIT
if ip netns list | grep -qE "^$ns( |\$)"; then
  say "  FAIL  namespace $ns left behind"; failed=$((failed + 1))
fi
say "test-hcsboot: $passed passed, $failed failed in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
[ "$failed" -eq 0 ]
