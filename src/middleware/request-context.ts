import type { Logger } from '../observability/log.js'
import type { GatewayMetrics } from '../observability/metrics.js'
import { formatTraceparent, traceContextOf } from '../observability/trace-context.js'
import { gatewayHeaders, readHeader } from '../platform/request-headers.js'
import type { RolloutHooks } from '../types.js'
import { type Layer, layerMiddleware } from './frame.js'

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
 * The outermost layer: request id, trace context, timing, and after the response one JSON
 * access-log line and the per-route metrics.
 */
export function requestContextLayer({
  logger,
  metrics,
  knownRoutes,
  observe,
}: RequestContextOptions): Layer {
  return {
    name: 'requestContext',
    before(c) {
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
      return undefined
    },
    after(c) {
      // c.get, not c.var: Hono's `var` getter copies every variable into a new object per access.
      const route = c.get('route')
      if (!route) return
      const startedAt = c.get('startedAt') as number
      const requestId = c.get('requestId') as string
      const incomingId = readHeader(c, 'x-request-id')
      const trace = c.get('trace')
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
    },
  }
}

/** `requestContextLayer` as a middleware of its own. */
export function requestContext(options: RequestContextOptions) {
  return layerMiddleware(requestContextLayer(options))
}
