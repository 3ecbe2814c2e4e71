#!/usr/bin/env bash
# e2e-hcs.sh — the Windows agent under wine, through the SIMULATED HCS (issue 8, "Tests").
# HCS cannot exist on Linux: the fake computecore/computenetwork/virtdisk DLLs
# (test/hcs/fake/, `make hcs-fake`) are loaded by the unmodified agent (EVM_HCS_DLL_DIR), and
# test/hcs/hcsboot.py boots QEMU from the document the fake validated. Everything runs in a
# network namespace (test/hcs/netns.sh): the agent under wine (its own wineserver and prefix),
# the fakes inside it, and hcsboot.py, which attaches the VHDX as /dev/sda on virtio-scsi, the
# NIC to the namespace's bridge (dnsmasq DHCP) and relays COM1, so that the agent reaches the
# guest at its DHCP address. Scenarios marked (sim) use the fake's in-process simulated guest
# (no EVM_FAKE_HCS_HELPER, no QEMU).
#   0 `run --dry-run` (the document: parses, Windows paths, /dev/sda, even SizeInMB, CPUs
#     capped) and `doctor` without the fakes (fails clearly: no Hyper-V)
#   1 first boot: blank VHDX formatted, config staged 0600, ready at the guest's address
#   2 second boot with a config change: it reaches the guest, the VHDX keeps its filesystem
#   3 (checked in 1 and 2) the orderly stop: the console stop request alone (no HCS
#     shutdown or terminate), the daemon stopped in order, GracefulExit
#   4 a guest that ignores the stop (sim, guest=IGNORE_STOP): HCS shutdown at half the
#     grace period, terminate at the grace period, ForcedExit, the agent exits 0
#   5 a guest fatal (the daemon exits with 3; and --no-disk): the reason in `status`
#   6 each injected HCS failure (create=INVALID_JSON, start=ACCESS_DENIED, start=HANG (sim);
#     event=SERVICE_DISCONNECT, event=CRASH during a real boot): a readable reason naming
#     the HRESULT in the agent's output and status.json, state "failed", nothing left
#   7 the start-up sweep (sim, stale=1): the stale VM terminated, its endpoint deleted
#   8 the agent killed (SIGKILL) while its VM runs: ShouldTerminateOnLastHandleClosed, the
#     VM (hcsboot's QEMU) goes away; the next agent's sweep deletes the endpoint left over
# After every scenario: no agent (wine) process, no QEMU, no qemu-img left in the namespace,
# and the fake's state (state.json, calls.log) shows no compute system and no endpoint left.
# Usage: test/e2e/e2e-hcs.sh WIN_VMHOST_EXE   (root; BUILD selects the build dir; needs
#   `make e2e-assets` (BASE_INITRD_SCSI), `make hcs-fake`, wine64, qemu, qemu-img, dnsmasq)
#   E2E_HCS_ACCEL=tcg|kvm (hcsboot's QEMU; default tcg), E2E_TIMEOUT (per agent run, s).
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
exe=${1:?usage: e2e-hcs.sh WIN_VMHOST_EXE}
build=${BUILD:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
case $exe in /*) ;; *) exe=$top/$exe ;; esac

say() { printf '%s\n' "$*"; }
die() { say "e2e-hcs: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces, taps)"
[ -f "$exe" ] || die "$exe: not built (make windows)"
# shellcheck disable=SC1091
source "$build/e2e/assets/assets.env" 2>/dev/null || die "run make e2e-assets first"
[ -f "${BASE_INITRD_SCSI:-}" ] || die "BASE_INITRD_SCSI missing (rerun make e2e-assets)"
fake_dir=$build/win/hcsfake
for d in computecore computenetwork virtdisk; do
  [ -f "$fake_dir/$d.dll" ] || die "$fake_dir/$d.dll missing (make hcs-fake)"
done
loader=$(command -v wine64 || echo /usr/lib/wine/wine64)
[ -x "$loader" ] || die "wine64 not found"
wineserver=$(dirname "$loader")/wineserver
[ -x "$wineserver" ] || wineserver=$(command -v wineserver) || die "wineserver not found"
command -v qemu-img >/dev/null || die "qemu-img not found (qemu-utils)"

work=$build/e2e-hcs
data=$work/data
log=$work/logs
ns=evm-e2e-hcs-$$
timeout_s=${E2E_TIMEOUT:-300}
# A prefix of its own, kept between runs (making one takes a while): its wineserver is started
# in the namespace, so that every wine process of this test is there and dies with it.
prefix=$build/e2e-hcs-wineprefix
# TCG by default, as test-hcsboot.sh: nested KVM here stops the guest with an emulation failure.
accel=${E2E_HCS_ACCEL:-tcg}
hb_pid=""
bg_pids=()
passed=0; failed=0; names=()

check() { "${@:2}" && return 0; say "    FAILED: $1"; return 1; }
has() { grep -qF -- "$1" "$2"; }
hasnt() { ! grep -qF -- "$1" "$2"; }
winpath() { printf 'Z:%s' "${1//\//\\}"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }

cleanup() {
  local p
  for p in "${bg_pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
  [ -n "$hb_pid" ] && kill -TERM "$hb_pid" 2>/dev/null
  # Kills everything left in the namespace: wine, its wineserver, hcsboot, QEMU, dnsmasq.
  "$top/test/hcs/netns.sh" down "$ns" >/dev/null 2>&1 || say "e2e-hcs: netns.sh down $ns failed" >&2
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ns_pids PATTERN: pids in the namespace whose command line matches PATTERN (ERE).
ns_pids() {
  local p
  for p in $(ip netns pids "$ns" 2>/dev/null); do
    tr '\0' ' ' 2>/dev/null < "/proc/$p/cmdline" | grep -qE -- "$1" && echo "$p"
  done
  return 0
}

# gone PATTERN SECONDS: no such process in the namespace within SECONDS.
gone() {
  for _ in $(seq 1 $(( $2 * 10 ))); do
    [ -z "$(ns_pids "$1")" ] && return 0
    sleep 0.1
  done
  say "    still running: $(ns_pids "$1" | tr '\n' ' ')"
  return 1
}

# fake_clean STATE: the fake's state shows no compute system and no endpoint, and every
# endpoint created in calls.log was deleted (a failure prints what is left).
fake_clean() {
  python3 - "$1" <<'PY'
import json, re, sys
d = sys.argv[1]
st = json.load(open(d + "/state.json"))
bad = []
bad += ["compute system %s (%s) left" % (s.get("Id"), s.get("State")) for s in st.get("systems", [])]
bad += ["endpoint %s (%s) left" % (e.get("ID"), e.get("Name")) for e in st.get("endpoints", [])]
calls = open(d + "/calls.log", errors="replace").read()
made = re.findall(r"HcnCreateEndpoint id=([0-9A-F-]+) .* -> 0x00000000", calls)
deleted = set(re.findall(r"HcnDeleteEndpoint id=([0-9A-F-]+) -> 0x00000000", calls))
bad += ["endpoint %s created, never deleted (calls.log)" % e for e in made if e not in deleted]
for b in bad:
    print("    " + b)
sys.exit(1 if bad else 0)
PY
}

# nothing_left STATE: the post-conditions of every scenario.
nothing_left() {
  local ok=0
  check "no agent (wine) process left" gone 'ephemerd-vmhost' 15 || ok=1
  check "no QEMU left" gone '-name hcsboot-' 20 || ok=1
  check "no qemu-img left" gone 'qemu-img' 5 || ok=1
  check "the fake's state: no VM, no endpoint left" fake_clean "$1" || ok=1
  return $ok
}

write_config() { # write_config ALLOW_PRIVILEGED [extra lines]
  cat > "$data/config.toml" <<TOML
# e2e-hcs host config
[vm.linux]
cpus = 2
memory_mb = 1024
disk_size_gb = 8

[dind]
enabled = true
allow_privileged = $1

[registry]
token = "e2e-hcs-secret-token"
$2
TOML
}

# wine_env STATE INJECT HELPER: the environment of a wine process of this test.
wine_env() {
  printf '%s\n' "WINEPREFIX=$prefix" WINEDEBUG=-all 'WINEDLLOVERRIDES=mscoree,mshtml=;virtdisk=n' \
    "EVM_HCS_DLL_DIR=$(winpath "$fake_dir")" "EVM_FAKE_HCS_STATE=$(winpath "$1")" \
    "EVM_FAKE_HCS_INJECT=$2" "EVM_FAKE_HCS_HELPER=$3"
}

# agent NAME STATE INJECT HELPER [run args...]: `run --once` under wine in the namespace,
# bounded; output in $log/NAME.out, console kept as $log/NAME.console. Extra environment in
# AGENT_ENV (an array). In the background and waited for, so that a signal is handled at once.
agent() {
  local name=$1 st=$2 inject=$3 helper=$4 rc; shift 4
  local -a envs
  mapfile -t envs < <(wine_env "$st" "$inject" "$helper")
  mkdir -p "$st"
  : > "$data/vm/linux/console.log" 2>/dev/null || true
  timeout -k 10 "$timeout_s" ip netns exec "$ns" env "${envs[@]}" "${AGENT_ENV[@]}" \
    "$loader" "$exe" run --data-dir "$(winpath "$data")" --once "$@" > "$log/$name.out" 2>&1 &
  bg_pids+=("$!")
  wait "$!"; rc=$?
  tr -d '\r' < "$data/vm/linux/console.log" > "$log/$name.console" 2>/dev/null || : > "$log/$name.console"
  return $rc
}
AGENT_ENV=()

# status NAME: `status` under wine; output in $log/NAME.status, its exit code returned.
status() {
  timeout 60 ip netns exec "$ns" env "WINEPREFIX=$prefix" WINEDEBUG=-all \
    "$loader" "$exe" status --data-dir "$(winpath "$data")" > "$log/$1.status" 2>&1
}

scenario() { # scenario NAME FUNCTION
  local t0 t1
  t0=$(date +%s%N)
  if "$2"; then
    t1=$(date +%s%N); passed=$((passed + 1)); say "  ok    $1 ($(( (t1 - t0) / 1000000 )) ms)"
  else
    failed=$((failed + 1)); names+=("$1"); say "  FAIL  $1 — logs: $log/"
    tail -n 6 "$log/hcsboot.log" 2>/dev/null | sed 's/^/        hcsboot: /'
    # shellcheck disable=SC2012
    tail -n 6 "$(ls -t "$log"/*.out | head -n 1)" 2>/dev/null | tr -d '\r' | sed 's/^/        agent: /'
  fi
}

# ---- scenarios ------------------------------------------------------------------------------

s0_dry_run_doctor() {
  local ok=0 d=$work/plan rc
  mkdir -p "$d/vm/linux"
  ln -sf "$VMLINUX" "$d/vm/linux/kernel"
  ln -sf "$BASE_INITRD_SCSI" "$d/vm/linux/base-initrd.img"
  cp "$STANDIN" "$d/vm/linux/ephemerd-linux"
  printf '[vm.linux]\ncpus = 64\nmemory_mb = 1023\n' > "$d/config.toml"
  # Without the fakes: the plan needs no Hyper-V.
  timeout 60 ip netns exec "$ns" env "WINEPREFIX=$prefix" WINEDEBUG=-all \
    "$loader" "$exe" run --data-dir "$(winpath "$d")" --dry-run > "$log/s0.plan" 2> "$log/s0.plan.err"
  rc=$?
  check "run --dry-run exits 0 (got $rc)" test "$rc" -eq 0 || ok=1
  check "the document" python3 - "$log/s0.plan" "$(winpath "$d")" "$(nproc)" <<'PY' || ok=1
import json, sys
plan, root, ncpu = json.load(open(sys.argv[1])), sys.argv[2], int(sys.argv[3])
doc = plan["document"]
vm = doc["VirtualMachine"]
lkd = vm["Chipset"]["LinuxKernelDirect"]
topo = vm["ComputeTopology"]
disk = vm["Devices"]["Scsi"]["df6d0690-79e5-55b6-a5ec-c1e2f77f580a"]["Attachments"]["0"]
checks = [
    ("backend hcs", plan["backend"] == "hcs"),
    ("Owner ephemerd", doc["Owner"] == "ephemerd"),
    ("ShouldTerminateOnLastHandleClosed", doc["ShouldTerminateOnLastHandleClosed"] is True),
    ("StopOnReset", vm["StopOnReset"] is True),
    ("KernelFilePath " + lkd["KernelFilePath"], lkd["KernelFilePath"] == root + "\\vm\\linux\\kernel"),
    ("InitRdPath " + lkd["InitRdPath"], lkd["InitRdPath"] == root + "\\vm\\linux\\boot-initrd.img"),
    ("/dev/sda in KernelCmdLine", "ephemerd.root_disk=/dev/sda" in lkd["KernelCmdLine"].split()),
    ("COM1 console in KernelCmdLine", "console=ttyS0,115200" in lkd["KernelCmdLine"].split()),
    ("SizeInMB 1023 rounded up to even", topo["Memory"]["SizeInMB"] == 1024),
    ("Processor.Count 64 capped at %d" % ncpu, topo["Processor"]["Count"] == ncpu),
    ("the VHDX", disk == {"Type": "VirtualDisk", "Path": root + "\\vm\\linux\\root.vhdx", "ReadOnly": False}),
    ("COM1 pipe", vm["Devices"]["ComPorts"]["0"]["NamedPipe"].startswith("\\\\.\\pipe\\ephemerd-vm-")),
    ("one NIC", len(vm["Devices"]["NetworkAdapters"]) == 1),
    ("no Plan9/HvSocket", not ({"Plan9", "HvSocket"} & set(vm["Devices"]))),
    ("endpoint settings", plan["endpoint"]["HostComputeNetwork"] == "C08CB7B8-9B3C-408E-8E30-5E16A3AEB444"),
]
bad = [n for n, good in checks if not good]
for n in bad:
    print("    document: " + n)
sys.exit(1 if bad else 0)
PY
  check "the plan wrote nothing" test ! -e "$d/vm/linux/boot-initrd.img" || ok=1
  # doctor under wine without the fakes: no Hyper-V, a clear failure.
  timeout 60 ip netns exec "$ns" env "WINEPREFIX=$prefix" WINEDEBUG=-all \
    "$loader" "$exe" doctor --data-dir "$(winpath "$d")" > "$log/s0.doctor" 2>&1
  rc=$?
  tr -d '\r' < "$log/s0.doctor" > "$log/s0.doctor.txt"
  check "doctor exits 1 (got $rc)" test "$rc" -eq 1 || ok=1
  check "doctor: no Hyper-V, said so" grep -q '^FAIL  Hyper-V platform: Hyper-V platform not available: computecore.dll' "$log/s0.doctor.txt" || ok=1
  check "doctor: the fix named" grep -q 'fix: enable Hyper-V' "$log/s0.doctor.txt" || ok=1
  check "doctor: a summary" grep -q '^doctor: [0-9]* problem(s)' "$log/s0.doctor.txt" || ok=1
  check "no agent (wine) process left" gone 'ephemerd-vmhost' 15 || ok=1
  return $ok
}

# stopped_by_console NAME STATE: the stop was the console request alone (no HCS fallback).
stopped_by_console() {
  local o=$log/$1.out c=$log/$1.console ok=0 id vmid
  id=$(grep -o 'console stop request, boot id [0-9a-f]*' "$o" | tail -n 1 | awk '{print $NF}')
  check "the agent sent the console stop request" test -n "$id" || ok=1
  check "the guest acted on it for this boot" has "stop requested on the console (boot id $id)" "$c" || ok=1
  check "the daemon stopped in order" has "STANDIN exiting on SIGTERM" "$c" || ok=1
  check "GracefulExit" has "VM stopped: the guest powered off (GracefulExit)" "$o" || ok=1
  check "no HCS shutdown needed" hasnt "HcsShutDownComputeSystem" "$2/calls.log" || ok=1
  check "no terminate needed" hasnt "HcsTerminateComputeSystem system=" "$2/calls.log" || ok=1
  vmid=$(grep -o 'VM [0-9A-F-]\{36\} started through HCS' "$o" | awk '{print $2}')
  check "QEMU saw a guest power-off" grep -qE "\\[$vmid\\] qmp event SHUTDOWN .*\"guest-shutdown\"" "$log/hcsboot.log" || ok=1
  return $ok
}

s1_first_boot() {
  local st=$work/state-s1 ok=0 rc
  write_config false ""
  agent s1 "$st" "" "$helper"; rc=$?
  check "agent exits 0 (got $rc)" test "$rc" -eq 0 || { tail -n 5 "$log/s1.out"; ok=1; }
  local c=$log/s1.console o=$log/s1.out
  check "the VHDX created by virtdisk" has "root disk $(winpath "$data")" "$o" || ok=1
  # (the kernel's own "sd 0:0:0:0: [sda]" is a notice, kept off the console once init runs)
  check "the guest mounted the disk as sda" has "ephemerd-init: root disk /dev/sda mounted at /newroot" "$c" || ok=1
  check "mkfs on the blank VHDX" has "/dev/sda holds no filesystem: creating ext4" "$c" || ok=1
  check "config mode 0600" has "STANDIN config mode=0600" "$c" || ok=1
  check "config digest equals the host file's" has "STANDIN config sha256=$(sha "$data/config.toml")" "$c" || ok=1
  check "ready at the guest's address" grep -qE "vm ready in .*containerd ${subnet_re}[0-9]+:10000" "$o" || ok=1
  check "status.json has the guest's address" grep -qE "\"ip\":[[:space:]]*\"$subnet_re" "$data/status.json" || ok=1
  check "no secret in the agent log" hasnt "e2e-hcs-secret-token" "$o" || ok=1
  stopped_by_console s1 "$st" || ok=1
  nothing_left "$st" || ok=1
  return $ok
}

s2_second_boot() {
  local st=$work/state-s2 ok=0 rc
  write_config true ""
  agent s2 "$st" "" "$helper"; rc=$?
  check "agent exits 0 (got $rc)" test "$rc" -eq 0 || { tail -n 5 "$log/s2.out"; ok=1; }
  local c=$log/s2.console o=$log/s2.out
  check "the VHDX kept (not created again)" hasnt "created (dynamic VHDX" "$o" || ok=1
  check "no mkfs the second time" hasnt "holds no filesystem" "$c" || ok=1
  check "the existing filesystem used" has "/dev/sda holds an existing ext4 filesystem" "$c" || ok=1
  check "the config change reached the guest" has "dind_allow_privileged=1" "$c" || ok=1
  check "the new config digest" has "STANDIN config sha256=$(sha "$data/config.toml")" "$c" || ok=1
  check "ready at the guest's address" grep -qE "vm ready in .*containerd $subnet_re" "$o" || ok=1
  stopped_by_console s2 "$st" || ok=1
  nothing_left "$st" || ok=1
  return $ok
}

s4_ignored_stop() {
  local st=$work/state-s4 ok=0 rc t0 ms
  write_config false ""
  t0=$(date +%s%N)
  agent s4 "$st" "guest=IGNORE_STOP" "" --stop-grace 4000; rc=$?
  ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  local o=$log/s4.out
  check "agent exits 0 (got $rc)" test "$rc" -eq 0 || ok=1
  check "the console stop request sent" has "asked the guest to stop (console stop request" "$o" || ok=1
  check "HCS shutdown at half grace" has "asking HCS to shut it down" "$o" || ok=1
  check "terminate at grace" has "did not power off within its grace period; terminating the VM" "$o" || ok=1
  check "ForcedExit" has "VM stopped: the VM was ended by the host (ForcedExit)" "$o" || ok=1
  check "shutdown, then terminate (calls.log)" python3 - "$st/calls.log" <<'PY' || ok=1
import sys
calls = open(sys.argv[1]).read()
s = calls.find("HcsShutDownComputeSystem system=")
t = calls.find("HcsTerminateComputeSystem system=")
sys.exit(0 if 0 <= s < t else 1)
PY
  check "the stop took the grace period (4 s <= $ms ms < 20 s)" test "$ms" -ge 4000 -a "$ms" -lt 20000 || ok=1
  nothing_left "$st" || ok=1
  return $ok
}

# failed_with NAME REASON: the agent failed (exit 1) naming REASON (ERE) in its output, in
# status.json's last_error and in `status`; state "failed".
failed_with() {
  local o=$log/$1.out ok=0 rc
  check "the reason in the agent's output" grep -qE "error: .*$2" "$o" || { tail -n 4 "$o" | sed 's/^/      /'; ok=1; }
  check "the reason in status.json's last_error" grep -qE "\"last_error\":.*$2" "$data/status.json" || ok=1
  check "state failed" grep -qE '"state":[[:space:]]*"failed"' "$data/status.json" || ok=1
  status "$1"; rc=$?
  check "status exits 1 (got $rc)" test "$rc" -eq 1 || ok=1
  check "status names the reason" grep -qE "last error: .*$2" "$log/$1.status" || ok=1
  return $ok
}

s5_guest_fatal() {
  local st=$work/state-s5 ok=0 rc
  write_config false "[standin]
exit_after_ms = 0
exit_code = 3"
  agent s5 "$st" "" "$helper"; rc=$?
  check "agent exits 1 (got $rc)" test "$rc" -eq 1 || ok=1
  check "init reports status 3" has "EPHEMERD_EXIT status=3" "$log/s5.console" || ok=1
  failed_with s5 "the guest daemon exited with status 3" || ok=1
  nothing_left "$st" || ok=1
  st=$work/state-s5b
  write_config false ""
  agent s5b "$st" "" "$helper" --no-disk --disk-timeout 3; rc=$?
  check "--no-disk: agent exits 1 (got $rc)" test "$rc" -eq 1 || ok=1
  check "--no-disk: no SCSI disk in the document" python3 -c '
import glob, json, sys
docs = glob.glob(sys.argv[1] + "/*.document.json")
sys.exit(0 if docs and all("Scsi" not in json.load(open(d))["VirtualMachine"]["Devices"] for d in docs) else 1)' "$st" || ok=1
  check "--no-disk: the guest's fatal names /dev/sda" grep -qE 'EPHEMERD_FATAL stage=disk reason=".*/dev/sda' "$log/s5b.console" || ok=1
  failed_with s5b "/dev/sda" || ok=1
  nothing_left "$st" || ok=1
  return $ok
}

# inject NAME INJECT HELPER REASON [run args]: one injected failure, all its checks.
inject() {
  local name=$1 inj=$2 helper_=$3 reason=$4 st=$work/state-$1 ok=0 rc; shift 4
  agent "$name" "$st" "$inj" "$helper_" "$@"; rc=$?
  check "$inj: agent exits 1 (got $rc)" test "$rc" -eq 1 || ok=1
  failed_with "$name" "$reason" || ok=1
  nothing_left "$st" || ok=1
  return $ok
}

s6_injected() {
  local ok=0
  write_config false ""
  inject s6-create create=INVALID_JSON "" 'HcsCreateComputeSystem: HCS_E_INVALID_JSON \(0x8037010D\)' || ok=1
  inject s6-access start=ACCESS_DENIED "" 'HcsStartComputeSystem: HCS_E_ACCESS_DENIED \(0x8037011B\)' || ok=1
  AGENT_ENV=(EVM_HCS_OP_TIMEOUT_MS=3000)
  inject s6-hang start=HANG "" 'HcsStartComputeSystem: no result within 3000 ms \(HCS_E_OPERATION_TIMEOUT\)' || ok=1
  AGENT_ENV=()
  check "start=HANG: the hung start ended by a terminate" has "HcsTerminateComputeSystem system=" "$work/state-s6-hang/calls.log" || ok=1
  # The events come during a real boot (well before the guest is ready): --once gives up.
  inject s6-disconnect event=SERVICE_DISCONNECT@500 "$helper" 'compute service \(vmcompute\) disconnected \(HCS_E_SERVICE_DISCONNECT \(0x8037011E\)\)' || ok=1
  inject s6-crash event=CRASH@500 "$helper" 'HCS_E_GUEST_CRITICAL_ERROR \(0x[0-9A-F]{8}\)' || ok=1
  check "crash: the crash report reached the log" grep -q 'HCS reports a guest crash' "$log/s6-crash.out" || ok=1
  return $ok
}

s7_sweep() {
  local st=$work/state-s7 ok=0 rc
  write_config false ""
  agent s7 "$st" "stale=1" ""; rc=$?
  local o=$log/s7.out
  check "agent exits 0 (got $rc)" test "$rc" -eq 0 || ok=1
  check "the stale VM terminated" has "terminated VM 5E1F5E1F-0000-4000-8000-0000000057A1, left running by an earlier agent" "$o" || ok=1
  check "the stale endpoint deleted" has "deleted endpoint ephemerd-vm-stale" "$o" || ok=1
  check "the sweep came before this boot's VM" python3 - "$o" <<'PY' || ok=1
import sys
o = open(sys.argv[1]).read()
sys.exit(0 if 0 <= o.find("deleted endpoint ephemerd-vm-stale") < o.find("VM started") else 1)
PY
  nothing_left "$st" || ok=1
  return $ok
}

s8_agent_killed() {
  local st=$work/state-s8 ok=0 pid="" rc vmid
  local -a envs
  write_config false ""
  mapfile -t envs < <(wine_env "$st" "" "$helper")
  mkdir -p "$st"
  : > "$data/vm/linux/console.log"
  # Service mode (no --once), in the background.
  timeout -k 10 "$timeout_s" ip netns exec "$ns" env "${envs[@]}" \
    "$loader" "$exe" run --data-dir "$(winpath "$data")" > "$log/s8.out" 2>&1 &
  bg_pids+=("$!")
  local job=$!
  for _ in $(seq 1 $(( timeout_s * 5 ))); do
    has 'vm ready in' "$log/s8.out" && break
    kill -0 "$job" 2>/dev/null || break
    sleep 0.2
  done
  check "ready" has "vm ready in" "$log/s8.out" || { tail -n 5 "$log/s8.out"; return 1; }
  vmid=$(grep -o 'VM [0-9A-F-]\{36\} started through HCS' "$log/s8.out" | awk '{print $2}')
  status s8; rc=$?
  check "status exits 0 while ready (got $rc)" test "$rc" -eq 0 || ok=1
  check "status: ready" grep -q '^state: *ready' "$log/s8.status" || ok=1
  check "status: containerd at the guest's address" grep -qE "^containerd: ${subnet_re}[0-9]+:10000" "$log/s8.status" || ok=1
  check "hcsboot's QEMU runs" test -n "$(ns_pids "-name hcsboot-$vmid")" || ok=1
  pid=$(ns_pids 'ephemerd-vmhost' | head -n 1)
  check "the agent's wine process found" test -n "$pid" || return 1
  kill -KILL "$pid"
  wait "$job" 2>/dev/null
  check "the VM (QEMU) went away with the agent" gone "-name hcsboot-$vmid" 30 || ok=1
  check "hcsboot says why" grep -qE "\[$vmid\] (killing qemu|control connection)" "$log/hcsboot.log" || ok=1
  check "no agent (wine) process left" gone 'ephemerd-vmhost' 15 || ok=1
  # The endpoint outlives the agent (as HNS's do): the next agent's sweep deletes it.
  agent s8-next "$st" "" ""; rc=$?
  check "the next agent exits 0 (got $rc)" test "$rc" -eq 0 || ok=1
  check "its sweep deleted the endpoint left" has "deleted endpoint ephemerd-vm-$vmid" "$log/s8-next.out" || ok=1
  nothing_left "$st" || ok=1
  return $ok
}

# ---- setup ------------------------------------------------------------------------------------

t_start=$(date +%s%N)
{ rm -rf "$work" && mkdir -p "$data/vm/linux" "$log"; } || die "cannot make $work"
"$top/test/hcs/netns.sh" up "$ns" > "$work/netns.env" 2> "$log/netns.err" ||
  die "netns.sh up failed: $(cat "$log/netns.err")"
# shellcheck disable=SC1091
source "$work/netns.env"
subnet_re=${GATEWAY%.*}.
subnet_re=${subnet_re//./\\.}

# The wineserver, persistent, in the namespace (the prefix is made on first use).
mkdir -p "$prefix"
ip netns exec "$ns" env "WINEPREFIX=$prefix" "$wineserver" -p ||
  die "wineserver did not start"
timeout 180 ip netns exec "$ns" env "WINEPREFIX=$prefix" WINEDEBUG=-all \
  WINEDLLOVERRIDES='mscoree,mshtml=' "$loader" "$exe" --help > "$log/wine-init.out" 2>&1 ||
  die "the agent does not run under wine: $(tail -n 5 "$log/wine-init.out")"

ip netns exec "$ns" python3 "$top/test/hcs/hcsboot.py" --bridge "$BRIDGE" --accel "$accel" \
  --port-file "$work/port" --log "$log/hcsboot.log" --work-dir "$work/vms" \
  > "$log/hcsboot.out" 2>&1 &
hb_pid=$!
disown "$hb_pid"  # (no job notice when netns.sh kills it)
for _ in $(seq 1 100); do [ -s "$work/port" ] && break; kill -0 "$hb_pid" 2>/dev/null || break; sleep 0.1; done
[ -s "$work/port" ] || die "hcsboot did not start: $(cat "$log/hcsboot.out")"
helper=127.0.0.1:$(cat "$work/port")

ln -s "$VMLINUX" "$data/vm/linux/kernel"
ln -s "$BASE_INITRD_SCSI" "$data/vm/linux/base-initrd.img"
cp "$STANDIN" "$data/vm/linux/ephemerd-linux"

say "e2e-hcs: kernel $KERNEL_VERSION, namespace $ns ($SUBNET), hcsboot at $helper ($accel) — HCS simulated"
scenario "0 run --dry-run document; doctor without Hyper-V" s0_dry_run_doctor
scenario "1 first boot: config 0600, ready at the guest's address (3: console stop)" s1_first_boot
scenario "2 second boot: config change, filesystem kept (3: console stop)" s2_second_boot
scenario "4 a guest that ignores the stop: shutdown at grace/2, terminate" s4_ignored_stop
scenario "5 a guest fatal (exit 3; no disk): the reason in status" s5_guest_fatal
scenario "6 injected HCS failures: reason, state, nothing left" s6_injected
scenario "7 start-up sweep of a stale VM and endpoint" s7_sweep
scenario "8 the agent killed: the VM goes away, the sweep cleans up" s8_agent_killed

cleanup
trap - EXIT
if ip netns list | grep -qE "^$ns( |\$)"; then
  say "  FAIL  namespace $ns left behind"; failed=$((failed + 1)); names+=("namespace")
fi
say "e2e-hcs: $passed passed, $failed failed${names[*]:+ (${names[*]})} in $(( ($(date +%s%N) - t_start) / 1000000 )) ms"
[ "$failed" -eq 0 ]
