#!/usr/bin/env bash
# build-oracle.sh OUT — builds the Go reference parser of the differential test
# (test/config/oracle_go) into OUT, offline: GOPATH mode over Debian's
# /usr/share/gocode (golang-github-burntsushi-toml-dev), no module proxy, no network.
set -euo pipefail
out=$1
case $out in /*) ;; *) out=$PWD/$out ;; esac # go wants an absolute GOCACHE
here=$(cd "$(dirname "$0")" && pwd)
lib=/usr/share/gocode/src/github.com/BurntSushi/toml
die() { echo "build-oracle.sh: $*" >&2; exit 1; }
command -v go >/dev/null || die "go not found (Debian package golang-go)"
[ -d "$lib" ] || die "$lib missing (Debian package golang-github-burntsushi-toml-dev)"
mkdir -p "$(dirname "$out")"
cache=$(dirname "$out")/gocache
GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= GOPROXY=off GOTOOLCHAIN=local \
  GOCACHE="$cache" CGO_ENABLED=0 go build -o "$out" "$here/oracle_go/main.go"
