#!/usr/bin/env bash
# e2e.sh — the whole boot path on a real kernel under QEMU (KVM when usable, else TCG):
# ephemerd-vmhost builds the boot initrd, boots the VM, ephemerd-init verifies and stages the
# host config, and the stand-in daemon reports what it was given. Scenarios of issue 4:
#   1 first boot on a blank disk      2 second boot, config change reaches the guest
#   3 no host config (stale copy removed)   4 a damaged cache member: rebuilt by the host,
#     or (its record rewritten to match) refused by the guest
#   5 no root disk                    6 the daemon exits with code 3
#   7 a FIFO config and an oversized config
#   8 supervision: restart with backoff after a failed boot, give up after --max-restarts
#   9 service mode: ready, `status`, the data-dir lock, orderly stop on SIGTERM
#  10 a stop request for another boot id is ignored and logged; the right one stops the VM
#  11 a 2 GiB disk without swap_mb: the guest caps the default 4 GiB swapfile and boots
#     (issue 9 finding 11); the second boot keeps the swapfile as it is
#  12 the workload probe (issue 11) on Debian's default kernel, 13 the same on
#     linux-image-cloud-amd64: a blank disk, the workload rootfs (real iproute2, nftables,
#     iptables-nft, kmod, runc; scripts/test/workload-rootfs.sh) and the stand-in in probe
#     mode, whose checks (getrandom, modprobe, bridge, veth into a netns, ping, nft
#     masquerade, kernel module autoloading, iptables-nft DNAT, overlay, cgroup limits, a runc
#     container) must all pass; a failure names the first failed check. Own data dir
#     ($work/data-workload).
#  14 reload (issue 12): SIGHUP with config.toml unchanged keeps the VM (same boot id, no
#     stop); a broken file is logged and the VM kept; a change stops the VM in order (its
#     console stop request) and boots it again with a new boot id, ready, not counted as a
#     failure. A fresh data dir.
#  15 systemd's notify protocol on a socket the test owns (a python3 receiver as
#     NOTIFY_SOCKET): STATUS= lines for the boot's stages, READY=1, RELOADING=1 with
#     MONOTONIC_USEC= and READY=1 again after a reload, STOPPING=1 on SIGTERM; QEMU does not
#     inherit NOTIFY_SOCKET; a failed --once boot ends with STATUS=failed and ERRNO=.
#  16 a guest that does not power off after its daemon's exit (the stand-in prints the exit
#     marker and keeps running): the agent ends the VM after the stop grace and restarts it.
#     A fresh data dir.
# Every VM the agent stops is stopped by the console stop request (design §4), never by the
# backend's fallback (ctrl-alt-delete, quit): stopped_on_console checks it.
# Usage: test/e2e/e2e.sh VMHOST   (run by `make e2e`; needs scripts/test/e2e-assets.sh's outputs)
# E2E_ONLY="1 11" runs only the scenarios with those numbers (default: all). Scenario 2 reuses
# the disk scenario 1 leaves, and 3-10 the data dir: run them after 1. 12, 13, 14 and 16 stand
# alone; 15 reuses the data dir 14 leaves (or makes one).
# Every scenario is bounded; no QEMU is left behind (checked at the end).
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
vmhost=${1:?usage: e2e.sh VMHOST}
build=${BUILD:-$top/build}
case $build in /*) ;; *) build=$PWD/$build ;; esac   # absolute: a NOTIFY_SOCKET path must be
work=$build/e2e
assets=$work/assets
# shellcheck disable=SC1091
source "$assets/assets.env" || { echo "e2e: run scripts/test/e2e-assets.sh first" >&2; exit 1; }

passed=0; failed=0; names=()
data=$work/data
log=$work/logs
mkdir -p "$log"
timeout_s=${E2E_TIMEOUT:-240}
# The agent's own limit for a boot, below timeout_s: a boot that hangs ends with the agent's
# report of the last guest stage reached, not with the agent killed by timeout(1).
ready_s=${E2E_READY_TIMEOUT:-100}

say() { printf '%s\n' "$*"; }
check() { # check DESCRIPTION COMMAND...: one assertion inside a scenario
  if "${@:2}"; then return 0; fi
  say "    FAILED: $1"; return 1
}
has() { grep -qF -- "$1" "$2"; }
hasnt() { ! grep -qF -- "$1" "$2"; }
hasnt_re() { ! grep -qE -- "$1" "$2"; }
between() { [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }

fresh_data() {
  rm -rf "$data" && mkdir -p "$data/vm/linux"
  ln -s "$VMLINUX" "$data/vm/linux/kernel"
  ln -s "$BASE_INITRD" "$data/vm/linux/base-initrd.img"
  cp "$STANDIN" "$data/vm/linux/ephemerd-linux"
}

write_config() { # write_config ALLOW_PRIVILEGED [extra lines]
  cat > "$data/config.toml" <<TOML
# e2e host config
[vm.linux]
cpus = 2
memory_mb = 1024
disk_size_gb = 8

[dind]
enabled = true
allow_privileged = $1

[registry]
token = "e2e-secret-token"
$2
TOML
}

# run_vm NAME [run args...]: boots with --once; output in $log/NAME.out; console kept.
run_vm() {
  local name=$1; shift
  : > "$data/vm/linux/console.log" 2>/dev/null || true
  timeout -k 10 "$timeout_s" "$vmhost" run --data-dir "$data" --once --ready-timeout "$ready_s" "$@" \
    > "$log/$name.out" 2>&1
  local rc=$?
  cp "$data/vm/linux/console.log" "$log/$name.console" 2>/dev/null || : > "$log/$name.console"
  return $rc
}

selected() { # selected NAME: the scenario's number is in E2E_ONLY, or E2E_ONLY is unset
  [ -z "${E2E_ONLY:-}" ] && return 0
  local n
  for n in ${E2E_ONLY//,/ }; do [ "${1%% *}" = "$n" ] && return 0; done
  return 1
}

scenario() { # scenario NAME FUNCTION
  local name=$1 fn=$2 t0 t1
  selected "$name" || return 0
  touch "$log/.scenario-start"
  t0=$(date +%s%N)
  if "$fn"; then
    t1=$(date +%s%N); passed=$((passed + 1))
    say "  ok    $name ($(( (t1 - t0) / 1000000 )) ms)"
  else
    failed=$((failed + 1)); names+=("$name")
    failure_report "$fn" "$name"
  fi
}

# failure_report FUNCTION NAME: what a failed scenario left, by its prefix (s8_restart_backoff
# writes $log/s8.out, s8-*.out): the end of each agent output, and of each guest console
# (the data dir's when the scenario kept none but booted: a VM that never ended has only that).
failure_report() {
  local short=${1%%_*} name=$2 f n=0
  say "  FAIL  $name — logs: $log/$short.* $log/$short-*"
  for f in "$log/$short".out "$log/$short"-*.out; do
    [ -f "$f" ] || continue
    say "      ${f##*/}:"; tail -n 20 "$f" | sed 's/^/        agent: /'
  done
  for f in "$log/$short".console "$log/$short"-*.console; do
    [ -f "$f" ] || continue
    n=$((n + 1)); say "      ${f##*/}:"; tail -n 30 "$f" | sed 's/^/        guest: /'
  done
  if [ "$n" -eq 0 ] && [ "$data/vm/linux/console.log" -nt "$log/.scenario-start" ]; then
    cp "$data/vm/linux/console.log" "$log/$short.console"
    say "      $short.console (the data dir's):"; tail -n 30 "$log/$short.console" | sed 's/^/        guest: /'
  fi
}

sha() { sha256sum "$1" | cut -d' ' -f1; }

# stopped_on_console OUT CONSOLE: the agent wrote the stop request on the console, the
# guest's init acted on it for this boot, and no fallback was needed.
stopped_on_console() {
  local o=$1 c=$2 ok=0 id
  id=$(grep -o 'console stop request, boot id [0-9a-f]*' "$o" | tail -n 1 | awk '{print $NF}')
  check "agent sent the console stop request" test -n "$id" || ok=1
  check "init acted on it for this boot" has "stop requested on the console (boot id $id)" "$c" || ok=1
  check "no ctrl-alt-delete fallback" hasnt "ctrl-alt-delete" "$o" || ok=1
  check "no quit or kill" hasnt_re 'quitting qemu|killing it' "$o" || ok=1
  check "VM powered off in order" has "VM stopped: qemu exited with status 0 (guest powered off)" "$o" || ok=1
  check "a clean daemon exit during the stop is no warning" hasnt "warning: guest daemon exited with status 0" "$o" || ok=1
  return $ok
}

s1_first_boot() {
  fresh_data; write_config false ""
  run_vm s1 || { say "    run exited $?"; return 1; }
  local c=$log/s1.console o=$log/s1.out ok=0
  check "mkfs on the blank disk" has "holds no filesystem: creating ext4" "$c" || ok=1
  check "config staged log line" has "ephemerd-init: host config staged at /etc/ephemerd/config.toml" "$c" || ok=1
  check "launch banner" has "ephemerd-init: launching ephemerd-linux (dind=1 allow_privileged=0 host_config=yes)" "$c" || ok=1
  check "--config in argv" grep -qE 'STANDIN argv=.* serve --config /etc/ephemerd/config.toml ' "$c" || ok=1
  check "config mode 0600" has "STANDIN config mode=0600" "$c" || ok=1
  check "config owner root:root" grep -q 'STANDIN config uid=0' "$c" || ok=1
  check "config group root" grep -q 'STANDIN config gid=0' "$c" || ok=1
  check "config digest equals the host file's" has "STANDIN config sha256=$(sha "$data/config.toml")" "$c" || ok=1
  check "agent says ready" has "vm ready in" "$o" || ok=1
  check "orderly stop reached the daemon" has "STANDIN exiting on SIGTERM" "$c" || ok=1
  check "init reported the exit" grep -q 'EPHEMERD_EXIT status=0' "$c" || ok=1
  check "no secret in the agent log" hasnt "e2e-secret-token" "$o" || ok=1
  # Kernel info messages reach the console until init starts, then only warnings and worse
  # (one printed mid-line would split a marker): ext4's mount message stays in dmesg.
  check "kernel info before init kept" has "Run /init as init process" "$c" || ok=1
  check "kernel info after init kept off the console" hasnt "EXT4-fs (vda): mounted filesystem" "$c" || ok=1
  # run_vm truncates console.log with the shell's umask (0644): the agent makes it 0600
  check "console.log made 0600" test "$(stat -c %a "$data/vm/linux/console.log")" = 600 || ok=1
  stopped_on_console "$o" "$c" || ok=1
  return $ok
}

s2_second_boot() {
  write_config true ""
  run_vm s2 || { say "    run exited $?"; return 1; }
  local c=$log/s2.console ok=0
  check "no mkfs on the second boot" hasnt "holds no filesystem" "$c" || ok=1
  check "existing filesystem used" has "holds an existing ext4 filesystem" "$c" || ok=1
  check "allow_privileged reached the guest" has "(dind=1 allow_privileged=1 host_config=yes)" "$c" || ok=1
  check "daemon got --dind-allow-privileged" grep -qE 'STANDIN argv=.*--dind --dind-allow-privileged' "$c" || ok=1
  check "fallback flag on the kernel command line" grep -q 'ephemerd.dind_allow_privileged=1' "$c" || ok=1
  check "new config digest" has "STANDIN config sha256=$(sha "$data/config.toml")" "$c" || ok=1
  stopped_on_console "$log/s2.out" "$c" || ok=1
  return $ok
}

s3_no_config() {
  rm -f "$data/config.toml"
  run_vm s3 || { say "    run exited $?"; return 1; }
  local c=$log/s3.console ok=0
  check "no --config" grep -qE 'STANDIN argv=.* serve --data-dir ' "$c" || ok=1
  check "banner host_config=" has "host_config=)" "$c" || ok=1
  check "stale copy removed" has "removed a stale /etc/ephemerd/config.toml" "$c" || ok=1
  check "fallback flags off without config" hasnt "ephemerd.dind=1" "$c" || ok=1
  stopped_on_console "$log/s3.out" "$c" || ok=1
  return $ok
}

# damage_member MEMBER [with-record]: flips a bit of the daemon's bytes in a cached
# (uncompressed) member; with-record also rewrites the member's record (length, SHA-256) to
# match, as a tool rewriting both would.
damage_member() {
  python3 - "$@" <<'PY'
import hashlib, sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
i = b.find(b'ephemerd-standin')
assert i > 0, 'marker not found'
b[i] ^= 0x20
open(p, 'wb').write(b)
if len(sys.argv) > 2:
    open(p + '.sum', 'w').write('ephemerd-member-sum 1\nlength %d\nsha256 %s\n'
                                % (len(b), hashlib.sha256(b).hexdigest()))
PY
}

s4_corrupt_tail() {
  write_config false ""
  run_vm s4-warm --compress none || { say "    warm-up run exited $?"; return 1; }
  local member ok=0
  member=$(ls "$data"/vm/linux/cache/ephemerd-linux-*-none-*.member | head -n 1)
  # A damaged cached member: the agent's check of the cache (length and SHA-256 recorded
  # beside it) finds it, discards it and builds the member again; the VM boots. (The
  # output's record is removed so that the build is a full one, not an in-place update.)
  damage_member "$member" || return 1
  rm -f "$data/vm/linux/boot-initrd.img.record"
  run_vm s4-cache --compress none || { say "    run on a damaged cache member exited $?"; return 1; }
  check "agent names the damaged cache member" \
    has "binary-member cache: $member: its SHA-256 does not match its record; discarding it" \
    "$log/s4-cache.out" || ok=1
  # Damaged with its record rewritten to match: the host's check passes, the manifest still
  # carries the real binary's digest, and the guest refuses the tail.
  damage_member "$member" with-record || return 1
  rm -f "$data/vm/linux/boot-initrd.img.record"
  local t0 t1; t0=$(date +%s)
  if run_vm s4 --compress none; then say "    run succeeded on a corrupt tail"; return 1; fi
  t1=$(date +%s)
  local c=$log/s4.console o=$log/s4.out
  check "EPHEMERD_FATAL names the file" grep -qE 'EPHEMERD_FATAL stage=verify reason="assets/ephemerd-linux: sha256 mismatch' "$c" || ok=1
  check "agent exits with the guest's reason" grep -q 'assets/ephemerd-linux: sha256 mismatch' "$o" || ok=1
  check "within seconds, not a timeout ($((t1 - t0)) s)" test $((t1 - t0)) -lt 60 || ok=1
  check "daemon never launched" hasnt "STANDIN argv" "$c" || ok=1
  rm -f "$member" "$member.sum"
  return $ok
}

s5_no_disk() {
  if run_vm s5 --no-disk --disk-timeout 3; then say "    run succeeded without a disk"; return 1; fi
  local c=$log/s5.console o=$log/s5.out ok=0
  check "fatal at disk naming the device" grep -qE 'EPHEMERD_FATAL stage=disk reason=".*/dev/vda' "$c" || ok=1
  check "agent reports it" grep -q '/dev/vda' "$o" || ok=1
  return $ok
}

s6_daemon_exit() {
  write_config false "[standin]
exit_after_ms = 0
exit_code = 3"
  if run_vm s6; then say "    run succeeded although the daemon exited"; return 1; fi
  local c=$log/s6.console o=$log/s6.out ok=0
  check "init reports status 3" grep -q 'EPHEMERD_EXIT status=3' "$c" || ok=1
  check "agent reports the daemon's exit" has "the guest daemon exited with status 3" "$o" || ok=1
  check "the guest powered off by itself" has "(guest powered off)" "$o" || ok=1
  check "its network interfaces down first" grep -qE 'ephemerd-init: [1-9][0-9]* network interface\(s\) brought down' "$c" || ok=1
  check "no power-off deadline needed" hasnt "has not powered off" "$o" || ok=1
  return $ok
}

s7_bad_configs() {
  local ok=0
  rm -f "$data/config.toml"; mkfifo "$data/config.toml"
  if run_vm s7-fifo; then
    check "FIFO: booted without it" has "host_config=)" "$log/s7-fifo.console" || ok=1
    check "FIFO: agent warned" grep -q 'warning: .*config.toml.*FIFO' "$log/s7-fifo.out" || ok=1
  else
    say "    FIFO config: run failed"; ok=1
  fi
  rm -f "$data/config.toml"
  head -c $((1024 * 1024 + 1)) /dev/zero | tr '\0' '#' > "$data/config.toml"
  if run_vm s7-big; then say "    oversized config: run succeeded"; ok=1; fi
  check "oversized: clear error" grep -q 'config.toml.*1048576' "$log/s7-big.out" || ok=1
  check "oversized: VM never started" hasnt "VM started" "$log/s7-big.out" || ok=1
  rm -f "$data/config.toml"
  return $ok
}

s8_restart_backoff() {
  write_config false "[standin]
exit_after_ms = 0
exit_code = 3"
  : > "$data/vm/linux/console.log"
  local rc=0
  timeout -k 10 "$timeout_s" "$vmhost" run --data-dir "$data" --max-restarts 1 \
    --ready-timeout "$((ready_s / 2))" > "$log/s8.out" 2>&1 || rc=$?
  local o=$log/s8.out ok=0
  check "gave up with a failure exit (got $rc)" test "$rc" -eq 1 || ok=1
  check "restart logged at WARN with backoff" grep -q 'warning: restarting the VM in 1000 ms (restart 1)' "$o" || ok=1
  check "the reason logged at WARN" grep -q 'warning: VM failed to become ready: the guest daemon exited with status 3' "$o" || ok=1
  check "gave up after two boots" has "giving up after 2 failed boots in a row" "$o" || ok=1
  check "status says failed, 1 restart" grep -q '"restarts":	1' "$data/status.json" || ok=1
  "$vmhost" status --data-dir "$data" > "$log/s8.status" 2>&1
  check "status exits 1 when not ready" test $? -eq 1 || ok=1
  check "status names the reason" has "last error: the guest daemon exited with status 3" "$log/s8.status" || ok=1
  return $ok
}

s9_service_stop() {
  write_config false ""
  : > "$data/vm/linux/console.log"
  "$vmhost" run --data-dir "$data" > "$log/s9.out" 2>&1 &
  local pid=$! ok=0
  for _ in $(seq 1 600); do grep -q 'vm ready in' "$log/s9.out" && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  check "ready in service mode" has "vm ready in" "$log/s9.out" || { kill -9 "$pid"; wait "$pid"; return 1; }
  "$vmhost" status --data-dir "$data" > "$log/s9.status" 2>&1
  check "status exits 0 while ready" test $? -eq 0 || ok=1
  check "status shows the forwarded port" grep -q 'containerd: 127.0.0.1:' "$log/s9.status" || ok=1
  if "$vmhost" run --data-dir "$data" --once > "$log/s9-second.out" 2>&1; then ok=1; fi
  check "a second agent on the data dir is refused" has "another ephemerd-vmhost is running on $data" "$log/s9-second.out" || ok=1
  kill -TERM "$pid"
  local rc=0
  for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid"; say "    agent did not stop within 60 s"; ok=1; fi
  wait "$pid" || rc=$?
  cp "$data/vm/linux/console.log" "$log/s9.console"
  check "SIGTERM: exit 0 (got $rc)" test "$rc" -eq 0 || ok=1
  check "the daemon was stopped in order" has "STANDIN exiting on SIGTERM" "$log/s9.console" || ok=1
  check "status says stopped" grep -q '"state":	"stopped"' "$data/status.json" || ok=1
  stopped_on_console "$log/s9.out" "$log/s9.console" || ok=1
  return $ok
}

s10_foreign_stop_ignored() {
  write_config false ""
  EPHEMERD_VMHOST_TEST_DECOY_STOP=1 run_vm s10 || { say "    run exited $?"; return 1; }
  local c=$log/s10.console o=$log/s10.out ok=0 other
  other=$(grep -o 'stop request for another boot id ([0-9a-f]*)' "$o" | grep -o '[0-9a-f]\{32\}')
  check "agent sent a request for another boot first" test -n "$other" || ok=1
  check "init ignored it and said so" grep -q "ignoring a console stop request for another boot.*$other" "$c" || ok=1
  check "the daemon kept running until the right request" \
    test "$(grep -n 'ignoring a console stop request' "$c" | head -n1 | cut -d: -f1)" -lt \
         "$(grep -n 'STANDIN exiting on SIGTERM' "$c" | head -n1 | cut -d: -f1)" || ok=1
  check "the daemon was stopped in order" has "STANDIN exiting on SIGTERM" "$c" || ok=1
  stopped_on_console "$o" "$c" || ok=1
  return $ok
}

s11_small_disk() {
  fresh_data
  cat > "$data/config.toml" <<TOML
# e2e host config: a 2 GiB disk, no swap_mb (the default 4096 MiB does not fit)
[vm.linux]
cpus = 2
memory_mb = 1024
disk_size_gb = 2
TOML
  run_vm s11 || { say "    run exited $?"; return 1; }
  local c=$log/s11.console o=$log/s11.out ok=0 mb
  check "agent says ready" has "vm ready in" "$o" || ok=1
  check "no fatal error" hasnt "EPHEMERD_FATAL" "$c" || ok=1
  check "root disk is 2 GiB" test "$(stat -c %s "$data/vm/linux/root.img")" -eq $((2 << 30)) || ok=1
  check "agent noted the cap at config time" grep -q 'default swap of 4096 MiB.*2 GiB root disk.*at most 512 MiB' "$o" || ok=1
  check "guest warned: capped swap" grep -qE 'ephemerd-init: warning: swap: 4096 MiB requested, [0-9]+ MiB granted' "$c" || ok=1
  mb=$(grep -oE 'swap: enabled /swapfile \([0-9]+ MiB\)' "$c" | grep -oE '[0-9]+' | head -n 1)
  check "swap enabled at the capped size (${mb:-none} MiB)" between "${mb:-0}" 64 512 || ok=1
  stopped_on_console "$o" "$c" || ok=1
  run_vm s11-second || { say "    second run exited $?"; return 1; }
  c=$log/s11-second.console
  check "second boot: ready" has "vm ready in" "$log/s11-second.out" || ok=1
  check "second boot: swapfile kept, no new sizing" hasnt "MiB requested" "$c" || ok=1
  check "second boot: same swapfile enabled" has "swap: enabled /swapfile (${mb:-?} MiB)" "$c" || ok=1
  return $ok
}

# ---- the service interface (issue 12): reload on SIGHUP, systemd's notify protocol ------

# wait_lines TEXT FILE COUNT PID: FILE holds COUNT lines with TEXT, before the agent PID exits
# (E2E_TIMEOUT at most).
wait_lines() {
  for _ in $(seq 1 $((timeout_s * 5))); do
    [ "$(grep -cF -- "$1" "$2" 2>/dev/null)" -ge "$3" ] && return 0
    kill -0 "$4" 2>/dev/null || return 1
    sleep 0.2
  done
  return 1
}

# stop_agent PID: SIGTERM, at most 60 s to exit; its exit code in $stop_rc (137 when killed).
stop_agent() {
  stop_rc=0
  kill -TERM "$1"
  for _ in $(seq 1 300); do kill -0 "$1" 2>/dev/null || break; sleep 0.2; done
  if kill -0 "$1" 2>/dev/null; then kill -9 "$1"; fi
  wait "$1" || stop_rc=$?
}

status_boot_id() { sed -n 's/.*"boot_id":[[:space:]]*"\([0-9a-f]*\)".*/\1/p' "$data/status.json"; }

s14_reload() {
  fresh_data; write_config false ""
  : > "$data/vm/linux/console.log"
  "$vmhost" run --data-dir "$data" > "$log/s14.out" 2>&1 &
  local pid=$! ok=0 o=$log/s14.out c=$log/s14.console id1 id2
  wait_lines "vm ready in" "$o" 1 "$pid" || { say "    not ready"; stop_agent "$pid"; return 1; }
  id1=$(status_boot_id)
  # 1. SIGHUP, the same file: the VM keeps running.
  kill -HUP "$pid"
  check "no change: said so" wait_lines "reload: nothing that affects the VM changed" "$o" 1 "$pid" || ok=1
  check "no change: the same boot" test "$(status_boot_id)" = "$id1" || ok=1
  check "no change: no stop request" hasnt "console stop request" "$o" || ok=1
  "$vmhost" status --data-dir "$data" > "$log/s14.status" 2>&1
  check "no change: status still ready (exit 0)" test $? -eq 0 || ok=1
  # 2. A broken file: logged, the running VM kept.
  cp "$data/config.toml" "$log/s14.good.toml"
  printf '[vm.linux]\ncpus = "two"\n' > "$data/config.toml"
  kill -HUP "$pid"
  check "broken file: the error logged" wait_lines "keeping the running VM and its config" "$o" 1 "$pid" || ok=1
  check "broken file: names the key" grep -q 'error: reload: .*config.toml:2: .*cpus' "$o" || ok=1
  check "broken file: the same boot" test "$(status_boot_id)" = "$id1" || ok=1
  # 3. A change (allow_privileged: the embedded file and the command line): orderly restart.
  write_config true ""
  kill -HUP "$pid"
  check "change: ready again" wait_lines "vm ready in" "$o" 2 "$pid" || ok=1
  id2=$(status_boot_id)
  cp "$data/vm/linux/console.log" "$c"
  check "change: what changed, logged" has "reload: config.toml changed what the VM is (embedded config.toml, kernel command line): restarting the VM in order" "$o" || ok=1
  check "change: a new boot id" test -n "$id2" -a "$id2" != "$id1" || ok=1
  check "change: the old boot stopped by its console stop request" has "stop requested on the console (boot id $id1)" "$c" || ok=1
  check "change: stopped in order, booted again" has "VM stopped for the reload (qemu exited with status 0 (guest powered off)); booting it again" "$o" || ok=1
  check "change: no fallback stop" hasnt_re 'ctrl-alt-delete|quitting qemu|killing it' "$o" || ok=1
  check "change: not counted as a failure" hasnt_re 'restarting the VM in [0-9]|failed to become ready' "$o" || ok=1
  check "change: status ready, 0 restarts" grep -q '"restarts":	0' "$data/status.json" || ok=1
  check "change: the new file reached the guest" has "STANDIN config sha256=$(sha "$data/config.toml")" "$c" || ok=1
  check "change: the new command line" has "(dind=1 allow_privileged=1 host_config=yes)" "$c" || ok=1
  check "no secret in the agent log" hasnt "e2e-secret-token" "$o" || ok=1
  stop_agent "$pid"
  cp "$data/vm/linux/console.log" "$c"
  check "SIGTERM: exit 0 (got $stop_rc)" test "$stop_rc" -eq 0 || ok=1
  stopped_on_console "$o" "$c" || ok=1
  return $ok
}

# A receiver of notify datagrams on a socket the test owns: one line per datagram, its
# newlines shown as " | ".
notify_receiver() { # notify_receiver SOCKET OUT
  rm -f "$1"
  python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
out = open(sys.argv[2], "w", buffering=1)
while True:
    out.write(s.recv(4096).decode().replace("\n", " | ") + "\n")
' "$1" "$2" &
  for _ in $(seq 1 50); do [ -S "$1" ] && return 0; sleep 0.1; done
  return 1
}

s15_notify() {
  local sock=$work/notify.sock n=$log/s15.notify o=$log/s15.out ok=0 rpid pid q
  : > "$n"
  notify_receiver "$sock" "$n" || { say "    no notify receiver"; return 1; }
  rpid=$!
  [ -d "$data/vm/linux" ] || fresh_data
  write_config false ""
  NOTIFY_SOCKET=$sock "$vmhost" run --data-dir "$data" > "$o" 2>&1 &
  pid=$!
  if ! wait_lines "READY=1" "$n" 1 "$pid"; then
    say "    no READY=1"; stop_agent "$pid"; kill "$rpid"; wait "$rpid" 2>/dev/null; return 1
  fi
  check "STATUS: boot started" grep -q '^STATUS=booting: starting boot [0-9a-f]\{32\}$' "$n" || ok=1
  check "STATUS: guest stages" grep -q '^STATUS=booting: guest stage ' "$n" || ok=1
  check "STATUS: guest address" grep -q '^STATUS=booting: guest address ' "$n" || ok=1
  check "READY=1 with where the ports are" grep -q '^READY=1 | STATUS=ready: containerd 127.0.0.1:[0-9]*, dispatch' "$n" || ok=1
  q=$(pgrep -f "qemu-system-x86_64.*$data" | head -n 1)
  check "QEMU did not inherit NOTIFY_SOCKET" test -n "$q" -a "$(tr '\0' '\n' < "/proc/$q/environ" | grep -c '^NOTIFY_SOCKET=')" -eq 0 || ok=1
  write_config true ""
  kill -HUP "$pid"
  check "READY=1 again after the reload" wait_lines "READY=1" "$n" 2 "$pid" || ok=1
  check "RELOADING=1 with MONOTONIC_USEC" grep -q '^RELOADING=1 | MONOTONIC_USEC=[0-9]* | STATUS=reloading: config.toml changed' "$n" || ok=1
  stop_agent "$pid"
  check "SIGTERM: exit 0 (got $stop_rc)" test "$stop_rc" -eq 0 || ok=1
  check "STOPPING=1 with the reason" grep -q '^STOPPING=1 | STATUS=stopping: signal 15$' "$n" || ok=1
  check "STOPPING=1 is the last word" test "$(tail -n 1 "$n" | cut -c1-10)" = "STOPPING=1" || ok=1
  # A failed boot: STATUS=failed, then ERRNO= as the agent gives up.
  write_config false "[standin]
exit_after_ms = 0
exit_code = 3"
  NOTIFY_SOCKET=$sock run_vm s15-fail && { say "    run succeeded although the daemon exited"; ok=1; }
  check "STATUS=failed with the reason" grep -q '^STATUS=failed: the guest daemon exited with status 3' "$n" || ok=1
  check "ERRNO= at the end" grep -q '^ERRNO=[1-9][0-9]* | STATUS=failed: the guest daemon exited with status 3' "$n" || ok=1
  kill "$rpid"; wait "$rpid" 2>/dev/null
  rm -f "$sock"
  return $ok
}

s16_poweroff_deadline() {
  fresh_data; write_config false "[standin]
exit_marker_only = 3"
  : > "$data/vm/linux/console.log"
  "$vmhost" run --data-dir "$data" --stop-grace 4000 > "$log/s16.out" 2>&1 &
  local pid=$! ok=0 o=$log/s16.out c=$log/s16.console
  check "restarted after the deadline" wait_lines "restarting the VM in 1000 ms (restart 1)" "$o" 1 "$pid" || ok=1
  cp "$data/vm/linux/console.log" "$c"
  check "the daemon kept running" has "STANDIN standin exit_marker_only=3" "$c" || ok=1
  check "the agent took the marker" has "warning: guest daemon exited with status 3" "$o" || ok=1
  check "never ready once the daemon had exited" hasnt "vm ready in" "$o" || ok=1
  check "the deadline named" has "warning: the guest has not powered off 4000 ms after its daemon exited; ending the VM" "$o" || ok=1
  check "the VM ended from outside" has "warning: VM failed to become ready: the guest daemon exited with status 3; qemu killed by signal 9" "$o" || ok=1
  stop_agent "$pid"
  check "SIGTERM: exit 0 (got $stop_rc)" test "$stop_rc" -eq 0 || ok=1
  return $ok
}

# workload_probe NAME KERNEL BASE_INITRD: boots the workload variant on a blank disk with
# the stand-in in probe mode; every probe check passes, else fails naming the first failed
# one (the guest's PROBE lines are printed). The agent runs in service mode and is stopped
# (SIGTERM) once the probe's summary is on the console and the daemon listens: the probe
# runs before the stand-in listens, and the agent's readiness test of QEMU's forwards (a
# connection held open 300 ms) can pass early while a busy guest is still probing, so
# --once could stop the VM in the middle of it.
workload_probe() {
  local name=$1 kernel=$2 base=$3
  if [ -z "$kernel" ] || [ -z "$base" ]; then
    say "    no workload assets in assets.env (scripts/test/e2e-assets.sh ran with E2E_WORKLOAD=0?)"
    return 1
  fi
  # write_config and stopped_on_console use $data: this scenario's own data dir.
  local data=$work/data-workload
  rm -rf "$data" && mkdir -p "$data/vm/linux"
  ln -s "$kernel" "$data/vm/linux/kernel"
  ln -s "$base" "$data/vm/linux/base-initrd.img"
  cp "$STANDIN" "$data/vm/linux/ephemerd-linux"
  write_config false "[standin]
probe = true"
  local c=$log/$name.console o=$log/$name.out con=$data/vm/linux/console.log ok=0 rc=0 pid
  : > "$con"
  "$vmhost" run --data-dir "$data" > "$o" 2>&1 &
  pid=$!
  for _ in $(seq 1 $((timeout_s * 5))); do
    grep -q 'STANDIN ready' "$con" && grep -q 'vm ready in' "$o" && break
    grep -q 'EPHEMERD_FATAL' "$con" && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid"; say "    agent did not stop within 60 s"; ok=1; fi
  wait "$pid" || rc=$?
  cp "$con" "$c"
  local first summary
  # (not anchored: a kernel message may share a console line)
  summary=$(grep -o -m 1 'PROBE summary:.*' "$c")
  first=$(grep -o -m 1 'PROBE FAIL .*' "$c" | sed 's/^PROBE FAIL //')
  check "the probe ran to its summary" test -n "$summary" || ok=1
  check "first failed probe check: ${first:-none}" test -z "$first" || ok=1
  check "probe summary has no failure ($summary)" grep -q 'PROBE summary: .* 0 failed' "$c" || ok=1
  check "the daemon listened after the probe" has "STANDIN ready" "$c" || ok=1
  check "SIGTERM: agent exit 0 (got $rc)" test "$rc" -eq 0 || ok=1
  check "the daemon was stopped in order" has "STANDIN exiting on SIGTERM" "$c" || ok=1
  stopped_on_console "$o" "$c" || ok=1
  if [ "$ok" -ne 0 ]; then grep -h 'PROBE ' "$c" | sed 's/^/        guest: /'; fi
  say "    ${summary:-no PROBE summary}; daemon started at guest $(grep -o -m 1 'STANDIN boottime_ms=[0-9]*' "$c" | sed 's/.*=//') ms"
  return $ok
}

s12_workload_default() { workload_probe s12 "${VMLINUX:-}" "${BASE_INITRD_WORKLOAD:-}"; }
s13_workload_cloud() { workload_probe s13 "${CLOUD_VMLINUX:-}" "${BASE_INITRD_WORKLOAD_CLOUD:-}"; }

say "e2e: kernel $KERNEL_VERSION"
scenario "1 first boot on a blank disk" s1_first_boot
selected 1 && grep -ho 'VM started ([^)]*)' "$log/s1.out" 2>/dev/null | head -n 1 | sed 's/^/e2e: /'
scenario "2 second boot, config change" s2_second_boot
scenario "3 no host config" s3_no_config
scenario "4 corrupt tail" s4_corrupt_tail
scenario "5 no root disk" s5_no_disk
scenario "6 daemon exits with 3" s6_daemon_exit
scenario "7 FIFO and oversized config" s7_bad_configs
scenario "8 restart with backoff, then give up" s8_restart_backoff
scenario "9 service mode: ready, status, lock, SIGTERM" s9_service_stop
scenario "10 a stop request for another boot is ignored" s10_foreign_stop_ignored
scenario "11 a 2 GiB disk: swap capped, boots" s11_small_disk
scenario "12 workload probe, default kernel ($KERNEL_VERSION)" s12_workload_default
scenario "13 workload probe, cloud kernel (${CLOUD_KERNEL_VERSION:-none})" s13_workload_cloud
scenario "14 reload: SIGHUP with no change, a broken file, a change" s14_reload
scenario "15 systemd notify: STATUS, READY, RELOADING, STOPPING, ERRNO" s15_notify
scenario "16 a guest stuck on its way to power off is ended" s16_poweroff_deadline

if pgrep -f "qemu-system-x86_64.*$data" >/dev/null; then
  say "  FAIL  stray QEMU left behind"; pkill -9 -f "qemu-system-x86_64.*$data"; failed=$((failed + 1))
fi
say "e2e: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
