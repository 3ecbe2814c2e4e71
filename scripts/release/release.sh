#!/usr/bin/env bash
# release.sh VERSION HOST WIN_EXE INIT MANPAGE... — write the release of VERSION to $DIST
# (default dist/): ephemerd-vm-VERSION-linux-amd64.tar.gz, ephemerd-vm-VERSION-windows-amd64.zip
# and SHA256SUMS. `make release VERSION=x.y.z` runs it with what it built:
#
#   HOST     the static musl ephemerd-vmhost (checked: statically linked, runs here)
#   WIN_EXE  the static mingw ephemerd-vmhost.exe (stripped into the zip)
#   INIT     the static musl ephemerd-init (stripped), /init of both base initrds
#   MANPAGE  the roff pages (scripts/release/man.py) for share/man/man8 and man/
#
# The VM files: Debian's kernel (scripts/test/test-kernel.sh's cache under $KERNEL_BUILD,
# default $BUILD: the vmlinux extracted from linux-image-amd64's bzImage, which QEMU boots
# by its PVH note and HCS's LinuxKernelDirect takes as it is), base-virtio.img
# (initrd/virtio.list) and base-hyperv.img (initrd/hyperv.list), built by HOST itself with
# INIT and a release rootfs skeleton (scripts/test/test-rootfs.sh); KERNEL-SOURCE.md names
# the Debian packages and versions of everything in them that is not ours.
#
# Reproducible: every file's time is SOURCE_DATE_EPOCH (the Makefile passes the commit's
# time), modes are set explicitly, owners are 0:0, archive members are sorted, gzip runs
# with -n, the zip is written by scripts/release/zip.py with fixed times and attributes.
# Work files go to $BUILD/release/. Prints dist/ with sizes at the end.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
abs() { case $1 in /*) echo "$1" ;; *) echo "$top/$1" ;; esac; }
die() { echo "release: $*" >&2; exit 1; }

[ $# -ge 6 ] || die "usage: release.sh VERSION HOST WIN_EXE INIT MANPAGE..."
version=$1 host=$(abs "$2") win=$(abs "$3") init=$(abs "$4"); shift 4
mans=()
for m in "$@"; do mans+=("$(abs "$m")"); done
build=$(abs "${BUILD:-build}")
kbuild=$(abs "${KERNEL_BUILD:-$build}")
dist=$(abs "${DIST:-dist}")
: "${SOURCE_DATE_EPOCH:?release: SOURCE_DATE_EPOCH must be set (make release sets it)}"
export SOURCE_DATE_EPOCH TZ=UTC LC_ALL=C
umask 022

[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+~][0-9A-Za-z.]+)?$ ]] ||
  die "VERSION '$version' is not x.y.z[-suffix]"
t0=$(date +%s)
work=$build/release
name=ephemerd-vm-$version
rm -rf "$work" && mkdir -p "$work/vm" "$work/stage"

# ---- the binaries ----------------------------------------------------------------------
info=$(file -b "$host")
case $info in *"statically linked"*) ;; *) die "$host is not static: $info" ;; esac
if ldd "$host" >/dev/null 2>&1; then die "$host: ldd lists shared libraries"; fi
hv=$("$host" --version) || die "$host --version failed"
case $hv in "ephemerd-vmhost $version"$'\n'*x86_64-linux-musl*) ;;
  *) die "$host --version does not say $version (musl): $hv" ;; esac
info=$(file -b "$win")
case $info in "PE32+ executable"*x86-64*) ;; *) die "$win: not a 64-bit PE: $info" ;; esac
info=$(file -b "$init")
case $info in *"statically linked"*", stripped"*) ;; *) die "$init: not static and stripped: $info" ;; esac
x86_64-w64-mingw32-strip --strip-all -o "$work/ephemerd-vmhost.exe" "$win"
echo "release: $(head -n 1 <<<"$hv") ($(sed -n 2p <<<"$hv")): $(file -b "$host")"
# The Windows binary needs no DLL beyond Windows' own (mingw's runtime is linked in).
dlls=$(x86_64-w64-mingw32-objdump -p "$win" | awk '/DLL Name:/ { print tolower($3) }' | sort -u)
for d in $dlls; do
  case $d in advapi32.dll|bcrypt.dll|iphlpapi.dll|kernel32.dll|msvcrt.dll|ole32.dll|shell32.dll| \
             user32.dll|userenv.dll|ws2_32.dll|dbghelp.dll|ntdll.dll|oleaut32.dll|crypt32.dll) ;;
    *) die "$win imports $d, which Windows does not ship" ;;
  esac
done

# ---- kernel, rootfs, base initrds ------------------------------------------------------
BUILD=$kbuild "$top/scripts/test/test-kernel.sh" >/dev/null
# shellcheck disable=SC1091
source "$kbuild/kernel/current.env"
rootfs=$(BUILD=$work ROOTFS_NAME="ephemerd-vm $version rootfs" ROOTFS_ID=ephemerd-vm \
  "$top/scripts/test/test-rootfs.sh")
cp "$VMLINUX" "$work/vm/kernel"
for plat in virtio hyperv; do
  "$host" initrd base --list "$top/initrd/$plat.list" --modules-dir "$MODULES_DIR" \
    --init "$init" --rootfs "$rootfs" -o "$work/vm/base-$plat.img" >"$work/base-$plat.log" 2>&1 ||
    { tail -n 20 "$work/base-$plat.log" >&2; die "initrd base ($plat) failed"; }
done

# ---- KERNEL-SOURCE.md ------------------------------------------------------------------
# The Debian packages of the files in the base initrds that are not ours (the mkfs tools and
# their libraries): path -> binary package -> source package and version.
pkgs_of_initrd() {
  for img in "$work/vm/base-virtio.img" "$work/vm/base-hyperv.img"; do
    "$host" initrd inspect "$img" 2>/dev/null
  done |
    awk '$2 == "file" && ($NF ~ /^(lib|lib64|sbin|usr)\//) { print "/" $NF }' | sort -u |
    while read -r f; do
      dpkg -S "$f" 2>/dev/null || dpkg -S "/usr$f" 2>/dev/null || echo "?: $f"
    done | awk -F': ' '{ print $1 }' | sed 's/:amd64$//' | sort -u
}
src_of() { dpkg-query -W -f='${source:Package} ${source:Version}' "$1" 2>/dev/null || echo "$1 ?"; }
ksrc=$(apt-cache show --no-all-versions "$KERNEL_PACKAGE=$KERNEL_PKG_VERSION" 2>/dev/null |
  awk -F': ' '$1 == "Source" { gsub(/[()]/, ""); print $2; exit }')
{
  echo "# Where the VM files come from"
  echo
  echo "\`vm/kernel\` is Linux $KERNEL_VERSION from Debian 12 (bookworm): the uncompressed"
  echo "\`vmlinux\`, the payload of \`/boot/vmlinuz-$KERNEL_VERSION\` decompressed, of the binary"
  echo "package \`$KERNEL_PACKAGE\` version \`$KERNEL_PKG_VERSION\`${ksrc:+ (source package \`${ksrc%% *}\` version \`${ksrc#* }\`, which signs the \`linux\` build)}."
  echo "The kernel modules in \`vm/base-virtio.img\` and \`vm/base-hyperv.img\` are from the same package."
  echo
  echo "The kernel is licensed under the GNU GPL version 2. Its complete source is the Debian"
  echo "source package **\`linux\` version \`$KERNEL_PKG_VERSION\`**, available from:"
  echo
  echo "- \`apt-get source linux=$KERNEL_PKG_VERSION\` on a Debian system with deb-src entries;"
  echo "- https://snapshot.debian.org/package/linux/$KERNEL_PKG_VERSION/"
  echo "- https://sources.debian.org/src/linux/$KERNEL_PKG_VERSION/"
  echo
  echo "The base initrds also hold these programs and libraries from Debian 12 binary packages"
  echo "(mkfs.ext4 and resize2fs for the guest's root disk, and the libraries they load);"
  echo "their sources are the Debian source packages listed (\`apt-get source PACKAGE=VERSION\`,"
  echo "or https://snapshot.debian.org/package/PACKAGE/VERSION/):"
  echo
  echo "| binary package | source package | version |"
  echo "|---|---|---|"
  pkgs_of_initrd | while read -r p; do
    read -r sp sv <<<"$(src_of "$p")"
    echo "| \`$p\` | \`$sp\` | \`$sv\` |"
  done
  echo
  echo "Everything else in the base initrds (\`/init\`, which is ephemerd-init, and the rootfs"
  echo "skeleton) is built from this project's source at the release's commit."
} >"$work/KERNEL-SOURCE.md"

# ---- the trees -------------------------------------------------------------------------
put() { # put SRC DEST MODE
  mkdir -p "$(dirname "$2")"
  cp "$1" "$2"
  chmod "$3" "$2"
}
docs=(install.md running.md host-config.md windows.md config.sample.toml)
unit=$top/host/service/ephemerd-vm.service

lin=$work/stage/lin/$name-linux-amd64
put "$host" "$lin/bin/ephemerd-vmhost" 0755
for f in kernel base-virtio.img base-hyperv.img; do put "$work/vm/$f" "$lin/vm/$f" 0644; done
for m in "${mans[@]}"; do put "$m" "$lin/share/man/man8/$(basename "$m")" 0644; done
if [ -f "$unit" ]; then
  put "$unit" "$lin/lib/systemd/system/ephemerd-vm.service" 0644
else
  echo "release: warning: $unit missing: no systemd unit in the Linux archive" >&2
fi
for d in "${docs[@]}"; do put "$top/docs/$d" "$lin/docs/$d" 0644; done
put "$top/scripts/release/INSTALL.md" "$lin/INSTALL.md" 0644
put "$work/KERNEL-SOURCE.md" "$lin/KERNEL-SOURCE.md" 0644

winr=$work/stage/win/$name-windows-amd64
put "$work/ephemerd-vmhost.exe" "$winr/ephemerd-vmhost.exe" 0755
for f in kernel base-hyperv.img base-virtio.img; do put "$work/vm/$f" "$winr/vm/$f" 0644; done
for m in "${mans[@]}"; do put "$m" "$winr/man/$(basename "$m")" 0644; done
for d in "${docs[@]}"; do put "$top/docs/$d" "$winr/docs/$d" 0644; done
put "$top/scripts/release/INSTALL.md" "$winr/INSTALL.md" 0644
put "$work/KERNEL-SOURCE.md" "$winr/KERNEL-SOURCE.md" 0644
find "$work/stage" -type d -exec chmod 0755 {} +

# ---- the archives ----------------------------------------------------------------------
mkdir -p "$dist"
rm -f "$dist"/ephemerd-vm-*.tar.gz "$dist"/ephemerd-vm-*.zip "$dist/SHA256SUMS"
tgz=$name-linux-amd64.tar.gz zip=$name-windows-amd64.zip
tar --create --file=- --directory="$work/stage/lin" --format=gnu --sort=name \
  --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" "$name-linux-amd64" |
  gzip -9 -n >"$dist/$tgz.tmp"
mv "$dist/$tgz.tmp" "$dist/$tgz"
python3 "$top/scripts/release/zip.py" "$dist/$zip" "$work/stage/win" "$name-windows-amd64"
(cd "$dist" && sha256sum "$tgz" "$zip" >SHA256SUMS.tmp && mv SHA256SUMS.tmp SHA256SUMS)

echo "release: $name in $(( $(date +%s) - t0 )) s (SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH," \
  "kernel $KERNEL_PACKAGE $KERNEL_PKG_VERSION)"
(cd "$dist" && stat -c "  %12s  %n" "$tgz" "$zip" SHA256SUMS && cat SHA256SUMS)
