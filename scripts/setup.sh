#!/usr/bin/env bash
# setup.sh — install the Debian 12 packages the build, tests and benchmarks need.
# Idempotent: when every package is already installed it returns at once.
set -euo pipefail
pkgs=(
  build-essential pkg-config cmake clang libclang-rt-14-dev dpkg-dev file xz-utils
  libarchive-dev libuv1-dev libcmocka-dev libcjson-dev nettle-dev libzstd-dev zlib1g-dev
  zstd lz4 cpio m4
  musl-tools linux-libc-dev dnsmasq-base iproute2 e2fsprogs util-linux kmod
  qemu-system-x86 qemu-utils busybox-static iputils-ping python3 systemd
  mingw-w64 wine wine64
  golang-go golang-github-burntsushi-toml-dev
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "setup: installing ${missing[*]}"
sudo=; [ "$(id -u)" -eq 0 ] || sudo=sudo
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
