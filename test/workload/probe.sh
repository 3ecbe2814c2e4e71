#!/bin/sh
# probe.sh — the workload probe's checks that use real tools, run inside the VM after
# switch_root by the stand-in daemon in probe mode (test/standin/ephemerd-linux.c, which
# does the getrandom check itself first, forwards these lines to the console and prints the
# summary). Shipped in the workload rootfs as /usr/lib/ephemerd-probe/probe.sh by
# scripts/test/workload-rootfs.sh, with Debian's iproute2, nftables, iptables (nft
# backend), kmod, runc and busybox (the shell and the small tools).
#
# Output, one line per check, in this order (a check whose prerequisite failed still
# reports, as a failure naming the prerequisite):
#   PROBE plan <number of checks that follow>
#   PROBE ok <name>[: <detail>]        or        PROBE FAIL <name>: <why>
# Checks: modprobe bridge veth ping nft-masquerade autoload iptables-dnat overlay cgroup runc.
# Exit status: the number of failed checks (0: all passed).
#
# What the checks leave behind (the VM is about to be stopped): the bridge, the network
# namespaces, the rules. Addresses: probe-br0 10.213.0.1/24, the namespace probe-ns
# 10.213.0.2, the container's namespace probe-ctr 10.213.0.3.
# shellcheck shell=sh
# The check functions are called through `check NAME FUNCTION` (SC2317 cannot see it), and
# the `sh -c '...' sh ARG` scripts are single-quoted on purpose (SC2016).
# shellcheck disable=SC2317,SC2016
set -u
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
# Debian's busybox shell runs its own applets before anything on PATH (standalone shell):
# the real tools that have a busybox namesake are called by path.
ip() { /bin/ip "$@"; }
modprobe() { /sbin/modprobe "$@"; }

LIB=/usr/lib/ephemerd-probe
WORK=/var/lib/ephemerd-probe
CG=/sys/fs/cgroup
NET=10.213.0
# modprobe loads the first of these that is in modules.dep and not loaded yet: modules of
# the container set that only a request loads (initrd/*.list: "demand"), then ones the
# init loads in the background after the launch ("later"), which may not be loaded yet.
MODPROBE_CANDIDATES="xt_statistic xt_multiport tun xt_comment xt_addrtype xt_mark dummy"

failed=0
failed_names=" "
why=

one_line() { # the text on one line, at most 240 characters
  printf '%s' "$1" | tr '\n\t' '  ' | cut -c1-240
}

# try WHAT COMMAND...: runs COMMAND; on failure sets why to "WHAT: <its output>".
try() {
  _what=$1
  shift
  if _out=$("$@" 2>&1); then
    return 0
  fi
  why="$_what: $(one_line "$_out")"
  return 1
}

# needs CHECK...: fails (setting why) when one of those checks failed.
needs() {
  for _n in "$@"; do
    case $failed_names in
    *" $_n "*)
      why="skipped: needs $_n, which failed"
      return 1
      ;;
    esac
  done
  return 0
}

# check NAME FUNCTION: runs FUNCTION, which sets why (and detail) and returns non-zero on
# failure; reports one line.
check() {
  why=
  detail=
  if "$2"; then
    echo "PROBE ok $1${detail:+: $detail}"
  else
    echo "PROBE FAIL $1: ${why:-failed}"
    failed=$((failed + 1))
    failed_names="$failed_names$1 "
  fi
}

in_list() { # in_list WORD LIST
  case " $2 " in *" $1 "*) return 0 ;; esac
  return 1
}

# ---- modprobe: a module loaded after switch_root, through /lib/modules/$(uname -r) -------
check_modprobe() {
  _kver=$(uname -r)
  _dir=/lib/modules/$_kver
  if [ ! -f "$_dir/modules.dep" ]; then
    why="no $_dir/modules.dep in the new root (modules are not available after switch_root)"
    return 1
  fi
  _helper=$(cat /proc/sys/kernel/modprobe 2>/dev/null || echo '?')
  if [ ! -x "$_helper" ]; then
    why="the kernel's module helper $_helper (/proc/sys/kernel/modprobe) is not executable"
    return 1
  fi
  _mod=
  for _m in $MODPROBE_CANDIDATES; do
    [ -d "/sys/module/$_m" ] && continue
    grep -qE "(^|/)$_m\.ko[^:]*:" "$_dir/modules.dep" || continue
    _mod=$_m
    break
  done
  if [ -z "$_mod" ]; then
    # Every candidate is loaded already (or none is shipped): modprobe must still resolve one.
    for _m in $MODPROBE_CANDIDATES; do
      if [ -d "/sys/module/$_m" ] && modprobe --show-depends "$_m" >/dev/null 2>&1; then
        detail="all of ($MODPROBE_CANDIDATES) already loaded; modprobe resolves $_m"
        return 0
      fi
    done
    why="none of ($MODPROBE_CANDIDATES) is in $_dir/modules.dep"
    return 1
  fi
  try "modprobe $_mod" modprobe "$_mod" || return 1
  if [ ! -d "/sys/module/$_mod" ]; then
    why="modprobe $_mod succeeded but /sys/module/$_mod does not exist"
    return 1
  fi
  detail="loaded $_mod"
}

# ---- bridge -------------------------------------------------------------------------------
check_bridge() {
  try "ip link add probe-br0 type bridge" ip link add probe-br0 type bridge || return 1
  try "ip addr add $NET.1/24 dev probe-br0" ip addr add "$NET.1/24" dev probe-br0 || return 1
  try "ip link set probe-br0 up" ip link set probe-br0 up || return 1
  detail="probe-br0 $NET.1/24"
}

# ---- veth: a pair into a new network namespace, on the bridge -----------------------------
# veth_into NS HOST_END ADDRESS
veth_into() {
  try "ip netns add $1" ip netns add "$1" || return 1
  try "ip link add $2 type veth peer name eth0 netns $1" \
    ip link add "$2" type veth peer name eth0 netns "$1" || return 1
  try "ip link set $2 master probe-br0" ip link set "$2" master probe-br0 || return 1
  try "ip link set $2 up" ip link set "$2" up || return 1
  try "ip -n $1 link set lo up" ip -n "$1" link set lo up || return 1
  try "ip -n $1 addr add $3/24 dev eth0" ip -n "$1" addr add "$3/24" dev eth0 || return 1
  try "ip -n $1 link set eth0 up" ip -n "$1" link set eth0 up || return 1
  try "ip -n $1 route add default via $NET.1" ip -n "$1" route add default via "$NET.1" || return 1
}

check_veth() {
  needs bridge || return 1
  veth_into probe-ns probe-veth0 "$NET.2" || return 1
  detail="probe-veth0 <-> probe-ns eth0 $NET.2/24"
}

# ---- ping across the bridge, both ways ----------------------------------------------------
check_ping() {
  needs veth || return 1
  try "ping $NET.2 from the root namespace" ping -c 1 -w 10 "$NET.2" || return 1
  try "ping $NET.1 from probe-ns" ip netns exec probe-ns ping -c 1 -w 10 "$NET.1" || return 1
  detail="$NET.1 <-> $NET.2"
}

# ---- nftables: a nat table with a masquerade rule ------------------------------------------
check_nft() {
  _rules="table ip ephemerd_probe {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    ip saddr $NET.0/24 oifname != \"probe-br0\" masquerade
  }
}"
  try "nft -f (nat table, masquerade rule)" sh -c 'printf "%s\n" "$1" | nft -f -' sh "$_rules" ||
    return 1
  try "nft list table ip ephemerd_probe" nft list table ip ephemerd_probe || return 1
  case $_out in
  *masquerade*) ;;
  *)
    why="the rule is not listed: $(one_line "$_out")"
    return 1
    ;;
  esac
  detail="ip saddr $NET.0/24 oifname != probe-br0 masquerade"
}

# ---- autoload: the kernel loads a module itself (request_module -> modprobe in the new root)
# A rule with a conntrack expression makes nf_tables ask for "nft-expr-ct" (nft_ct, a module
# only a request loads). When it is loaded already the check cannot tell, and says so.
AUTOLOAD_MODULE=nft_ct
check_autoload() {
  needs nft-masquerade || return 1
  _pre=absent
  [ -d "/sys/module/$AUTOLOAD_MODULE" ] && _pre=loaded
  try "nft add rule ... ct state new counter" \
    nft add rule ip ephemerd_probe postrouting ct state new counter || return 1
  if [ ! -d "/sys/module/$AUTOLOAD_MODULE" ]; then
    if grep -q "/$AUTOLOAD_MODULE\.ko" "/lib/modules/$(uname -r)/modules.builtin" 2>/dev/null; then
      detail="$AUTOLOAD_MODULE is built in: nothing to load"
      return 0
    fi
    why="the ct rule was accepted but /sys/module/$AUTOLOAD_MODULE does not exist"
    return 1
  fi
  if [ "$_pre" = loaded ]; then
    detail="$AUTOLOAD_MODULE was loaded already: kernel autoloading not shown"
    return 0
  fi
  detail="the kernel loaded $AUTOLOAD_MODULE for a ct rule (helper $(cat /proc/sys/kernel/modprobe))"
}

# ---- iptables-nft: DNAT (kube-proxy style, with a CNI-style comment), and a connection ----
check_dnat() {
  for _chain in PREROUTING OUTPUT; do
    try "iptables-nft -t nat -A $_chain ... -j DNAT" \
      iptables-nft -w -t nat -A "$_chain" -d "$NET.1/32" -p tcp --dport 18080 \
      -m comment --comment ephemerd-probe -j DNAT --to-destination "$NET.2:8080" || return 1
  done
  try "iptables-nft -t nat -S" iptables-nft -w -t nat -S || return 1
  case $_out in
  *"-j DNAT --to-destination $NET.2:8080"*) ;;
  *)
    why="the DNAT rule is not listed: $(one_line "$_out")"
    return 1
    ;;
  esac
  needs veth || return 1
  mkdir -p "$WORK/www" && echo ephemerd-probe-dnat >"$WORK/www/probe.txt"
  # httpd goes to the background: its output must not hold a command substitution open.
  if ! ip netns exec probe-ns httpd -p 8080 -h "$WORK/www" </dev/null >/dev/null 2>&1; then
    why="cannot start busybox httpd in probe-ns"
    return 1
  fi
  # (busybox's wget crashes in Debian's static build: a plain HTTP request through nc)
  _got=
  for _i in 1 2 3 4 5 6 7 8 9 10; do
    _got=$(printf 'GET /probe.txt HTTP/1.0\r\n\r\n' | nc -w 5 "$NET.1" 18080 2>&1)
    case $_got in *ephemerd-probe-dnat*) break ;; esac
    sleep 0.5
  done
  ip netns pids probe-ns 2>/dev/null | xargs -r kill 2>/dev/null
  case $_got in
  *ephemerd-probe-dnat*) ;;
  *)
    why="GET http://$NET.1:18080/probe.txt through the DNAT rule: $(one_line "${_got:-no answer}")"
    return 1
    ;;
  esac
  detail="$NET.1:18080 -> $NET.2:8080, a GET through it answered"
}

# ---- overlay: mount and write through it --------------------------------------------------
check_overlay() {
  _d=$WORK/overlay
  rm -rf "$_d"
  try "mkdir $_d/{lower,upper,work,merged}" \
    mkdir -p "$_d/lower" "$_d/upper" "$_d/work" "$_d/merged" || return 1
  echo lower >"$_d/lower/file"
  try "mount -t overlay" mount -t overlay overlay \
    -o "lowerdir=$_d/lower,upperdir=$_d/upper,workdir=$_d/work" "$_d/merged" || return 1
  _ok=1
  if ! echo new >"$_d/merged/new" 2>/dev/null || ! echo more >>"$_d/merged/file" 2>/dev/null; then
    why="cannot write through the overlay"
    _ok=0
  elif [ "$(cat "$_d/upper/new" 2>/dev/null)" != new ]; then
    why="a file written through the overlay is not in the upper directory"
    _ok=0
  elif [ "$(cat "$_d/lower/file")" != lower ] || [ "$(cat "$_d/upper/file" 2>/dev/null)" != "lower
more" ]; then
    why="an appended lower file was not copied up"
    _ok=0
  fi
  try "umount $_d/merged" umount "$_d/merged" || return 1
  [ "$_ok" = 1 ] || return 1
  detail="a new file and a copied-up lower file in $_d/upper"
}

# ---- cgroup v2: memory and pids limits, a process in it ------------------------------------
# The probe cgroup is a sibling of our own (the root when we are in the root), so the
# no-internal-processes rule does not stand in the way of enabling controllers.
check_cgroup() {
  if [ ! -f "$CG/cgroup.controllers" ]; then
    why="no cgroup2 at $CG"
    return 1
  fi
  _self=$(sed -n 's/^0:://p' /proc/self/cgroup)
  _parent=$CG${_self%/*}
  for _c in memory pids; do
    in_list "$_c" "$(cat "$_parent/cgroup.subtree_control")" && continue
    if ! in_list "$_c" "$(cat "$_parent/cgroup.controllers")"; then
      why="controller $_c not available in $_parent (cgroup.controllers: $(cat "$_parent/cgroup.controllers"))"
      return 1
    fi
    try "enable +$_c in $_parent/cgroup.subtree_control" \
      sh -c 'echo "+$1" >"$2/cgroup.subtree_control"' sh "$_c" "$_parent" || return 1
  done
  _g=$_parent/ephemerd-probe
  try "mkdir $_g" mkdir "$_g" || return 1
  try "memory.max" sh -c 'echo 67108864 >"$1/memory.max"' sh "$_g" || return 1
  try "pids.max" sh -c 'echo 8 >"$1/pids.max"' sh "$_g" || return 1
  if [ "$(cat "$_g/memory.max")" != 67108864 ] || [ "$(cat "$_g/pids.max")" != 8 ]; then
    why="limits read back as memory.max=$(cat "$_g/memory.max") pids.max=$(cat "$_g/pids.max")"
    return 1
  fi
  # A process in it: it sees itself there; starting more than pids.max processes fails.
  _in=$(sh -c 'echo $$ >"$1/cgroup.procs" && sed -n "s/^0:://p" /proc/self/cgroup' sh "$_g" 2>&1)
  if [ "$_in" != "${_g#"$CG"}" ]; then
    why="a process moved into ${_g#"$CG"} reports cgroup '$(one_line "$_in")'"
    return 1
  fi
  sh -c 'echo $$ >"$1/cgroup.procs"; for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 2 & done; wait' \
    sh "$_g" >/dev/null 2>&1
  _max=$(sed -n 's/^max //p' "$_g/pids.events")
  echo 1 >"$_g/cgroup.kill" 2>/dev/null
  if [ "${_max:-0}" -lt 1 ]; then
    why="12 processes started under pids.max=8 without a refusal (pids.events max=${_max:-?})"
    return 1
  fi
  for _i in 1 2 3 4 5 6 7 8 9 10; do rmdir "$_g" 2>/dev/null && break; sleep 0.2; done
  detail="${_g#"$CG"} memory.max=64M pids.max=8 (forks refused: $_max)"
}

# ---- runc: a busybox container on the bridge, with its own cgroup --------------------------
# The bundle's config.json (test/workload/bundle-config.json) joins /run/netns/probe-ctr,
# puts the container in the cgroup /ephemerd-probe-ctr (memory 64 MiB, 32 pids) and runs:
# cat /proc/self/cgroup; ip -o -4 addr show eth0; cat memory.max pids.max; ping NET.1.
check_runc() {
  needs bridge || return 1
  if ! command -v runc >/dev/null; then
    why="runc is not in this rootfs"
    return 1
  fi
  veth_into probe-ctr probe-veth1 "$NET.3" || return 1
  try "runc run" runc run --bundle "$LIB/bundle" ephemerd-probe-ctr </dev/null ||
    return 1
  _o=$(one_line "$_out")
  case $_o in
  *"$NET.3/24"*) ;;
  *)
    why="the container has no $NET.3/24 on eth0: $_o"
    return 1
    ;;
  esac
  case $_o in
  *"0::/ "*"67108864 32 "*) ;;
  *)
    why="the container does not see its own cgroup with memory.max 67108864 and pids.max 32: $_o"
    return 1
    ;;
  esac
  case $_o in
  *ping-ok*) ;;
  *)
    why="the container cannot ping $NET.1 across the bridge: $_o"
    return 1
    ;;
  esac
  detail="busybox in netns probe-ctr ($NET.3), cgroup /ephemerd-probe-ctr, pinged $NET.1"
}

mkdir -p "$WORK"
echo "PROBE plan 10"
check modprobe check_modprobe
check bridge check_bridge
check veth check_veth
check ping check_ping
check nft-masquerade check_nft
check autoload check_autoload
check iptables-dnat check_dnat
check overlay check_overlay
check cgroup check_cgroup
check runc check_runc
exit "$failed"
