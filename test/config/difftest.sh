#!/usr/bin/env bash
# difftest.sh VMHOST [SEED] [COUNT] — the differential test of the host config (see
# difftest.py and test/README.md): builds the Go reference parser into
# $BUILD/config-diff/, then checks COUNT random documents of series SEED (defaults: 1 and
# 5000) through `VMHOST config show --json` and both reference parsers. The documents stay
# in $BUILD/config-diff/run/ (doc-N.toml; doc-N.v10.toml, the 1.0 twin of a TOML 1.1 one),
# with every mismatch in full in mismatches.txt.
set -euo pipefail
vmhost=$1; seed=${2:-1}; count=${3:-5000}
here=$(cd "$(dirname "$0")" && pwd)
build=${BUILD:-$here/../../build}
case $build in /*) ;; *) build=$PWD/$build ;; esac
out=$build/config-diff
python=${PYTHON:-/usr/bin/python3}
if ! "$python" -c 'import tomllib' 2>/dev/null; then
  echo "difftest.sh: $python has no tomllib (Python 3.11+)" >&2
  exit 1
fi
"$here/build-oracle.sh" "$out/oracle_go"
exec "$python" "$here/difftest.py" --vmhost "$vmhost" --oracle-go "$out/oracle_go" \
  --seed "$seed" --count "$count" --work "$out/run"
