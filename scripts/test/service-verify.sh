#!/usr/bin/env bash
# service-verify.sh — checks host/service/ephemerd-vm.service (`make service-verify`):
# `systemd-analyze verify` accepts it with no warning (its ExecStart= binary swapped for the
# one just built, as verify wants the binary to exist), and the settings the service depends
# on are there: Type=notify with NotifyAccess=main, Restart=on-failure, a stop timeout above
# the agent's stop grace (read from `run --help`), KillMode=mixed, ExecReload by SIGHUP,
# /dev/kvm allowed, the data directory as StateDirectory= under ProtectSystem=strict.
# Usage: scripts/test/service-verify.sh VMHOST
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
vmhost=$(cd "$(dirname "${1:?usage: service-verify.sh VMHOST}")" && pwd)/$(basename "$1")
unit=$top/host/service/ephemerd-vm.service
fail=0
bad() { echo "service-verify: $*" >&2; fail=1; }
has() { grep -qxF -- "$1" "$unit" || bad "missing: $1"; }

command -v systemd-analyze >/dev/null || { echo "service-verify: systemd-analyze not found (scripts/setup.sh installs systemd)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
exec_start=$(sed -n 's/^ExecStart=\([^ ]*\) .*/\1/p' "$unit")
[ "$exec_start" = /usr/local/lib/ephemerd-vm/bin/ephemerd-vmhost ] ||
  bad "ExecStart= binary is $exec_start, not docs/install.md's /usr/local/lib/ephemerd-vm/bin/ephemerd-vmhost"
sed "s|^ExecStart=$exec_start |ExecStart=$vmhost |" "$unit" > "$tmp/ephemerd-vm.service"
# --man=no: the man page is the release's (docs/man/), not installed on this host.
if ! out=$(systemd-analyze verify --man=no "$tmp/ephemerd-vm.service" 2>&1); then
  bad "systemd-analyze verify failed:"; printf '%s\n' "$out" >&2
fi
# Lines about the unit itself (not about other units on this host) are warnings to fix.
mine=$(printf '%s\n' "$out" | grep -F "ephemerd-vm.service" || true)
[ -z "$mine" ] || { bad "systemd-analyze verify warns:"; printf '%s\n' "$mine" >&2; }

has "Type=notify"
has "NotifyAccess=main"
has "Restart=on-failure"
has "KillMode=mixed"
# shellcheck disable=SC2016 # $MAINPID is the unit's, literally
has 'ExecReload=/bin/kill -HUP $MAINPID'
has "DeviceAllow=/dev/kvm rw"
has "StateDirectory=ephemerd-vm"
has "ProtectSystem=strict"
grep -q -- '--data-dir /var/lib/ephemerd-vm$' "$unit" || bad "ExecStart= does not run on /var/lib/ephemerd-vm"

grace_ms=$("$vmhost" run --help | sed -n 's/.*--stop-grace MS.*(default \([0-9]*\)).*/\1/p')
stop_s=$(sed -n 's/^TimeoutStopSec=\([0-9]*\)s$/\1/p' "$unit")
[ -n "$grace_ms" ] || bad "no default stop grace in 'run --help'"
[ -n "$stop_s" ] || bad "TimeoutStopSec= is not in seconds"
if [ -n "$grace_ms" ] && [ -n "$stop_s" ]; then
  # grace, then QEMU's quit and kill (2 s each) and a margin of 10 s
  need=$(( grace_ms / 1000 + 14 ))
  [ "$stop_s" -ge "$need" ] || bad "TimeoutStopSec=${stop_s}s is not above the stop grace (${grace_ms} ms) + 14 s"
fi
[ "$fail" -eq 0 ] || exit 1
echo "service-verify: ephemerd-vm.service verified (systemd-analyze $(systemd-analyze --version | head -n 1 | awk '{print $2}'); stop timeout ${stop_s}s > grace ${grace_ms} ms)"
