# deps-common.sh — sourced by deps-win.sh and deps-musl.sh: builds one library from its
# Debian source package into $prefix, or skips it when its stamp says the same source and
# recipe are installed already. A library is marked done only after it is fully installed.
#
# The sourcing script provides: prefix, scratch, logs (directories), srcdir PKG (prints the
# unpacked source), build_<lib> (builds into $stage, run in a subshell with errexit), and
# deps_key LIB VERSION (prints the stamp key: version plus whatever the build depends on).
#
#   deps_one TAG LIB:PKG      TAG names the target in messages and log file names

deps_one() {
  local tag=$1 lib=${2%%:*} pkg=${2#*:}
  local src ver key stampf=$prefix/stamps/$lib t0=$SECONDS
  src=$(srcdir "$pkg")
  ver=$(basename "$src")
  key=$(deps_key "$lib" "$ver")
  mkdir -p "$prefix/stamps"
  if [ -f "$stampf" ] && [ "$(cat "$stampf")" = "$key" ]; then
    printf 'deps-%s: %-10s cached  %s\n' "$tag" "$lib" "$ver"
    return 0
  fi
  rm -f "$prefix/.deps-ok"
  local w=$scratch/$lib log=$logs/$tag-$lib.log
  rm -rf "$w" && mkdir -p "$w"
  stage=$w/stage
  # Not in a conditional context, so errexit stays active inside the recipe.
  local rc=0
  set +e
  (set -e; cd "$w" && "build_$lib") >"$log" 2>&1
  rc=$?
  set -e
  if [ "$rc" -ne 0 ]; then
    echo "deps-$tag: $lib ($ver) FAILED; last lines of $log:" >&2
    tail -n 30 "$log" >&2
    exit 1
  fi
  rm -f "$stampf"
  cp -a "$stage/." "$prefix/"
  echo "$key" >"$stampf.tmp" && mv "$stampf.tmp" "$stampf"
  rm -rf "$w"
  printf 'deps-%s: %-10s built   %s (%ds)%s\n' "$tag" "$lib" "$ver" $((SECONDS - t0)) \
    "$(sed -n 's/^nettle: built with/, nettle asm:/p' "$log")"
}
