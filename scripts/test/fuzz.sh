#!/usr/bin/env bash
# fuzz.sh SECONDS TARGET... — run each libFuzzer target for SECONDS from its seed corpus
# (test/fuzz/corpus/<name>/), with a scratch corpus under build/fuzz/corpus/<name>/.
set -euo pipefail
secs=$1; shift
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-$top/build}
ok=0; bad=0
for t in "$@"; do
  name=$(basename "$t"); name=${name#fuzz_}
  seeds=$top/test/fuzz/corpus/$name
  work=$build/fuzz/corpus/$name
  mkdir -p "$work" "$seeds"
  if "$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$build/fuzz/crash-$name-" "$work" "$seeds" >"$build/fuzz/$name.log" 2>&1; then
    runs=$(awk -F: '/stat::number_of_executed_units/ {gsub(/ /, "", $NF); print $NF}' "$build/fuzz/$name.log")
    echo "  ok    fuzz_$name: ${runs:-?} runs in ${secs}s"
    ok=$((ok + 1))
  else
    echo "  FAIL  fuzz_$name — log: $build/fuzz/$name.log"; tail -n 30 "$build/fuzz/$name.log" | sed 's/^/        /'
    bad=$((bad + 1))
  fi
done
echo "fuzz: $ok passed, $bad failed"
[ "$bad" -eq 0 ]
