import { createMiddleware } from 'hono/factory'
import type { Logger } from '../observability/log.js'
import type { GatewayMetrics } from '../observability/metrics.js'
import { formatTraceparent, traceContextOf } from '../observability/trace-context.js'
import { gatewayHeaders, readHeader } from '../platform/request-headers.js'
import type { AppEnv, RolloutHooks } from '../types.js'

/** Accepted incoming request ids: printable, bounded, no spaces (they end up in log lines). */
const REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/

export interface RequestContextOptions {
  logger: Logger
  metrics: GatewayMetrics
  /** Known route ids: others are labelled `_unknown` in metrics to bound cardinality. */
  knownRoutes: ReadonlySet<string>
  /** Auto-rollback's view of each finished request of a known route. */
  observe?: RolloutHooks['observe']
}

/**
 * First middleware: request id, trace context, timing, and after the response one JSON access-log line and
 * the per-route metrics.
 */
export function requestContext({ logger, metrics, knownRoutes, observe }: RequestContextOptions) {
  return createMiddleware<AppEnv>(async function requestContext(c, next) {
    const startedAt = performance.now()
    const incomingId = readHeader(c, 'x-request-id')
    const requestId = incomingId && REQUEST_ID.test(incomingId) ? incomingId : crypto.randomUUID()
    c.set('requestId', requestId)
    c.set('startedAt', startedAt)
    c.set('sideEffect', false)
    c.set('logFields', {})
    const trace = traceContextOf(
      readHeader(c, 'traceparent'),
      readHeader(c, 'x-cloud-trace-context'),
    )
    c.set('trace', trace)
    const headers = gatewayHeaders(c)
    headers['x-request-id'] = requestId
    // The caller learns the trace (and the gateway's span) of its request, also on errors.
    headers.traceparent = formatTraceparent(trace)

    await next()

    // c.get, not c.var: Hono's `var` getter copies every variable into a new object per access.
    const route = c.get('route')
    if (!route) return
    const status = c.get('sentStatus') ?? c.res.status
    const served = c.get('backend')
    const backend = served ?? 'gateway'
    const seconds = (performance.now() - startedAt) / 1000
    const label = knownRoutes.has(route.def.id) ? route.def.id : '_unknown'
    metrics.requests.inc({ route: label, backend, status: `${Math.floor(status / 100)}xx` })
    if (status >= 500) metrics.errors.inc({ route: label, backend })
    metrics.duration.observe({ route: label, backend }, seconds)
    if (observe && label !== '_unknown' && served) {
      observe({ routeId: label, backend: served, status, latencyMs: seconds * 1000 })
    }
    const upstreamMs = c.get('upstreamMs')
    if (upstreamMs !== undefined) metrics.upstream.observe({ route: label }, upstreamMs / 1000)
    if (!logger.enabled('info')) return
    const decision = c.get('decision')
    logger.access({
      requestId,
      requestIdFromClient: requestId === incomingId,
      method: c.req.method,
      path: c.req.path,
      route: route.def.id,
      routeKnown: !route.unknown,
      backend,
      reason: decision?.reason,
      bucket: decision?.bucket,
      subjectSource: decision?.subjectSource,
      status,
      latencyMs: Math.round(seconds * 10_000) / 10,
      upstreamMs: upstreamMs === undefined ? undefined : Math.round(upstreamMs * 10) / 10,
      trace,
      extra: c.get('logFields'),
    })
  })
}
