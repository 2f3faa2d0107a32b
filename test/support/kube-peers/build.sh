#!/usr/bin/env bash
# Builds (once per machine) the Go peers the kube tests drive besides the API server:
#   helm     helm.sh/helm/v3/cmd/helm at the version go.mod pins (a `tool` of this module)
#   kstatus  kstatus/main.go: sigs.k8s.io/cli-utils' kstatus verdict for objects on stdin
# Both come from this module, so go.sum pins every dependency and the k8s.io packages match
# the v0.34.4 the API server build compiles (the Go build cache is shared). Cached outside
# the repo, keyed by the sources, and printed as one directory on the last line of stdout:
#   ${XDG_CACHE_HOME:-$HOME/.cache}/rampart/kube-peers/<go version>/<source hash>/{helm,kstatus}
# Exit status: 0 with the directory printed, 1 when a peer cannot be built (reason on stderr).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
say() { echo "kube-peers: $*" >&2; }
command -v go >/dev/null 2>&1 || { say "cannot build: no 'go' on PATH"; exit 1; }

GO_VERSION="$(go env GOVERSION)"
HASH="$(cat "$HERE/build.sh" "$HERE/go.mod" "$HERE/go.sum" "$HERE/kstatus/main.go" | sha256sum | cut -c1-12)"
OUT="${XDG_CACHE_HOME:-$HOME/.cache}/rampart/kube-peers/${GO_VERSION}/${HASH}"
mkdir -p "$OUT"
exec 9>"$OUT/.lock"
flock 9 # a second test run waits for the first build instead of building twice

build() { # build <name> <package> [ldflags]
  local name="$1" pkg="$2" ldflags="-s -w ${3:-}"
  [[ -x "$OUT/$name" ]] && return 0
  say "building $name from $pkg (several minutes the first time)"
  if ! (cd "$HERE" && nice -n 10 env CGO_ENABLED=0 GOFLAGS=-mod=readonly GOTOOLCHAIN=local GOWORK=off \
    go build -trimpath -ldflags "$ldflags" -o "$OUT/$name.tmp" "$pkg" >>"$OUT/build.log" 2>&1); then
    say "cannot build $name; last lines of $OUT/build.log:"
    tail -n 20 "$OUT/build.log" >&2
    rm -f "$OUT/$name.tmp"
    exit 1
  fi
  mv "$OUT/$name.tmp" "$OUT/$name"
}

build kstatus ./kstatus
# helm prints its version from a linker variable (its release builds set it the same way).
HELM_VERSION="$(cd "$HERE" && GOFLAGS=-mod=readonly GOWORK=off go list -m -f '{{.Version}}' helm.sh/helm/v3)"
build helm helm.sh/helm/v3/cmd/helm "-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
"$OUT/helm" version --short >/dev/null 2>&1 || { say "$OUT/helm does not run"; exit 1; }
echo "$OUT"
