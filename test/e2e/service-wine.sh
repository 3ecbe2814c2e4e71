#!/usr/bin/env bash
# service-wine.sh — the Windows service (issue 12) under wine's Service Control Manager, booting
# through the SIMULATED HCS's in-process guest (test/hcs/fake: no QEMU, no kernel). A private
# WINEPREFIX and wineserver, in a network namespace of its own (loopback only: the simulated
# guest listens on 127.0.0.1), so that every wine process of this test dies with it. Wine's
# services.exe gives a service the registry's environment, not its own: the fake's settings
# go to HKLM\...\Session Manager\Environment, read when services.exe starts (a wine "boot").
#   1 install: without --data-dir, the default %ProgramData%\ephemerd (said missing); with
#     it, the registry (automatic start, own process, LocalSystem, the quoted command line,
#     description, preshutdown 45000 ms); wine drops recovery actions and the "non-crash
#     failure" flag: install says so (Windows keeps them: docs/windows.md); install again
#     updates it
#   2 automatic start: a wine boot (a new wineserver, services.exe starts) starts it; RUNNING
#   3 service start: START_PENDING with increasing checkpoints and the boot's wait hint, then
#     RUNNING at ready, as reported to the SCM (the service's debug lines in
#     DATA\logs\vmhost.log); sc query RUNNING; status.json ready; service status exit 0
#   4 service reload, nothing changed: the VM keeps running (same boot id)
#   5 service reload after a config change: the VM restarted in order, a new boot id, ready,
#     the service RUNNING throughout
#   6 service stop: STOP_PENDING with the stop grace's hint, the console stop request,
#     GracefulExit, STOPPED with exit code 0; no agent process; the fake's state clean
#   7 a start that fails (config.toml broken): service start exits 1 naming 1066 and
#     service-specific 2; sc query shows them
#   8 a VM that keeps failing (a guest crash injected 1 ms after each start, automatic start
#     at a wine boot): retried with START_PENDING and the retry hint, given up after 3
#     restarts: STOPPED, 1066 / service-specific 1; nothing left in the fake's state
#   9 `service run` from a terminal: refused, exit 1
#  10 uninstall: stops a running service, the registry key is gone, status exits 1 ("not
#     installed"), uninstall again exits 0
# Usage: test/e2e/service-wine.sh WIN_VMHOST_EXE   (root; BUILD selects the build dir; needs
#   `make windows hcs-fake`, wine64). SERVICE_WINE_KEEP=1 keeps the namespace for a look.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
exe=${1:?usage: service-wine.sh WIN_VMHOST_EXE}
build=${BUILD:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
case $exe in /*) ;; *) exe=$top/$exe ;; esac

say() { printf '%s\n' "$*"; }
die() { say "service-wine: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root (a network namespace)"
[ -f "$exe" ] || die "$exe: not built (make windows)"
fake_dir=$build/win/hcsfake
for d in computecore computenetwork virtdisk; do
  [ -f "$fake_dir/$d.dll" ] || die "$fake_dir/$d.dll missing (make hcs-fake)"
done
loader=$(command -v wine64 || echo /usr/lib/wine/wine64)
[ -x "$loader" ] || die "wine64 not found"
wineserver=$(dirname "$loader")/wineserver
[ -x "$wineserver" ] || wineserver=$(command -v wineserver) || die "wineserver not found"

work=$build/service-wine
data=$work/data
state=$work/state
log=$work/logs
# A prefix of its own (kept between runs: making one takes a while); the service is removed
# first if an earlier run left it.
prefix=$build/service-wineprefix
ns=evm-svc-wine-$$
svc=ephemerd-vm
key='HKLM\System\CurrentControlSet\Services\ephemerd-vm'
envkey='HKLM\System\CurrentControlSet\Control\Session Manager\Environment'
passed=0; failed=0; names=()

winpath() { printf 'Z:%s' "${1//\//\\}"; }
check() { "${@:2}" && return 0; say "    FAILED: $1"; return 1; }
has() { grep -qE -- "$1" "$2"; }

cleanup() {
  [ "${SERVICE_WINE_KEEP:-0}" = 1 ] && { say "service-wine: kept namespace $ns"; return; }
  local p
  for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
  ip netns del "$ns" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# w NAME ARGS...: a wine command in the namespace, output (CR stripped) in $log/NAME; its
# exit code returned.
w() {
  local name=$1 rc; shift
  timeout 120 ip netns exec "$ns" env "WINEPREFIX=$prefix" WINEDEBUG=-all \
    'WINEDLLOVERRIDES=mscoree,mshtml=' "$loader" "$@" > "$log/$name.raw" 2>&1
  rc=$?
  tr -d '\r' < "$log/$name.raw" > "$log/$name"
  return $rc
}
vmhost() { local name=$1; shift; w "$name" "$exe" "$@"; }

# A wine "boot": a new wineserver; the next wine process starts services.exe, which reads the
# registry's environment and starts the automatic services.
wine_boot() {
  ip netns exec "$ns" env "WINEPREFIX=$prefix" "$wineserver" -k 2>/dev/null
  for _ in $(seq 1 50); do
    [ -z "$(ns_pids 'wineserver|services.exe|ephemerd-vmhost')" ] && break
    sleep 0.1
  done
  ip netns exec "$ns" env "WINEPREFIX=$prefix" "$wineserver" -p || die "wineserver did not start"
}

ns_pids() {
  local p
  for p in $(ip netns pids "$ns" 2>/dev/null); do
    tr '\0' ' ' 2>/dev/null < "/proc/$p/cmdline" | grep -qE -- "$1" && echo "$p"
  done
  return 0
}

# sc_state NAME: the service's state word from `sc query` (RUNNING, STOPPED, ...).
sc_state() {
  w "$1" sc query "$svc" || true
  awk '/STATE/ {print $4; exit}' "$log/$1"
}

# wait_state STATE SECONDS: until sc query says STATE.
wait_state() {
  local s=""
  for _ in $(seq 1 $(( $2 * 2 ))); do
    s=$(sc_state wait.sc)
    [ "$s" = "$1" ] && return 0
    sleep 0.5
  done
  say "    state $s, not $1, after $2 s"
  return 1
}

# fake_clean: no compute system and no endpoint in the fake's state; every endpoint made was
# deleted.
fake_clean() {
  python3 - "$state" <<'PY'
import json, re, sys
d = sys.argv[1]
st = json.load(open(d + "/state.json"))
bad = ["compute system %s (%s) left" % (s.get("Id"), s.get("State")) for s in st.get("systems", [])]
bad += ["endpoint %s left" % e.get("ID") for e in st.get("endpoints", [])]
calls = open(d + "/calls.log", errors="replace").read()
made = re.findall(r"HcnCreateEndpoint id=([0-9A-F-]+) .* -> 0x00000000", calls)
gone = set(re.findall(r"HcnDeleteEndpoint id=([0-9A-F-]+) -> 0x00000000", calls))
bad += ["endpoint %s never deleted" % e for e in made if e not in gone]
for b in bad:
    print("    " + b)
sys.exit(1 if bad else 0)
PY
}

no_agent_left() {
  for _ in $(seq 1 50); do
    [ -z "$(ns_pids 'ephemerd-vmhost')" ] && return 0
    sleep 0.1
  done
  say "    still running: $(ns_pids 'ephemerd-vmhost' | tr '\n' ' ')"
  return 1
}

boot_id() { sed -n 's/.*"boot_id":[[:space:]]*"\([0-9a-f]*\)".*/\1/p' "$data/status.json"; }
json_state() { sed -n 's/.*"state":[[:space:]]*"\([a-z]*\)".*/\1/p' "$data/status.json"; }
svclog() { tr -d '\r' < "$data/logs/vmhost.log"; }
# The log's lines from here on (a mark taken before a step).
mark() { svclog | wc -l; }
since() { svclog | tail -n +"$(( $1 + 1 ))" > "$log/$2"; }

write_config() { # write_config CPUS [extra lines]
  cat > "$data/config.toml" <<TOML
# service-wine host config
[vm.linux]
cpus = $1
memory_mb = 512
disk_size_gb = 1
swap_mb = 128

[registry]
token = "service-wine-secret-token"

[log]
level = "debug"
$2
TOML
}

# An uncompressed newc cpio holding only its trailer: the base initrd the boot initrd is
# built on (the simulated guest boots nothing).
write_base() {
  python3 - "$1" <<'PY'
import sys
name = b"TRAILER!!!\0"
hdr = b"070701" + b"".join(b"%08X" % v for v in (0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, len(name), 0))
blob = hdr + name
blob += b"\0" * (-len(blob) % 4)
blob += b"\0" * (-len(blob) % 512)
open(sys.argv[1], "wb").write(blob)
PY
}

scenario() { # scenario NAME FUNCTION
  local t0
  t0=$(date +%s%N)
  if "$2"; then
    passed=$((passed + 1)); say "  ok    $1 ($(( ($(date +%s%N) - t0) / 1000000 )) ms)"
  else
    failed=$((failed + 1)); names+=("$1"); say "  FAIL  $1 — logs: $log/"
    svclog 2>/dev/null | tail -n 8 | sed 's/^/        service log: /'
  fi
}

# ---- scenarios ------------------------------------------------------------------------------

s1_install() {
  local ok=0 rc d
  d=$(winpath "$data")
  # Without --data-dir: the platform's default, %ProgramData%\ephemerd (not made by install).
  vmhost s1.default service install; rc=$?
  check "install without --data-dir exits 0 (got $rc)" test "$rc" -eq 0 || ok=1
  check "the default data dir: C:\\ProgramData\\ephemerd" has 'service run --data-dir "C:\\ProgramData\\ephemerd"$' "$log/s1.default" || ok=1
  check "install says the data dir does not exist" has 'data directory C:\\ProgramData\\ephemerd does not exist' "$log/s1.default" || ok=1
  vmhost s1.install service install --data-dir "$d"; rc=$?
  check "install exits 0 (got $rc)" test "$rc" -eq 0 || { cat "$log/s1.install"; return 1; }
  check "install names the command line" has "^updated service $svc: \".*ephemerd-vmhost\\.exe\" service run --data-dir \"Z:.*data\"$" "$log/s1.install" || ok=1
  w s1.reg reg query "$key"
  local r=$log/s1.reg
  check "Start = 2 (automatic)" has 'Start +REG_DWORD +0x2$' "$r" || ok=1
  check "Type = 0x10 (own process)" has 'Type +REG_DWORD +0x10$' "$r" || ok=1
  check "ObjectName = LocalSystem" has 'ObjectName +REG_SZ +LocalSystem$' "$r" || ok=1
  check "ImagePath: service run --data-dir, quoted" has "ImagePath +REG_SZ +\".*ephemerd-vmhost\\.exe\" service run --data-dir \"Z:.*\\\\data\"$" "$r" || ok=1
  check "a description" has 'Description +REG_SZ +Boots and supervises the ephemerd Linux VM' "$r" || ok=1
  check "PreshutdownTimeout = 45000 ms (grace 30000 + 15000)" has 'PreshutdownTimeout +REG_DWORD +0xafc8$' "$r" || ok=1
  # Wine drops the recovery actions: the install must say so rather than pretend.
  if has 'FailureActions' "$r"; then
    say "    (this wine keeps FailureActions)"
  else
    check "install says the recovery actions were not kept" has 'did not keep the recovery actions' "$log/s1.install" || ok=1
  fi
  vmhost s1.status service status; rc=$?
  check "status exits 1 while stopped (got $rc)" test "$rc" -eq 1 || ok=1
  check "status: STOPPED" has '^state: +STOPPED' "$log/s1.status" || ok=1
  check "status: automatic, LocalSystem" has '^start: +automatic' "$log/s1.status" || ok=1
  check "status: preshutdown 45000 ms" has '^preshutdown: 45000 ms' "$log/s1.status" || ok=1
  vmhost s1.again service install --data-dir "$d"; rc=$?
  check "install again exits 0 (got $rc)" test "$rc" -eq 0 || ok=1
  check "install again updates it" has "^updated service $svc" "$log/s1.again" || ok=1
  return $ok
}

s2_autostart() {
  local ok=0
  wine_boot
  check "started by itself at the wine boot: RUNNING" wait_state RUNNING 60 || ok=1
  check "the VM became ready" has 'vm ready in' <(svclog) || ok=1
  vmhost s2.stop service stop
  check "stopped again" wait_state STOPPED 60 || ok=1
  return $ok
}

s3_start() {
  local ok=0 rc m
  m=$(mark)
  vmhost s3.start service start --timeout 120; rc=$?
  since "$m" s3.log
  check "start exits 0 (got $rc)" test "$rc" -eq 0 || { cat "$log/s3.start"; ok=1; }
  check "start says running and ready" has "^service $svc is running \\(pid [0-9]+\\): the VM is ready" "$log/s3.start" || ok=1
  check "the SCM's reports: START_PENDING (+checkpoints, hint), then RUNNING" python3 - "$log/s3.log" <<'PY' || ok=1
import re, sys
reps = re.findall(r"scm: (\w+) checkpoint (\d+) wait hint (\d+) ms accepts 0x([0-9a-f]+)", open(sys.argv[1]).read())
start = [r for r in reps if r[0] == "START_PENDING"]
cps = [int(r[1]) for r in start]
ok = (len(start) >= 3 and cps == sorted(set(cps)) and cps[0] == 1
      and all(int(r[2]) == 330000 for r in start)           # ready timeout 300 s + 30 s
      and all(int(r[3], 16) & 0x8 == 0 for r in start)      # no reload while starting
      and reps[len(start)][0] == "RUNNING" and reps[len(start)][1] == "0"
      and int(reps[len(start)][3], 16) == 0x10d)             # stop, shutdown, paramchange, preshutdown
print("    reports:", [r[0] + "#" + r[1] for r in reps][:12])
sys.exit(0 if ok else 1)
PY
  check "sc query: RUNNING" test "$(sc_state s3.sc)" = RUNNING || ok=1
  check "status.json: ready" test "$(json_state)" = ready || ok=1
  vmhost s3.status service status; rc=$?
  check "service status exits 0 (got $rc)" test "$rc" -eq 0 || ok=1
  check "service status: RUNNING with its pid" has '^state: +RUNNING \(pid [0-9]+\)' "$log/s3.status" || ok=1
  check "no secret in the service log" test -z "$(svclog | grep -F service-wine-secret-token)" || ok=1
  return $ok
}

s4_reload_same() {
  local ok=0 rc m id
  id=$(boot_id)
  m=$(mark)
  vmhost s4.reload service reload; rc=$?
  check "reload exits 0 (got $rc)" test "$rc" -eq 0 || ok=1
  for _ in $(seq 1 40); do svclog | tail -n +"$((m + 1))" | grep -q 'reload: ' && break; sleep 0.25; done
  since "$m" s4.log
  check "the agent reloaded: nothing changed" has 'reload: nothing that affects the VM changed' "$log/s4.log" || ok=1
  check "the VM was not restarted" test -z "$(grep -E 'asked the guest to stop|VM started' "$log/s4.log")" || ok=1
  check "the same boot id" test "$(boot_id)" = "$id" || ok=1
  check "still RUNNING" test "$(sc_state s4.sc)" = RUNNING || ok=1
  return $ok
}

s5_reload_changed() {
  local ok=0 rc m id
  id=$(boot_id)
  write_config 2 ""
  m=$(mark)
  vmhost s5.reload service reload; rc=$?
  check "reload exits 0 (got $rc)" test "$rc" -eq 0 || ok=1
  for _ in $(seq 1 120); do
    svclog | tail -n +"$((m + 1))" | grep -q 'vm ready in' && break; sleep 0.25
  done
  since "$m" s5.log
  check "the change named" has 'reload: config.toml changed what the VM is \(.*cpus 1 -> 2' "$log/s5.log" || ok=1
  check "the orderly stop: console stop request" has 'asked the guest to stop \(console stop request' "$log/s5.log" || ok=1
  check "GracefulExit" has 'GracefulExit' "$log/s5.log" || ok=1
  check "booted again with 2 CPUs" has 'VM started \(hcs, .*, 2 CPU' "$log/s5.log" || ok=1
  check "ready again" has 'vm ready in' "$log/s5.log" || ok=1
  check "a new boot id" test "$(boot_id)" != "$id" || ok=1
  check "the SCM was not told anything but RUNNING" test -z "$(grep -E 'scm: (START|STOP)_PENDING' "$log/s5.log")" || ok=1
  check "still RUNNING" test "$(sc_state s5.sc)" = RUNNING || ok=1
  check "status.json: ready" test "$(json_state)" = ready || ok=1
  return $ok
}

s6_stop() {
  local ok=0 rc m
  m=$(mark)
  vmhost s6.stop service stop --timeout 120; rc=$?
  since "$m" s6.log
  check "stop exits 0 (got $rc)" test "$rc" -eq 0 || { cat "$log/s6.stop"; ok=1; }
  check "stop says stopped, exit code 0" has "^service $svc stopped \\(exit code 0\\)" "$log/s6.stop" || ok=1
  check "STOP_PENDING with the grace's hint (30000 + 15000), no controls" has 'scm: STOP_PENDING checkpoint [0-9]+ wait hint 45000 ms accepts 0x0 ' "$log/s6.log" || ok=1
  check "the console stop request" has 'asked the guest to stop \(console stop request' "$log/s6.log" || ok=1
  check "GracefulExit" has 'VM stopped: the guest powered off \(GracefulExit\)' "$log/s6.log" || ok=1
  check "STOPPED, exit 0" has 'scm: STOPPED checkpoint 0 wait hint 0 ms accepts 0x0 exit 0/0' "$log/s6.log" || ok=1
  check "sc query: STOPPED" test "$(sc_state s6.sc)" = STOPPED || ok=1
  check "status.json: stopped" test "$(json_state)" = stopped || ok=1
  check "no agent process left" no_agent_left || ok=1
  check "the fake's state: no VM, no endpoint left" fake_clean || ok=1
  vmhost s6.status service status; rc=$?
  check "service status exits 1 when stopped (got $rc)" test "$rc" -eq 1 || ok=1
  return $ok
}

s7_bad_config() {
  local ok=0 rc
  printf '[vm.linux\ncpus = \n' > "$data/config.toml"
  vmhost s7.start service start --timeout 60; rc=$?
  check "start exits 1 (got $rc)" test "$rc" -eq 1 || ok=1
  check "start names the exit codes" has 'did not start: STOPPED exit code 1066, service-specific 2 \(config.toml, the data directory' "$log/s7.start" || ok=1
  w s7.sc sc query "$svc"
  check "sc query: WIN32_EXIT_CODE 1066" has 'WIN32_EXIT_CODE +: 1066' "$log/s7.sc" || ok=1
  check "sc query: SERVICE_EXIT_CODE 2" has 'SERVICE_EXIT_CODE +: 2 ' "$log/s7.sc" || ok=1
  check "the reason in the service log" has 'error: .*config\.toml' <(svclog) || ok=1
  check "no agent process left" no_agent_left || ok=1
  write_config 2 ""
  return $ok
}

s8_vm_fails() {
  local ok=0 m
  w s8.inject reg add "$envkey" /v EVM_FAKE_HCS_INJECT /t REG_SZ /d event=CRASH@1 /f
  m=$(mark)
  wine_boot # the automatic start, with the injection
  sleep 1
  check "automatic start, then STOPPED after the retries" wait_state STOPPED 90 || ok=1
  since "$m" s8.log
  w s8.sc sc query "$svc"
  check "sc query: WIN32_EXIT_CODE 1066" has 'WIN32_EXIT_CODE +: 1066' "$log/s8.sc" || ok=1
  check "sc query: SERVICE_EXIT_CODE 1" has 'SERVICE_EXIT_CODE +: 1 ' "$log/s8.sc" || ok=1
  check "the crash in the log" has 'HCS reports a guest crash' "$log/s8.log" || ok=1
  check "retried: START_PENDING with the retry hint (60 s backoff cap + 30 s)" has 'scm: START_PENDING checkpoint [0-9]+ wait hint 90000 ms' "$log/s8.log" || ok=1
  check "gave up after 3 restarts" has 'giving up after [0-9]+ failed boots in a row' "$log/s8.log" || ok=1
  check "STOPPED 1066/1 reported" has 'scm: STOPPED checkpoint 0 wait hint 0 ms accepts 0x0 exit 1066/1' "$log/s8.log" || ok=1
  check "status.json: failed" test "$(json_state)" = failed || ok=1
  check "the fake's state: no VM, no endpoint left" fake_clean || ok=1
  w s8.uninject reg delete "$envkey" /v EVM_FAKE_HCS_INJECT /f
  wine_boot
  return $ok
}

s9_run_from_terminal() {
  local ok=0 rc
  vmhost s9.run service run --data-dir "$(winpath "$data")"; rc=$?
  check "service run from a terminal exits 1 (got $rc)" test "$rc" -eq 1 || ok=1
  check "it says what it is" has 'not a command for a terminal' "$log/s9.run" || ok=1
  return $ok
}

s10_uninstall() {
  local ok=0 rc
  vmhost s10.start service start --timeout 120; rc=$?
  check "started before the uninstall (got $rc)" test "$rc" -eq 0 || ok=1
  vmhost s10.uninstall service uninstall --timeout 120; rc=$?
  check "uninstall exits 0 (got $rc)" test "$rc" -eq 0 || { cat "$log/s10.uninstall"; ok=1; }
  check "uninstall stopped it first" has "^stopped and removed service $svc" "$log/s10.uninstall" || ok=1
  check "the VM stopped in order" has 'GracefulExit' <(svclog | tail -n 12) || ok=1
  w s10.reg reg query "$key"; rc=$?
  check "the registry key is gone (reg query exit $rc)" test "$rc" -ne 0 || ok=1
  vmhost s10.status service status; rc=$?
  check "status exits 1 (got $rc)" test "$rc" -eq 1 || ok=1
  check "status: not installed" has "service $svc is not installed" "$log/s10.status" || ok=1
  vmhost s10.again service uninstall; rc=$?
  check "uninstall again exits 0 (got $rc)" test "$rc" -eq 0 || ok=1
  check "no agent process left" no_agent_left || ok=1
  check "the fake's state: no VM, no endpoint left" fake_clean || ok=1
  return $ok
}

# ---- setup ------------------------------------------------------------------------------------

t_start=$(date +%s%N)
{ rm -rf "$work" && mkdir -p "$data/vm/linux" "$state" "$log" "$prefix"; } || die "cannot make $work"
ip netns add "$ns" || die "ip netns add $ns failed"
ip netns exec "$ns" ip link set lo up || die "no loopback in $ns"
printf 'not a kernel: the simulated HCS boots none\n' > "$data/vm/linux/kernel"
write_base "$data/vm/linux/base-initrd.img"
printf '#!/bin/sh\n# the daemon stand-in: the simulated guest runs nothing\n' > "$data/vm/linux/ephemerd-linux"
write_config 1 ""

# The prefix (made on first use), then what the service process must see, then a boot.
ip netns exec "$ns" env "WINEPREFIX=$prefix" "$wineserver" -p || die "wineserver did not start"
w init "$exe" --help || die "the agent does not run under wine: $(tail -n 5 "$log/init")"
vmhost leftover service uninstall --timeout 60 || die "removing a leftover service failed: $(cat "$log/leftover")"
w env1 reg add "$envkey" /v EVM_HCS_DLL_DIR /t REG_SZ /d "$(winpath "$fake_dir")" /f &&
  w env2 reg add "$envkey" /v EVM_FAKE_HCS_STATE /t REG_SZ /d "$(winpath "$state")" /f &&
  w env3 reg delete "$envkey" /v EVM_FAKE_HCS_INJECT /f; true
w env4 reg add 'HKCU\Software\Wine\DllOverrides' /v virtdisk /t REG_SZ /d native /f ||
  die "cannot set the DLL override: $(cat "$log/env4")"
wine_boot

say "service-wine: $(basename "$exe") as service $svc under wine's SCM, HCS simulated (namespace $ns)"
scenario "1 install: automatic, LocalSystem, command line, preshutdown" s1_install
scenario "2 automatic start at a wine boot" s2_autostart
scenario "3 service start: START_PENDING checkpoints, RUNNING at ready" s3_start
scenario "4 service reload, nothing changed: the VM keeps running" s4_reload_same
scenario "5 service reload after a change: orderly restart, RUNNING throughout" s5_reload_changed
scenario "6 service stop: STOP_PENDING, orderly stop, STOPPED 0" s6_stop
scenario "7 a broken config.toml: STOPPED 1066 / 2" s7_bad_config
scenario "8 a VM that keeps failing: retried, then STOPPED 1066 / 1" s8_vm_fails
scenario "9 service run from a terminal: refused" s9_run_from_terminal
scenario "10 uninstall: stopped, removed" s10_uninstall

cleanup
trap - EXIT
say "service-wine: $passed passed, $failed failed${names[*]:+ (${names[*]})} in $(( ($(date +%s%N) - t_start) / 1000000 )) ms"
[ "$failed" -eq 0 ]
