#!/usr/bin/env bash
# Builds the upstream `hubble` CLI from a pinned Cilium module version through the Go module
# proxy, once per machine, and prints the binary's path on stdout (logs go to stderr).
#
# The CLI lives in the cilium/cilium module (package ./hubble). `go install <pkg>@<version>`
# refuses modules whose go.mod has replace directives (cilium's does), so the module source
# is downloaded with `go mod download`, copied to a scratch dir and built there as the main
# module. The binary is cached outside the repo:
#   ${XDG_CACHE_HOME:-$HOME/.cache}/rampart/hubble/<version>/hubble
# Exit status: 0 with the path printed, 1 when it cannot be built (reason on stderr).
set -euo pipefail

VERSION="${RAMPART_HUBBLE_CILIUM_VERSION:-v1.19.4}"
MODULE="github.com/cilium/cilium"
CACHE_ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/rampart/hubble/${VERSION}"
BIN="${CACHE_ROOT}/hubble"

if [[ -x "$BIN" ]]; then
  echo "$BIN"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  echo "hubble-cli: cannot build: no 'go' on PATH" >&2
  exit 1
fi

mkdir -p "$CACHE_ROOT"
LOCK="${CACHE_ROOT}/.build.lock"
exec 9>"$LOCK"
# Another process may be building the same version: wait for it instead of building twice.
flock 9
if [[ -x "$BIN" ]]; then
  echo "$BIN"
  exit 0
fi

echo "hubble-cli: downloading ${MODULE}@${VERSION} through the Go module proxy" >&2
if ! SRC_JSON="$(go mod download -json "${MODULE}@${VERSION}")"; then
  echo "hubble-cli: cannot build: 'go mod download ${MODULE}@${VERSION}' failed" >&2
  exit 1
fi
SRC_DIR="$(printf '%s' "$SRC_JSON" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' | head -n1)"
if [[ -z "$SRC_DIR" || ! -d "$SRC_DIR/hubble" ]]; then
  echo "hubble-cli: cannot build: module source has no hubble/ package (dir '${SRC_DIR}')" >&2
  exit 1
fi

WORK="$(mktemp -d "${CACHE_ROOT}/src.XXXXXX")"
trap 'chmod -R u+w "$WORK" 2>/dev/null || true; rm -rf "$WORK"' EXIT
cp -R "$SRC_DIR/." "$WORK/"
chmod -R u+w "$WORK"

echo "hubble-cli: building ${MODULE}/hubble@${VERSION} (this takes several minutes once)" >&2
cd "$WORK"
MODFLAG="-mod=mod"
if [[ -f vendor/modules.txt ]]; then MODFLAG="-mod=vendor"; fi
if ! nice -n 10 env CGO_ENABLED=0 GOFLAGS= go build "$MODFLAG" -trimpath \
  -ldflags "-s -w" -o "${BIN}.tmp" ./hubble; then
  echo "hubble-cli: cannot build: 'go build ./hubble' failed for ${MODULE}@${VERSION}" >&2
  rm -f "${BIN}.tmp"
  exit 1
fi
mv "${BIN}.tmp" "$BIN"
echo "$BIN"
