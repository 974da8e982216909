import type { MiddlewareHandler } from 'hono'
import { createMiddleware } from 'hono/factory'
import { formatTraceparent } from '../observability/trace-context.js'
import type { Tracer } from '../observability/tracing.js'
import { gatewayHeaders } from '../platform/request-headers.js'
import { waitUntil } from '../platform/runtime.js'
import type { AppEnv, NativeHandler } from '../types.js'

export interface TraceSpansOptions {
  tracer: Tracer
}

/**
 * The request's server span, around everything after `requestContext` on the routed paths
 * (installed only when OpenTelemetry export is configured). Its id is the gateway's span of
 * the request's trace context, so the `traceparent` the caller gets back names it. A new
 * trace this instance chose to record is marked sampled before anything is sent on, so the
 * legacy function and the vendors record their part too. The request's spans are exported
 * when it ends, under `waitUntil` on Workers.
 */
export function traceSpans({ tracer }: TraceSpansOptions) {
  return createMiddleware<AppEnv>(async function traceSpans(c, next) {
    let trace = c.get('trace')
    if (!trace || !tracer.samples(trace)) return next()
    if (!trace.sampled) {
      trace = { ...trace, sampled: true }
      c.set('trace', trace)
      gatewayHeaders(c).traceparent = formatTraceparent(trace)
    }
    const { exported } = await tracer.request(
      trace,
      `${c.req.method} gateway`,
      () => next(),
      () => {
        const route = c.get('route')
        const status = c.get('sentStatus') ?? c.res.status
        return {
          name: `${c.req.method} ${route ? route.def.id : 'unrouted'}`,
          attributes: {
            'http.request.method': c.req.method,
            'http.response.status_code': status,
            // The route id, never the path: paths carry ids of people and orders.
            'http.route': route?.def.id,
            'bff.request_id': c.get('requestId'),
            'bff.backend': c.get('backend') ?? 'gateway',
            'bff.decision_reason': c.get('decision')?.reason,
          },
          failed: status >= 500,
        }
      },
    )
    waitUntil(c, exported)
  })
}

/** A routed step (the decision) as a span of its own; `step` only acts before `next()`. */
export function spanStep(
  tracer: Tracer,
  name: string,
  step: MiddlewareHandler<AppEnv>,
): MiddlewareHandler<AppEnv> {
  return function tracedStep(c, next) {
    return tracer.span(
      name,
      'internal',
      async () => step(c, next),
      () => {
        const decision = c.get('decision')
        return {
          attributes: {
            'bff.route': c.get('route')?.def.id,
            'bff.decision_backend': decision?.backend,
            'bff.decision_reason': decision?.reason,
            'bff.bucket': decision?.bucket,
          },
        }
      },
    )
  }
}

/** A native handler as a span; the vendor calls it makes are its children. */
export function spanNative(tracer: Tracer, routeId: string, handler: NativeHandler): NativeHandler {
  return function tracedNative(c) {
    return tracer.span(
      `native ${routeId}`,
      'internal',
      () => handler(c),
      ({ result }) => ({
        attributes: { 'bff.route': routeId, 'http.response.status_code': result?.status },
        failed: result === undefined || result.status >= 500,
      }),
    )
  }
}
