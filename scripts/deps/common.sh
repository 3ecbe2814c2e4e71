# deps-common.sh — sourced by scripts/deps/{win,musl,musl-host}.sh: builds one library from its
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

# deps_srcdir TAG PKG — prints the unpacked source dir of a bookworm source package
# (scripts/deps/debsrc.sh). When the newest version's files are missing on the mirror (seen
# with security updates), falls back to the next older version that downloads, unpacked
# where debsrc.sh caches it. Fetches into the shared $deps/src are serialised between
# dependency builders by $deps/.debsrc.lock. Needs: top, deps, logs.
# shellcheck disable=SC2010  # ls | grep over Debian's plain tarball names
deps_srcdir() {
  local tag=$1 pkg=$2 log=$logs/$1-src-$2.log d
  exec 8>"$deps/.debsrc.lock"
  flock 8
  if d=$("$top/scripts/deps/debsrc.sh" "$pkg" 2>"$log"); then flock -u 8; echo "$d"; return 0; fi
  local aptdir=$deps/apt
  local opts=(-o "Dir::Etc::SourceParts=$aptdir/sources.list.d" -o "Dir::Etc::SourceList=$aptdir/sources.list"
              -o "Dir::State::Lists=$aptdir/lists" -o "Dir::Cache=$aptdir/cache" -o "APT::Get::Only-Source=true"
              -o "Debug::NoLocking=true" -o "APT::Sandbox::User=root")
  local v
  for v in $(apt-cache "${opts[@]}" showsrc "$pkg" 2>/dev/null | awk '/^Version:/ {print $2}' | sort -V -r | sed 1d); do
    local up=${v#*:}; up=${up%-*}
    local dest=$deps/src/$pkg-$up dl=$deps/dl/$pkg-$v
    if [ -f "$dest/.debsrc-ok" ]; then flock -u 8; echo "$dest"; return 0; fi
    rm -rf "$dl" && mkdir -p "$dl"
    if (cd "$dl" && apt-get -qq "${opts[@]}" source --download-only "$pkg=$v") >>"$log" 2>&1; then
      local orig
      orig=$(ls "$dl"/*.orig.tar.* 2>/dev/null | grep -v '\.asc$' | head -n 1 || true)
      [ -n "$orig" ] || orig=$(ls "$dl"/*.tar.* | grep -v '\.asc$' | grep -v debian.tar | head -n 1)
      rm -rf "$dest.tmp" && mkdir -p "$dest.tmp"
      tar -xf "$orig" -C "$dest.tmp" --strip-components=1
      touch "$dest.tmp/.debsrc-ok"
      rm -rf "$dest" && mv "$dest.tmp" "$dest"
      flock -u 8
      echo "deps-$tag: $pkg: newest version not downloadable, using $v" >&2
      echo "$dest"
      return 0
    fi
  done
  flock -u 8
  echo "deps-$tag: cannot fetch source package $pkg; see $log" >&2
  tail -n 20 "$log" >&2
  return 1
}
