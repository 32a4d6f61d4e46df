# Wasl: multi-stage build on Node 20 slim; runs as a non-root user.
FROM node:20-slim AS build
WORKDIR /app
# better-sqlite3 builds from source when no prebuilt binary can be fetched.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
COPY scripts ./scripts
COPY tsconfig.json ./
COPY common ./common
COPY nodes ./nodes
COPY transformers ./transformers
COPY connectors ./connectors
COPY engine ./engine
COPY test ./test
COPY bench ./bench
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

FROM node:20-slim
ENV NODE_ENV=production PORT=1880 MLLP_PORT=2575 WASL_DATA_DIR=/data
WORKDIR /app
RUN groupadd --system wasl && useradd --system --gid wasl --home /app wasl && mkdir -p /data && chown wasl:wasl /data
COPY --from=build --chown=wasl:wasl /app/node_modules ./node_modules
COPY --from=build --chown=wasl:wasl /app/dist ./dist
COPY --chown=wasl:wasl package.json channels.yaml ./
COPY --chown=wasl:wasl bin ./bin
COPY --chown=wasl:wasl flows ./flows
# Claims reference data read at run time: rules, code sets, CMS fee schedule, the denial model.
COPY --chown=wasl:wasl transformers/claims/data ./transformers/claims/data
# NUCC provider taxonomy for NPPES lookups.
COPY --chown=wasl:wasl connectors/nppes/data ./connectors/nppes/data
USER wasl
VOLUME ["/data"]
EXPOSE 1880 2575
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||1880)+'/api/v1/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# The same Node.js flags as `npm start` (package.json): a 64 MB young generation, see docs/architecture.md.
CMD ["node", "--max-semi-space-size=64", "dist/engine/main.js"]
