#!/usr/bin/env bash
# check-layers.sh BINARY:OWN_LIB:FORBIDDEN_LIB ... — the symbol boundary between the layers
# (docs/development.md): the host agent contains no guest code and the guest's PID 1 no host
# code. For each entry, BINARY must define none of the global symbols FORBIDDEN_LIB defines,
# and, so that the check cannot pass by looking at the wrong names, it must define at least
# one global symbol of OWN_LIB. Prints one line per binary and "layers: N passed, M failed".
set -uo pipefail
[ $# -gt 0 ] || { echo "usage: check-layers.sh BINARY:OWN_LIB:FORBIDDEN_LIB ..." >&2; exit 2; }

# Global symbols a static library or a binary defines (text, data, bss, read-only).
defined() { nm -g --defined-only "$1" 2>/dev/null | awk 'NF == 3 && $2 ~ /^[TDBRtdbr]$/ {print $3}' | sort -u; }

passed=0; failed=0
for entry in "$@"; do
  IFS=: read -r bin own forbidden <<<"$entry"
  name=$(basename "$bin")
  for f in "$bin" "$own" "$forbidden"; do
    [ -f "$f" ] || { echo "  FAIL  $name: $f missing"; failed=$((failed + 1)); continue 2; }
  done
  have=$(defined "$bin")
  mine=$(comm -12 <(echo "$have") <(defined "$own") | wc -l)
  leaked=$(comm -12 <(echo "$have") <(defined "$forbidden"))
  if [ "$mine" -eq 0 ]; then
    echo "  FAIL  $name: defines no symbol of $(basename "$own") — wrong binary or stripped?"
    failed=$((failed + 1))
  elif [ -n "$leaked" ]; then
    echo "  FAIL  $name: contains $(echo "$leaked" | wc -l) symbol(s) of $(basename "$forbidden"):"
    echo "$leaked" | head -n 20 | sed 's/^/          /'
    failed=$((failed + 1))
  else
    echo "  ok    $name: $mine symbols of $(basename "$own"), none of $(basename "$forbidden")"
    passed=$((passed + 1))
  fi
done
echo "layers: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
