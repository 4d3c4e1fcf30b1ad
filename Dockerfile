# syntax=docker/dockerfile:1.7
# One image, several entry points (docs/processes.md). The chart picks the process with `args`:
#   gateway     node dist/apps/gateway/main.js             (gRPC 50051, ops 9464)
#   cell        node dist/apps/cell/main.js serve          (gRPC 50061, ops 9465)
#   migrations  node dist/apps/cell/main.js migrate
#   relay       node dist/apps/relay/main.js               (ops 9466)
#   cellctl     node dist/apps/cellctl/main.js <command>
# The runtime stage runs as an unprivileged user, writes nothing outside /tmp (so a read-only root
# filesystem works), and holds only the compiled apps and the production dependencies.

# Build: compile every deployed app with the workspace's own build (nx -> tsc + tsc-alias).
FROM node:20.20.2-bookworm-slim AS build
ENV NX_DAEMON=false \
    NX_NO_CLOUD=true
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY . .
RUN npx nx run-many -t build --projects=gateway,cell,relay,cellctl --parallel=1 \
 && test -f dist/apps/gateway/main.js \
 && test -f dist/apps/cell/main.js \
 && test -f dist/apps/relay/main.js \
 && test -f dist/apps/cellctl/main.js

# Production dependencies only, installed exactly from the lock file.
FROM node:20.20.2-bookworm-slim AS dependencies
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts \
 && npm cache clean --force

# Runtime: the same pinned base, no build tools, no npm at run time.
FROM node:20.20.2-bookworm-slim AS runtime
ENV NODE_ENV=production \
    NODE_OPTIONS=--enable-source-maps
WORKDIR /app
COPY --from=dependencies --chown=root:root /src/node_modules ./node_modules
COPY --from=build --chown=root:root /src/dist/apps ./dist/apps
COPY --chown=root:root package.json ./
LABEL org.opencontainers.image.title="cellpay" \
      org.opencontainers.image.description="cellpay gateway, cell, relay, migrations and cellctl" \
      io.cellpay.entrypoint.gateway="dist/apps/gateway/main.js" \
      io.cellpay.entrypoint.cell="dist/apps/cell/main.js" \
      io.cellpay.entrypoint.relay="dist/apps/relay/main.js" \
      io.cellpay.entrypoint.cellctl="dist/apps/cellctl/main.js"
USER 10001:10001
EXPOSE 50051 50061 9464 9465 9466
# Outside Kubernetes (which uses the chart's probes) the liveness endpoint of whichever process
# runs: CELLPAY_OPS_PORT is set per process, 9464 is the gateway's default.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.CELLPAY_OPS_PORT || '9464') + '/healthz').then((response) => process.exit(response.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node"]
CMD ["dist/apps/gateway/main.js"]
