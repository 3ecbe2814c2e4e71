#!/usr/bin/env bash
# run-tests.sh VARIANT TEST... — run cmocka test binaries and sum their results.
#   VARIANT: native | asan | wine (Windows .exe under wine, with a private WINEPREFIX)
# Prints each binary's outcome and a closing "VARIANT: N passed, M failed" line counting
# test cases; exits non-zero when any case or binary failed.
set -uo pipefail
variant=$1; shift
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-$top/build}
case $build in /*) ;; *) build=$PWD/$build ;; esac   # wine needs an absolute WINEPREFIX
run=()
if [ "$variant" = wine ]; then
  loader=$(command -v wine64 || true)
  [ -n "$loader" ] || loader=/usr/lib/wine/wine64
  [ -x "$loader" ] || { echo "run-tests: wine64 loader not found (install wine64)" >&2; exit 1; }
  export WINEPREFIX=${WINEPREFIX:-$build/wineprefix}
  export WINEDEBUG=${WINEDEBUG:--all}
  export WINEDLLOVERRIDES="mscoree,mshtml="
  mkdir -p "$WINEPREFIX"
  run=("$loader")
  wineserver=$(dirname "$loader")/wineserver
  [ -x "$wineserver" ] || wineserver=$(command -v wineserver || echo /usr/lib/wine/wineserver64)
  # One server for the whole run: a server that exits on its idle timeout between two tests
  # can reset the next test's connection ("wine client error: recvmsg: Connection reset by
  # peer"). Persistent here, killed once the last test is done.
  "$wineserver" -p
fi
if [ "$variant" = asan ]; then
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
fi
passed=0; failed=0; skipped=0; bad_bins=()
log_dir=$build/test-logs/$variant
mkdir -p "$log_dir"
for t in "$@"; do
  name=$(basename "$t")
  log=$log_dir/$name.log
  timeout 600 "${run[@]}" "$t" >"$log" 2>&1
  rc=$?
  tr -d '\r' <"$log" >"$log.txt"
  p=$(awk '/^\[  PASSED  \] [0-9]+ test/ {s += $4} END {print s + 0}' "$log.txt")
  f=$(awk '/^\[  FAILED  \] [0-9]+ test/ {s += $4} END {print s + 0}' "$log.txt")
  k=$(awk '/^\[  SKIPPED \] [0-9]+ test/ {s += $4} END {print s + 0}' "$log.txt")
  skipped=$((skipped + k))
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi   # crashed or aborted before a summary
  passed=$((passed + p)); failed=$((failed + f))
  if [ "$rc" -eq 0 ] && [ "$f" -eq 0 ]; then
    printf '  ok    %-32s %4d passed%s\n' "$name" "$p" "$([ "$k" -gt 0 ] && echo ", $k skipped")"
  else
    printf '  FAIL  %-32s %4d passed, %d failed (exit %d) — log: %s\n' "$name" "$p" "$f" "$rc" "$log.txt"
    sed -n '1,200p' "$log.txt" | grep -v '^\[ \(RUN\|       OK\) ' | tail -n 40 | sed 's/^/        /'
    bad_bins+=("$name")
  fi
done
if [ "$variant" = wine ]; then "$wineserver" -k 2>/dev/null; "$wineserver" -w 2>/dev/null || true; fi
echo "$variant: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ ${#bad_bins[@]} -eq 0 ]
