# Rampart image: one entry point (`rampart agent`, `rampart controlplane`, ...) on Node 24 LTS.
# Multi-stage: build with the full toolchain, ship only production dependencies and dist/.
# Build: docker build -t ghcr.io/rampart-dev/rampart:0.1.0 .
#
# Runs as a non-root numeric user (so `runAsNonRoot` can verify it) and writes nothing to
# its root filesystem: the control plane's only scratch files (Kubernetes mode's per-term
# history, file mode's --state) go under /tmp or the --state folder, which the manifests
# mount as volumes (deploy/controlplane/deployment.yaml: readOnlyRootFilesystem: true).
# NOTE: the code also runs on Node 20 (package.json engines), which is why
# @kubernetes/client-node stays on 1.4.x.

ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
# Sources (.dockerignore keeps node_modules, dist and caches out of the context).
COPY . .
RUN npx tsgo -p tsconfig.json && npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    # No npm at run time: keep its cache and update check away from the read-only root.
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    HOME=/tmp
WORKDIR /app
COPY --from=build --chown=0:0 /src/package.json ./
COPY --from=build --chown=0:0 /src/node_modules ./node_modules
COPY --from=build --chown=0:0 /src/dist ./dist
COPY --from=build --chown=0:0 /src/bin ./bin
# The .proto files are loaded at run time by proto/loader.ts; the dashboard's static files
# are served from the checkout layout.
COPY --from=build --chown=0:0 /src/proto ./proto
COPY --from=build --chown=0:0 /src/controlplane/http/static ./controlplane/http/static
# Files owned by root and not writable by the runtime user: the image content cannot change.
# The control plane runs as 65532; the agent's DaemonSet runs as uid 0 to read Cilium's
# hubble.sock.
USER 65532:65532
# gRPC (agents), HTTP (API, dashboard, /metrics, /readyz), agent metrics.
EXPOSE 9967 9968 9966
ENTRYPOINT ["node", "/app/bin/rampart.js"]
CMD ["--help"]
