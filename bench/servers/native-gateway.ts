import { serve } from '@hono/node-server'
import { nodeTransport } from '../../legacy-proxy/node-transport.js'
import { ROUTE_IDS, ROUTES } from '../../routes/index.js'
import { createApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { createLogger } from '../../src/observability/log.js'
import { compileFlags, staticFlags } from '../../src/rollout/flags.js'
import { createJwtVerifier } from '../../src/security/jwt.js'
import { createRateLimiter } from '../../src/security/ratelimit/index.js'
import { createIoredisAdapter } from '../../src/security/ratelimit/redis-adapter.js'
import type { AppContext } from '../../src/types.js'

/**
 * The gateway app composed as `src/app.ts` composes it, with one native route
 * (`settlement-export`, at 100 %) answering small JSON: request id, access log, secure
 * headers, CORS, route resolution, body limit, JWT verification (`BENCH_JWKS` for ES256,
 * `BENCH_JWT_SECRET` for HS256), the rate limiter (`BENCH_LIMITER`: memory or redis) and the
 * decision all run before the handler.
 */

const env = process.env
const config = loadConfig({
  PORT: env.PORT,
  APP_ENV: 'development',
  LOG_LEVEL: env.LOG_LEVEL ?? 'warn',
  LEGACY_FUNCTIONS_URL: 'http://127.0.0.1:9/functions/v1',
  ALLOWED_ORIGINS: 'https://app.example.com',
  SUPABASE_JWT_SECRET: env.BENCH_JWT_SECRET,
})
const logger = createLogger({ level: config.LOG_LEVEL })
const jwks = env.BENCH_JWKS as string
const identity = createJwtVerifier({
  jwksUrl: 'http://jwks.invalid/auth/v1/.well-known/jwks.json',
  hs256Secret: env.BENCH_JWT_SECRET,
  issuer: 'https://bench.supabase.co/auth/v1',
  fetchImpl: async () => new Response(jwks, { headers: { 'content-type': 'application/json' } }),
})
const redis =
  env.BENCH_LIMITER === 'redis'
    ? createIoredisAdapter(env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379')
    : undefined
const rateLimiter = createRateLimiter({
  store: redis ? 'redis' : 'memory',
  redis,
  timeoutMs: 1_000,
  // Redis is shared with other work: counters of this run only.
  prefix: `bench:${process.pid}:${Date.now()}`,
})
const native = {
  'settlement-export': async (c: AppContext) => c.json({ ok: true }),
}
const table = compileFlags(
  { routes: { 'settlement-export': { native: 100 } } },
  { knownRoutes: ROUTE_IDS, nativeRoutes: new Set(Object.keys(native)) },
  'bench',
  'bench',
)
const app = createApp({
  config,
  routes: ROUTES,
  logger,
  flags: staticFlags(table),
  legacy: nodeTransport({ headersTimeoutMs: 15_000, totalTimeoutMs: 60_000 }),
  native,
  identity,
  rateLimiter,
})
serve({ fetch: app.fetch, port: config.PORT, hostname: '127.0.0.1', overrideGlobalObjects: false })
