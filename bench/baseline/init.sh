#!/bin/busybox sh
# The shell init that ephemerd-init replaced, kept only as the boot benchmark's baseline
# (bench/boot.sh). It does what that script did — insmod in a loop, a fixed sleep after
# the modules, udhcpc, one-second polls for the root disk, blkid, mount, cp of the config,
# switch_root and exec of the daemon as PID 1 — plus the EPHEMERD_IP line the agent needs
# to find the VM ready. No tail verification, no fatal reporting: that is the point.
bb=/bin/busybox
$bb mount -t proc proc /proc
$bb mount -t sysfs sysfs /sys
$bb mount -t devtmpfs devtmpfs /dev
exec > /dev/console 2>&1
boot_id=; disk=/dev/vda; port=10000; dind=; priv=
for arg in $($bb cat /proc/cmdline); do
  case $arg in
    ephemerd.boot_id=*) boot_id=${arg#*=} ;;
    ephemerd.root_disk=*) disk=${arg#*=} ;;
    ephemerd.containerd_port=*) port=${arg#*=} ;;
    ephemerd.dind=1) dind=--dind ;;
    ephemerd.dind_allow_privileged=1) priv=--dind-allow-privileged ;;
  esac
done
echo "baseline-init: starting"
while read -r m; do
  case $m in ''|'#'*) continue ;; esac
  m=${m%%:*}
  $bb insmod "/modules/$m" 2>/dev/null || echo "baseline-init: insmod $m failed"
done < /modules/load-order
$bb sleep 1
$bb ip link set lo up
$bb ip link set eth0 up
$bb udhcpc -i eth0 -n -q -t 5 -s /udhcpc.script
ip=$($bb cat /tmp/ip 2>/dev/null)
echo "EPHEMERD_IP=$ip boot_id=$boot_id"
while [ ! -b "$disk" ]; do $bb sleep 1; done
$bb blkid "$disk" | $bb grep -q 'TYPE="ext4"' || /sbin/mkfs.ext4 -q -L ephemerd-root -F "$disk"
$bb mount -t ext4 -o noatime "$disk" /newroot
[ -x /newroot/usr/local/bin/ephemerd-linux ] || $bb tar -xzf /assets/rootfs.tar.gz -C /newroot
$bb cp /assets/ephemerd-linux /newroot/usr/local/bin/ephemerd-linux
config=
if [ -f /assets/config.toml ]; then
  $bb mkdir -p /newroot/etc/ephemerd
  $bb cp /assets/config.toml /newroot/etc/ephemerd/config.toml
  $bb chmod 600 /newroot/etc/ephemerd/config.toml
  config="--config /etc/ephemerd/config.toml"
fi
$bb mount --move /proc /newroot/proc
$bb mount --move /sys /newroot/sys
$bb mount --move /dev /newroot/dev
echo "baseline-init: launching ephemerd-linux"
# shellcheck disable=SC2086
exec $bb switch_root /newroot /usr/local/bin/ephemerd-linux serve $config \
  --data-dir /var/lib/ephemerd --containerd-tcp-port "$port" --containerd-tcp-addr 0.0.0.0 \
  --containerd-only $dind $priv
