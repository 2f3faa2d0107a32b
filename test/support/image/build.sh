#!/usr/bin/env bash
# Builds the repository's Dockerfile with podman on the stand-in base image (base.sh), as
# this machine runs podman (podman.sh), and prints the image name on the last line of stdout.
# The image is tagged by a hash of the build context and the base image, so an unchanged
# checkout reuses it; older test images are removed to keep the vfs storage bounded.
# Exit status: 0 with the image name printed, 1 when it cannot be built (reason on stderr).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
# shellcheck source=podman.sh
source "$HERE/podman.sh"
say() { echo "image: $*" >&2; }
BASE="$(bash "$HERE/base.sh" | tail -n 1)" || { say "cannot build: no base image"; exit 1; }
BASE_ID="$(podman_ image inspect --format '{{.Id}}' "$BASE")"
# What the build sees: the files git knows (tracked and untracked, not ignored), which is the
# context less .dockerignore's node_modules, dist and caches.
HASH="$(
  cd "$REPO"
  {
    echo "$BASE_ID"
    git ls-files -co --exclude-standard -z | sort -z | xargs -0 sha256sum 2>/dev/null || true
  } | sha256sum | cut -c1-16
)"
IMAGE="localhost/rampart:test-$HASH"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/rampart/image"
mkdir -p "$CACHE"
exec 9>"$CACHE/.build.lock"
flock 9
if podman_ image exists "$IMAGE"; then
  echo "$IMAGE"
  exit 0
fi
say "building $IMAGE from Dockerfile on $BASE (npm ci and tsgo inside: a few minutes)"
LOG="$CACHE/build-$HASH.log"
# A machine that reaches the npm registry through its own CA (NODE_EXTRA_CA_CERTS, as Node
# itself reads it) lends that CA to the build's RUN steps: a global npmrc naming it, mounted
# for the build only (volumes never become layers).
BUILD_MOUNTS=()
if [[ -n "${NODE_EXTRA_CA_CERTS:-}" && -f "$NODE_EXTRA_CA_CERTS" ]]; then
  printf 'cafile=/etc/rampart-build/ca.crt\n' >"$CACHE/build-npmrc"
  BUILD_MOUNTS=(-v "$NODE_EXTRA_CA_CERTS:/etc/rampart-build/ca.crt:ro" -v "$CACHE/build-npmrc:/usr/local/etc/npmrc:ro")
fi
# --network host: the build stage's `npm ci` reaches the npm registry as this machine does.
if ! nice -n 10 podman "${PODMAN_GLOBAL[@]}" build "${PODMAN_ULIMITS[@]}" "${BUILD_MOUNTS[@]}" --network host --layers=false \
  --build-arg "NODE_IMAGE=$BASE" -t "$IMAGE" -f "$REPO/Dockerfile" "$REPO" >"$LOG" 2>&1; then
  say "cannot build; last lines of $LOG:"
  tail -n 30 "$LOG" >&2
  exit 1
fi
rm -f "$LOG"
for old in $(podman_ images --format '{{.Repository}}:{{.Tag}}' | grep '^localhost/rampart:test-' | grep -v ":test-$HASH\$" || true); do
  podman_ rmi -f "$old" >/dev/null 2>&1 || true
done
podman_ image prune -f >/dev/null 2>&1 || true
echo "$IMAGE"
