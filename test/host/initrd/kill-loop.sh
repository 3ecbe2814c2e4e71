#!/usr/bin/env bash
# kill-loop.sh VMHOST — SIGKILL `VMHOST initrd build` at random points, many times, then
# build once normally: no temporary file may be left (beside the output or in the
# binary-member cache) and the output must be a valid boot initrd (`initrd inspect`: every
# member well formed, the manifest matching the contents).
#
# Inputs are small (a 4 MiB newc base built with `initrd base`, a 2 MiB incompressible
# binary) so that the whole loop takes seconds. Most iterations change the binary and empty
# the cache, so that each killed build is a full build writing both the output's and the
# cache's temporary files; the others leave the inputs alone (an in-place update, or a
# cache hit). Each kill lands at a random moment within the measured length of a build.
#
# Env: KILLS (default 50), TIME_LIMIT seconds for the whole run (default 120),
#      KEEP=1 keeps the work directory. Prints PASS or FAIL with counts; exit 0 on PASS.
set -uo pipefail

vmhost=${1:?usage: kill-loop.sh VMHOST}
kills=${KILLS:-50}
limit=${TIME_LIMIT:-120}
[ -x "$vmhost" ] || { echo "kill-loop: FAIL: $vmhost is not executable"; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/evm-kill-loop.XXXXXX")
cleanup() { [ "${KEEP:-0}" = 1 ] && echo "kill-loop: kept $work" || rm -rf "$work"; }
trap cleanup EXIT
out=$work/out/boot.img
cache=$work/cache
log=$work/build.log
mkdir -p "$work/in" "$work/out"
start=$SECONDS

fail() {
  echo "kill-loop: FAIL: $*"
  [ -s "$log" ] && { echo "--- last build log:"; tail -n 20 "$log"; }
  exit 1
}

# ---- inputs -----------------------------------------------------------------------------
head -c $((4 * 1024 * 1024)) /dev/urandom >"$work/in/payload" || fail "cannot make the payload"
printf 'dir /etc 0755\nfile /etc/payload payload 0644\n' >"$work/in/base.list"
"$vmhost" initrd base --list "$work/in/base.list" --compress none -o "$work/in/base.img" \
  >"$log" 2>&1 || fail "cannot build the base initrd"
head -c $((2 * 1024 * 1024)) /dev/urandom >"$work/in/bin" || fail "cannot make the binary"

# A new binary (its first 16 bytes numbered), so that the next build is a full one.
new_binary() { printf '%016d' "$1" | dd of="$work/in/bin" bs=16 count=1 conv=notrunc status=none; }

# exec: when run in the background, $! is the builder itself, not a subshell around it.
build() {
  exec "$vmhost" initrd build --base "$work/in/base.img" --binary "$work/in/bin" \
    --cache-dir "$cache" -o "$out"
}

temps() { find "$work/out" "$cache" -name '*.tmp-*' 2>/dev/null | wc -l; }

# ---- how long a full build takes here (the window the kills are spread over): the
# quickest of three ----------------------------------------------------------------------
window_ms=
for i in 1 2 3; do
  new_binary "-$i"
  t0=$(date +%s%N)
  (build) >"$log" 2>&1 || fail "a first build failed"
  t1=$(date +%s%N)
  ms=$(((t1 - t0) / 1000000))
  [ -z "$window_ms" ] || [ "$ms" -lt "$window_ms" ] && window_ms=$ms
done
[ "$window_ms" -ge 5 ] || window_ms=5

# ---- the loop -----------------------------------------------------------------------------
killed=0 finished=0 left_max=0 left_total=0
for i in $(seq 1 "$kills"); do
  if [ $((i % 4)) -ne 0 ]; then
    new_binary "$i"
    rm -f "$cache"/*.member "$cache"/*.member.sum
  fi
  before=$(temps)
  left_total=$((left_total + before))
  [ "$before" -gt "$left_max" ] && left_max=$before
  build >"$log" 2>&1 &
  pid=$!
  delay_ms=$((RANDOM % window_ms))
  sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null # (no "Killed" job report)
  status=$?
  if [ "$status" -eq 137 ]; then
    killed=$((killed + 1))
  elif [ "$status" -eq 0 ]; then
    finished=$((finished + 1))
  else
    fail "build $i exited with $status (neither finished nor killed)"
  fi
  [ $((SECONDS - start)) -le "$limit" ] || fail "over the time limit of ${limit}s after $i builds"
done

# ---- one normal build, then the checks ----------------------------------------------------
before=$(temps)
left_total=$((left_total + before))
[ "$before" -gt "$left_max" ] && left_max=$before
new_binary $((kills + 1))
(build) >"$log" 2>&1 || fail "the final build failed"
left=$(temps)
[ "$left" -eq 0 ] ||
  fail "$left temporary files left after the final build, e.g." \
    "$(find "$work/out" "$cache" -name '*.tmp-*' | head -n 3 | tr '\n' ' ')"
"$vmhost" initrd inspect "$out" >"$work/inspect.txt" 2>&1 ||
  { cat "$work/inspect.txt"; fail "initrd inspect of the final output failed"; }
grep -q '^manifest: OK' "$work/inspect.txt" ||
  { cat "$work/inspect.txt"; fail "the final output's manifest was not checked OK"; }
grep -q 'etc/payload' "$work/inspect.txt" || fail "the final output lacks the base's entries"
[ "$killed" -gt 0 ] || fail "no build was killed while running (window ${window_ms} ms)"
# Each kill leaves at most the output's temporary file, a cache member's and a record's:
# more at once means an earlier kill's were not removed.
[ "$left_max" -le 3 ] || fail "up to $left_max temporary files at once: leftovers were not swept"

elapsed=$((SECONDS - start))
echo "kill-loop: PASS: $kills builds SIGKILLed at random points within ${window_ms} ms" \
  "($killed while running, $finished already done); $left_total temporary files found at" \
  "the start of a build and removed by it (at most $left_max at once); final build: 0" \
  "temporary files left, inspect OK; ${elapsed}s"
