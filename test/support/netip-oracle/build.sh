#!/usr/bin/env bash
# Builds the netip oracle (main.go beside this file: Cilium's filterByIPs on Go's net/netip,
# standard library only, so no download) once per Go version, and prints the binary's path.
#   ${XDG_CACHE_HOME:-$HOME/.cache}/rampart/netip-oracle/<go version>/<source hash>/oracle
# Exit status: 0 with the path printed, 1 when it cannot be built (reason on stderr).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if ! command -v go >/dev/null 2>&1; then
  echo "netip-oracle: cannot build: no 'go' on PATH" >&2
  exit 1
fi
GO_VERSION="$(go env GOVERSION)"
HASH="$(cat "$HERE/main.go" "$HERE/go.mod" | sha256sum | cut -c1-12)"
DIR="${XDG_CACHE_HOME:-$HOME/.cache}/rampart/netip-oracle/${GO_VERSION}/${HASH}"
BIN="$DIR/oracle"
if [[ -x "$BIN" ]]; then
  echo "$BIN"
  exit 0
fi
mkdir -p "$DIR"
cd "$HERE"
if ! env CGO_ENABLED=0 GOFLAGS= GOTOOLCHAIN=local GOWORK=off go build -trimpath -o "$BIN.tmp" .; then
  echo "netip-oracle: cannot build: 'go build' failed" >&2
  rm -f "$BIN.tmp"
  exit 1
fi
mv "$BIN.tmp" "$BIN"
echo "$BIN"
