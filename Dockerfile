# Cloud Run image of the gateway: build stage bundles src/entries/node.ts, runtime stage has production
# dependencies only and runs as the unprivileged `node` user. Cloud Run sets PORT (8080).

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Dependency install scripts are not needed to build (esbuild ships its binary as a package).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts ./scripts
COPY src ./src
COPY routes ./routes
COPY legacy-proxy ./legacy-proxy
COPY flags.json ./
RUN npm run build

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    APP_ENV=production \
    PORT=8080
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY flags.json flags.schema.json ./
COPY supabase/migrations ./supabase/migrations
# The embedded database (development only) writes under .data; nothing else is writable.
RUN mkdir -p .data && chown node:node .data
USER node
EXPOSE 8080
# Cloud Run sends SIGTERM and allows 10 s: the entry drains in-flight requests within 9 s.
STOPSIGNAL SIGTERM
CMD ["node", "dist/node.js"]
