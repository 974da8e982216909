import { Hono } from 'hono'
import type { Config } from './config.js'
import type { Metrics } from './observability/metrics.js'
import { bearerToken, timingSafeEqual } from './platform/credentials.js'
import { processMemoryMetrics } from './platform/runtime.js'
import { bearerProblem, GATEWAY_PROBLEMS, gatewayProblem } from './problems.js'
import type { AppEnv, ReadinessCheck, ReadinessProbe } from './types.js'

export interface OpsRoutesOptions {
  config: Config
  metricsRegistry: Metrics
  readiness: Record<string, ReadinessCheck>
  legacyKind: string
}

const READY_TIMEOUT_MS = 2_000

async function check(probe: ReadinessProbe): Promise<boolean> {
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

  // 503 only when a critical dependency is down; a degraded-only one (the flag store) answers
  // 200 `degraded`, so a shared outage does not take every instance out of rotation at once.
  ops.get('/ready', async (c) => {
    const entries = Object.entries(readiness)
    const results = await Promise.all(
      entries.map(([, r]) => check(typeof r === 'function' ? r : r.probe)),
    )
    const checks = Object.fromEntries(entries.map(([n], i) => [n, results[i] ? 'up' : 'down']))
    const criticalDown = entries.some(([, r], i) => !results[i] && typeof r === 'function')
    const degraded = results.some((ok) => !ok)
    const status = criticalDown ? 'not-ready' : degraded ? 'degraded' : 'ready'
    return c.json(
      { status, environment: config.APP_ENV, legacyTransport: legacyKind, checks },
      criticalDown ? 503 : 200,
      { 'cache-control': 'no-store' },
    )
  })

  ops.get('/metrics', (c) => {
    const token = config.BFF_ADMIN_TOKEN
    if (token) {
      const given = bearerToken(c.req.header('authorization')) ?? ''
      if (!timingSafeEqual(given, token)) {
        throw bearerProblem(
          GATEWAY_PROBLEMS.get('unauthorized'),
          'Metrics need the admin bearer token',
          { realm: 'bff-metrics' },
        )
      }
    } else if (!config.isDevelopment) {
      throw gatewayProblem('metrics-disabled', { detail: 'Set BFF_ADMIN_TOKEN to expose metrics' })
    }
    // Memory gauges on Node (RSS, heap), so a slow leak shows on the dashboard (and in the soak).
    return c.body(metricsRegistry.render() + processMemoryMetrics(), 200, {
      'content-type': 'text/plain; version=0.0.4; charset=utf-8',
    })
  })

  return ops
}
