#!/usr/bin/env bash
# Builds (once per machine) the kube-apiserver, kube-controller-manager, kubectl and etcd binaries the
# `kube` test project runs against, from pinned upstream Go modules fetched through the Go module proxy, and caches
# them outside the repository. Prints the cache directory on the last line of stdout.
#
#   test/support/kube/build.sh            # build or find cached binaries
#   RAMPART_KUBE_CACHE=/some/dir build.sh # cache somewhere else
#
# k8s.io/kubernetes is not meant to be required as a module: its go.mod points every k8s.io
# staging module at ./staging/src/... with replace directives, which are ignored outside
# the main module. A small wrapper module therefore requires k8s.io/kubernetes at the
# pinned version and replaces each staging module with its published v0.<minor>.<patch>
# tag, the same mapping the upstream release uses.
#
# etcd: Debian's etcd-server is 3.4, older than the 3.5+ that Kubernetes 1.34 supports, so
# an etcd already on PATH is used only when it is 3.5 or newer; otherwise etcd is built from
# go.etcd.io/etcd/server/v3 at the version k8s.io/kubernetes itself requires.
set -euo pipefail

KUBE_VERSION="${RAMPART_KUBE_VERSION:-v1.34.4}"
ETCD_VERSION="${RAMPART_ETCD_VERSION:-v3.6.4}"
CACHE_ROOT="${RAMPART_KUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rampart/kube}"
OUT="$CACHE_ROOT/$KUBE_VERSION"
LOG="$OUT/build.log"

say() { echo "kube-build: $*" >&2; }
fail() {
  say "CANNOT BUILD: $*"
  [[ -f "$LOG" ]] && { say "last lines of $LOG:"; tail -n 30 "$LOG" >&2; }
  exit 1
}

command -v go >/dev/null || fail "no 'go' toolchain on PATH (need Go >= 1.24 for Kubernetes $KUBE_VERSION)"
command -v openssl >/dev/null || fail "no 'openssl' on PATH (needed at start-up to generate certificates)"
mkdir -p "$OUT" || fail "cannot create cache directory $OUT"

# Serialise concurrent builds (two test runs on one machine) on a lock in the cache dir.
exec 9>"$OUT/.lock"
flock 9

staging_minor="v0.${KUBE_VERSION#v1.}" # v1.34.4 -> v0.34.4

# The wrapper module both Kubernetes binaries build in (created once, reused).
kube_module() {
  local dir="$OUT/src/apiserver"
  [[ -f "$dir/go.mod" ]] && return 0
  rm -rf "$dir" && mkdir -p "$dir"
  say "fetching k8s.io/kubernetes@$KUBE_VERSION go.mod through the module proxy"
  local modfile
  modfile=$(cd "$dir" && go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" 2>>"$LOG" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p') ||
    fail "could not download k8s.io/kubernetes@$KUBE_VERSION through the module proxy ($(go env GOPROXY))"
  [[ -f "$modfile" ]] || fail "could not download k8s.io/kubernetes@$KUBE_VERSION"
  {
    echo "module rampart.dev/kube-build/apiserver"
    echo
    echo "go 1.24.0"
    echo
    echo "require k8s.io/kubernetes $KUBE_VERSION"
    echo
    echo "replace ("
    # Every `k8s.io/x => ./staging/src/k8s.io/x` becomes `k8s.io/x => k8s.io/x v0.<minor>.<patch>`.
    sed -n 's#^[[:space:]]*\(k8s\.io/[^[:space:]]*\) => \./staging/src/.*#\t\1 => \1 '"$staging_minor"'#p' "$modfile"
    echo ")"
  } >"$dir/go.mod.tmp"
  mv "$dir/go.mod.tmp" "$dir/go.mod"
}

# build_kube <command>: k8s.io/kubernetes/cmd/<command> at the pinned version into $OUT/<command>.
build_kube() {
  local cmd="$1"
  kube_module
  local dir="$OUT/src/apiserver"
  local ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$(echo "$KUBE_VERSION" | cut -d. -f2)"
    ldflags+=" -X $pkg.gitTreeState=clean"
  done
  say "building $cmd $KUBE_VERSION (this takes a while on a small machine)"
  (cd "$dir" && GOFLAGS=-mod=mod nice -n 10 go get "k8s.io/kubernetes/cmd/$cmd@$KUBE_VERSION" >>"$LOG" 2>&1) ||
    fail "go get k8s.io/kubernetes/cmd/$cmd@$KUBE_VERSION failed"
  (cd "$dir" && GOFLAGS=-mod=mod CGO_ENABLED=0 nice -n 10 go build -trimpath -ldflags "$ldflags" \
    -o "$OUT/$cmd.tmp" "k8s.io/kubernetes/cmd/$cmd" >>"$LOG" 2>&1) ||
    fail "go build k8s.io/kubernetes/cmd/$cmd failed"
  mv "$OUT/$cmd.tmp" "$OUT/$cmd"
}

etcd_on_path_ok() {
  command -v etcd >/dev/null || return 1
  local v
  v=$(etcd --version 2>/dev/null | sed -n 's/^etcd Version: \([0-9]*\)\.\([0-9]*\).*/\1 \2/p')
  [[ -n "$v" ]] || return 1
  read -r major minor <<<"$v"
  ((major > 3 || (major == 3 && minor >= 5)))
}

build_etcd() {
  local dir="$OUT/src/etcd"
  rm -rf "$dir" && mkdir -p "$dir"
  printf 'module rampart.dev/kube-build/etcd\n\ngo 1.24.0\n' >"$dir/go.mod"
  say "building etcd $ETCD_VERSION from go.etcd.io/etcd/server/v3"
  (cd "$dir" && GOFLAGS=-mod=mod nice -n 10 go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >>"$LOG" 2>&1) ||
    fail "go get go.etcd.io/etcd/server/v3@$ETCD_VERSION failed"
  (cd "$dir" && GOFLAGS=-mod=mod CGO_ENABLED=0 nice -n 10 go build -trimpath -ldflags "-s -w" \
    -o "$OUT/etcd.tmp" go.etcd.io/etcd/server/v3 >>"$LOG" 2>&1) ||
    fail "go build go.etcd.io/etcd/server/v3 failed"
  mv "$OUT/etcd.tmp" "$OUT/etcd"
}

start=$(date +%s)
built=0
if [[ ! -x "$OUT/etcd" ]]; then
  if etcd_on_path_ok; then
    ln -sf "$(command -v etcd)" "$OUT/etcd"
    say "using $(command -v etcd) ($(etcd --version | head -n1))"
  else
    build_etcd
    built=1
  fi
fi
# kubectl too: the kube tests drive the real client (kubectl wait, plugin discovery) at the
# same version as the server.
for cmd in kube-apiserver kube-controller-manager kubectl; do
  if [[ ! -x "$OUT/$cmd" ]]; then
    build_kube "$cmd"
    built=1
  fi
  if [[ "$cmd" == kubectl ]]; then
    "$OUT/$cmd" version --client >/dev/null 2>&1 || fail "$OUT/$cmd does not run"
  else
    "$OUT/$cmd" --version >/dev/null 2>&1 || fail "$OUT/$cmd does not run"
  fi
done
"$OUT/etcd" --version >/dev/null 2>&1 || fail "$OUT/etcd does not run"

if ((built)); then
  secs=$(($(date +%s) - start))
  echo "$secs" >"$OUT/first-build-seconds"
  say "first build took ${secs}s; binaries cached in $OUT"
else
  say "using cached binaries in $OUT (first build took $(cat "$OUT/first-build-seconds" 2>/dev/null || echo '?')s)"
fi
say "$("$OUT/kube-apiserver" --version), $("$OUT/kube-controller-manager" --version), $("$OUT/etcd" --version | head -n1)"
echo "$OUT"
