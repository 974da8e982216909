import { Hono } from 'hono'
import type { Config } from './config.js'
import { GatewayError } from './errors.js'
import type { Metrics } from './observability/metrics.js'
import { timingSafeEqual } from './platform/timing-safe.js'
import type { AppEnv, Deps } from './types.js'

export interface OpsRoutesOptions {
  config: Config
  metricsRegistry: Metrics
  readiness: NonNullable<Deps['readiness']>
  legacyKind: string
}

const READY_TIMEOUT_MS = 2_000

async function check(probe: () => Promise<boolean | undefined> | boolean | undefined): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), READY_TIMEOUT_MS)
    })
    return (await Promise.race([Promise.resolve().then(probe), timeout])) !== false
  } catch {
    return false
  } finally {
    clearTimeout(timer)
  }
}

/**
 * `/health` (liveness: no dependencies), `/ready` (each dependency reachable), `/metrics`
 * (Prometheus text; with `BFF_ADMIN_TOKEN` set it needs that bearer token, and production
 * without one does not expose it).
 */
export function opsRoutes({ config, metricsRegistry, readiness, legacyKind }: OpsRoutesOptions) {
  const ops = new Hono<AppEnv>()
  const startedAt = Date.now()

  ops.get('/health', (c) =>
    c.json({ status: 'ok', uptimeSeconds: Math.round((Date.now() - startedAt) / 1000) }, 200, {
      'cache-control': 'no-store',
    }),
  )

  ops.get('/ready', async (c) => {
    const names = Object.keys(readiness)
    const results = await Promise.all(names.map((n) => check(readiness[n] as () => boolean)))
    const checks = Object.fromEntries(names.map((n, i) => [n, results[i] ? 'up' : 'down']))
    const ready = results.every(Boolean)
    return c.json(
      { status: ready ? 'ready' : 'not-ready', environment: config.APP_ENV, legacyTransport: legacyKind, checks },
      ready ? 200 : 503,
      { 'cache-control': 'no-store' },
    )
  })

  ops.get('/metrics', (c) => {
    const token = config.BFF_ADMIN_TOKEN
    if (token) {
      const given = c.req.header('authorization')?.replace(/^Bearer\s+/i, '') ?? ''
      if (!timingSafeEqual(given, token)) {
        throw new GatewayError({
          status: 401,
          code: 'unauthorized',
          title: 'Unauthorized',
          detail: 'Metrics need the admin bearer token',
          headers: { 'www-authenticate': 'Bearer realm="bff-metrics"' },
        })
      }
    } else if (config.isProduction) {
      throw new GatewayError({ status: 403, code: 'metrics-disabled', title: 'Forbidden', detail: 'Set BFF_ADMIN_TOKEN to expose metrics' })
    }
    return c.body(metricsRegistry.render(), 200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' })
  })

  return ops
}
