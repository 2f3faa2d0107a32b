#!/usr/bin/env bash
# Builds cilium-judge (main.go here: Cilium's own policy engine behind a JSON-lines protocol,
# the judge of the differential test) from the pinned Cilium module in go.mod, the same
# version test/support/hubble-cli/build.sh builds the hubble CLI from. Once per machine: the
# binary is cached outside the repo under a hash of this folder's sources,
#   ${XDG_CACHE_HOME:-$HOME/.cache}/rampart/cilium-judge/<hash>/cilium-judge
# and its path is printed on stdout (logs go to stderr).
# Exit status: 0 with the path printed, 1 when it cannot be built (reason on stderr).
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
HASH="$(cat "$HERE/main.go" "$HERE/go.mod" "$HERE/go.sum" | sha256sum | cut -c1-16)"
CACHE_ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/rampart/cilium-judge/${HASH}"
BIN="${CACHE_ROOT}/cilium-judge"

if [[ -x "$BIN" ]]; then
  echo "$BIN"
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "cilium-judge: cannot build: no 'go' on PATH" >&2
  exit 1
fi
mkdir -p "$CACHE_ROOT"
exec 9>"${CACHE_ROOT}/.build.lock"
# Another process may be building the same sources: wait for it instead of building twice.
flock 9
if [[ -x "$BIN" ]]; then
  echo "$BIN"
  exit 0
fi
echo "cilium-judge: building against the pinned Cilium module (several minutes once)" >&2
cd "$HERE"
# -mod=readonly: go.sum is committed, so the build uses exactly the recorded module versions.
if ! nice -n 10 env CGO_ENABLED=0 GOFLAGS=-mod=readonly go build -trimpath -ldflags "-s -w" -o "${BIN}.tmp" .; then
  echo "cilium-judge: cannot build: 'go build' failed in test/support/cilium-judge" >&2
  rm -f "${BIN}.tmp"
  exit 1
fi
mv "${BIN}.tmp" "$BIN"
echo "$BIN"
