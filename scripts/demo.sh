#!/usr/bin/env bash
# demo.sh — the main job on a fresh machine, until the VM boot lands: build a boot initrd
# from sample inputs (a small base initrd, a stand-in daemon binary, docs/config.sample.toml),
# inspect it, and print the kernel command line the agent would boot with.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$top/build/native/ephemerd-vmhost}
work=$top/build/demo
rm -rf "$work" && mkdir -p "$work/base/etc" "$work/data"

# A small base initrd: a newc cpio of a few directories and files.
printf 'ephemerd demo base\n' > "$work/base/etc/issue"
(cd "$work/base" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc --owner 0:0 --reproducible) \
  | gzip -n > "$work/base.img"
cp /bin/true "$work/ephemerd-linux"
cp "$top/docs/config.sample.toml" "$work/data/config.toml"

echo "== initrd build"
"$bin" initrd build --base "$work/base.img" --binary "$work/ephemerd-linux" \
  --config "$work/data/config.toml" --boot-id 0123456789abcdef0123456789abcdef \
  -o "$work/data/boot-initrd.img"
echo "== initrd build again (binary member from the cache)"
"$bin" initrd build --base "$work/base.img" --binary "$work/ephemerd-linux" \
  --config "$work/data/config.toml" --boot-id 0123456789abcdef0123456789abcdef \
  -o "$work/data/boot-initrd.img"
echo "== initrd inspect"
"$bin" initrd inspect "$work/data/boot-initrd.img"
echo "== cmdline"
"$bin" cmdline --data-dir "$work/data" --boot-id 0123456789abcdef0123456789abcdef
