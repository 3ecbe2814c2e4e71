#!/usr/bin/env bash
# release-check.sh — is the release reproducible? Takes one snapshot of this tree (the files
# git tracks or would track: `git ls-files -co --exclude-standard`), copies it to two
# different places ($BUILD/release-check/a/src and .../b/src), and builds the release in
# each from nothing with the default build dir (every object, both agents, the guest init,
# the base initrds, the man pages, the archives), sharing only DEPS_DIR (the cross-built
# libraries) and the kernel cache of $BUILD. The commit and SOURCE_DATE_EPOCH are this
# checkout's. Then compares the two dist/ directories byte for byte, printing each build's
# time and, on a difference, the archive members that differ. Different checkout and build
# paths in the two builds check that no path reaches the output.
# `make release-check [VERSION=x.y.z]` runs it.
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
make=${MAKE:-make}
version=${VERSION:-0.1.0-dev}
rc=$build/release-check
die() { echo "release-check: $*" >&2; exit 1; }
[ -n "${DEPS_DIR:-}" ] || die "DEPS_DIR unset (run it with make release-check)"

# The sub-makes share the caller's jobserver when it has one; otherwise two jobs. Variables
# given on the caller's command line reach them through MAKEFLAGS (DEPS_DIR is meant to), so
# BUILD and DIST are given again: each copy builds in its own build/ and dist/.
jobs=()
case " ${MAKEFLAGS:-} " in *j*) ;; *) jobs=(-j2) ;; esac

{ rm -rf "$rc" && mkdir -p "$rc/a/src"; } || die "cannot make $rc"
# This checkout's commit (with -dirty when it differs) and time, for both copies.
"$top/scripts/release/version.sh" "$version" "$rc/version.h" || die "version.sh failed"
commit=$(sed -n 's/^#define EVM_COMMIT "\(.*\)"$/\1/p' "$rc/version.h")
epoch=${SOURCE_DATE_EPOCH:-$(git -C "$top" log -1 --format=%ct 2>/dev/null || echo 0)}
# Without git (an unpacked source tarball): every file but build/ and dist/.
list_tree() {
  git ls-files -co --exclude-standard -z 2>/dev/null ||
    find . \( -path ./build -o -path ./dist -o -path ./.git \) -prune -o -type f -printf '%P\0'
}
(cd "$top" && list_tree | xargs -0 cp --parents -a -t "$rc/a/src") || die "cannot copy the tree"
{ mkdir -p "$rc/b" && cp -a "$rc/a/src" "$rc/b/src-elsewhere"; } || die "cannot copy the snapshot"
echo "release-check: snapshot of $top (commit $commit, SOURCE_DATE_EPOCH $epoch): $(find "$rc/a/src" -type f | wc -l) files"

t_all=$(date +%s)
for x in a/src b/src-elsewhere; do
  t0=$(date +%s)
  if ! EVM_SOURCE_COMMIT=$commit SOURCE_DATE_EPOCH=$epoch "$make" -C "$rc/$x" "${jobs[@]}" \
       --no-print-directory BUILD=build DIST=dist KERNEL_BUILD="$build" VERSION="$version" release >"$rc/${x%%/*}.log" 2>&1; then
    tail -n 30 "$rc/${x%%/*}.log" >&2
    die "build in $rc/$x failed (log: $rc/${x%%/*}.log)"
  fi
  echo "release-check: build in $rc/$x in $(( $(date +%s) - t0 )) s"
done
da=$rc/a/src/dist db=$rc/b/src-elsewhere/dist

# members ARCHIVE: "sha256 time mode [uid gid] name" of every member of a .tar.gz or .zip.
members() {
  python3 - "$1" <<'PY'
import hashlib, sys, tarfile, zipfile
p = sys.argv[1]
if p.endswith(".zip"):
    with zipfile.ZipFile(p) as z:
        for i in z.infolist():
            print(hashlib.sha256(z.read(i)).hexdigest(), i.date_time, oct(i.external_attr >> 16), i.filename)
else:
    with tarfile.open(p) as t:
        for m in t.getmembers():
            f = t.extractfile(m)
            h = hashlib.sha256(f.read()).hexdigest() if f else "-"
            print(h, m.mtime, oct(m.mode), m.uid, m.gid, m.name)
PY
}

same=1
a_files=$(cd "$da" && ls)
b_files=$(cd "$db" && ls)
[ "$a_files" = "$b_files" ] || { echo "release-check: different files: [$a_files] vs [$b_files]"; same=0; }
for f in $a_files; do
  if cmp -s "$da/$f" "$db/$f"; then
    printf 'release-check: identical  %10d  sha256 %s…  %s\n' "$(stat -c %s "$da/$f")" \
      "$(sha256sum "$da/$f" | cut -c1-16)" "$f"
  else
    same=0
    echo "release-check: DIFFERENT  $f"
    case $f in
      *.tar.gz|*.zip) diff <(members "$da/$f") <(members "$db/$f") | sed 's/^/    /' ;;
    esac
  fi
done
echo "release-check: two builds in $(( $(date +%s) - t_all )) s"
[ "$same" -eq 1 ] || die "the two releases differ (work dirs kept in $rc)"
echo "release-check: the two releases are byte-identical"
