#!/usr/bin/env bash
# netns.sh — the network of the simulated-HCS tests (test only): a network namespace NAME
# with loopback up, a bridge evmbr0 at ${EVM_HCS_NET}.1/24 (default 192.168.213.1; the range
# exists only inside the namespace), a tap evmtap0 on it (for hcsboot.py --tap; with --bridge
# hcsboot makes a tap per VM), and dnsmasq serving DHCP on the bridge (.50–.150, router .1).
# The agent under wine, the fake HCS and hcsboot.py then all run with `ip netns exec NAME`:
# they talk over 127.0.0.1 there, and the agent reaches the guest at its DHCP address.
#
#   test/hcs/netns.sh up NAME     create (idempotent: what exists is kept, dnsmasq restarted
#                                 if it is not running); prints the facts as KEY=VALUE
#   test/hcs/netns.sh down NAME   kill every process in the namespace, delete it (idempotent)
#
# State (dnsmasq's pid file, leases, log): /run/evm-hcs-netns/NAME/. Needs root, iproute2 and
# dnsmasq (dnsmasq-base). Every step is bounded by a timeout.
set -euo pipefail

die() { echo "netns.sh: $*" >&2; exit 1; }
usage() { echo "usage: test/hcs/netns.sh up|down NAME" >&2; exit 2; }

[ $# -eq 2 ] || usage
action=$1 ns=$2
case $ns in
  '' | *[!A-Za-z0-9_.-]* | .* ) die "bad namespace name '$ns'" ;;
esac
[ ${#ns} -le 64 ] || die "namespace name too long"
[ "$(id -u)" -eq 0 ] || die "needs root"

net=${EVM_HCS_NET:-192.168.213}
bridge=evmbr0
tap=evmtap0
state=/run/evm-hcs-netns/$ns
t() { timeout -k 2 10 "$@"; }
nsdo() { t ip netns exec "$ns" "$@"; }

ns_exists() { [ -e "/run/netns/$ns" ] && t ip netns list | grep -qE "^$ns( |\$)"; }
link_exists() { nsdo ip link show dev "$1" >/dev/null 2>&1; }

dnsmasq_pid() { # the pid of our dnsmasq, if it runs (checked: name and namespace)
  local pid
  pid=$(cat "$state/dnsmasq.pid" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dnsmasq ] || return 1
  [ "$(readlink "/proc/$pid/ns/net")" = "$(nsdo readlink /proc/self/ns/net)" ] || return 1
  echo "$pid"
}

start_dnsmasq() {
  dnsmasq_pid >/dev/null && return 0
  command -v dnsmasq >/dev/null || [ -x /usr/sbin/dnsmasq ] ||
    die "dnsmasq not found (apt-get install dnsmasq-base)"
  rm -f "$state/dnsmasq.pid"
  # It forks into the background itself; the pid file names the daemon.
  PATH=/usr/sbin:/usr/bin:/sbin:/bin nsdo dnsmasq --conf-file=/dev/null --port=0 \
    --interface="$bridge" --bind-interfaces --except-interface=lo \
    --dhcp-range="$net.50,$net.150,255.255.255.0,1h" --dhcp-option="option:router,$net.1" \
    --dhcp-authoritative --no-ping --dhcp-leasefile="$state/leases" \
    --pid-file="$state/dnsmasq.pid" --user=root --group=root --log-dhcp \
    --log-facility="$state/dnsmasq.log" ||
    die "dnsmasq failed to start (log: $state/dnsmasq.log)"
  for _ in $(seq 1 50); do dnsmasq_pid >/dev/null && return 0; sleep 0.1; done
  die "dnsmasq did not come up within 5 s (log: $state/dnsmasq.log)"
}

up() {
  mkdir -p "$state"
  ns_exists || t ip netns add "$ns" || die "ip netns add $ns failed"
  nsdo ip link set lo up
  link_exists "$bridge" || nsdo ip link add "$bridge" type bridge forward_delay 0
  nsdo ip addr replace "$net.1/24" dev "$bridge"
  nsdo ip link set "$bridge" up
  link_exists "$tap" || nsdo ip tuntap add dev "$tap" mode tap
  nsdo ip link set "$tap" master "$bridge" up
  start_dnsmasq
  echo "NETNS=$ns"
  echo "BRIDGE=$bridge"
  echo "TAP=$tap"
  echo "SUBNET=$net.0/24"
  echo "GATEWAY=$net.1"
  echo "DNSMASQ_LOG=$state/dnsmasq.log"
}

down() {
  if ns_exists; then
    # Every process in the namespace was started for the test (dnsmasq, hcsboot, QEMU,
    # the agent under wine): none may outlive it.
    local pids pid
    pids=$(t ip netns pids "$ns" || true)
    for pid in $pids; do kill -KILL "$pid" 2>/dev/null || true; done
    for _ in $(seq 1 50); do
      [ -z "$(t ip netns pids "$ns" 2>/dev/null || true)" ] && break
      sleep 0.1
    done
    [ -z "$(t ip netns pids "$ns" 2>/dev/null || true)" ] ||
      echo "netns.sh: processes still in $ns after SIGKILL: $(t ip netns pids "$ns" | tr '\n' ' ')" >&2
    t ip netns del "$ns" || die "ip netns del $ns failed"
  fi
  rm -rf "$state"
}

case $action in
  up) up ;;
  down) down ;;
  *) usage ;;
esac
