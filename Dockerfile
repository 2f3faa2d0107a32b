# Rampart image: one binary-like entry point (`rampart agent`, `rampart controlplane`, ...).
# Multi-stage: build with the full toolchain, ship only production dependencies and dist/.
# Build: docker build -t ghcr.io/rampart-dev/rampart:0.1.0 .

FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
# Sources (.dockerignore keeps node_modules, dist and caches out of the context).
COPY . .
RUN npx tsgo -p tsconfig.json && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/bin ./bin
# The .proto files are loaded at run time by proto/loader.ts; the dashboard's static files
# are served from the checkout layout.
COPY --from=build /src/proto ./proto
COPY --from=build /src/controlplane/http/static ./controlplane/http/static
# Non-root by default (the control plane); the agent's DaemonSet runs as uid 0 to read
# Cilium's hubble.sock.
USER 65532:65532
ENTRYPOINT ["node", "/app/bin/rampart.js"]
