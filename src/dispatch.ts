import { upstreamRequestHeaders } from '../legacy-proxy/headers.js'
import { legacyTarget } from '../legacy-proxy/target.js'
import type { LegacyTransport } from '../legacy-proxy/transport.js'
import { AppError, GatewayError } from './errors.js'
import { type ErrorReporter, requestErrorContext } from './observability/error-report.js'
import { errorFields, type Logger } from './observability/log.js'
import type { GatewayMetrics } from './observability/metrics.js'
import type { Tracer } from './observability/tracing.js'
import { bufferBody } from './platform/body.js'
import { gatewayHeaders, headerList, legacyTrace, readHeader } from './platform/request-headers.js'
import type { NativeBreakers } from './rollout/breaker.js'
import { fallbackVerdict } from './rollout/fallback.js'
import type { FlagSource } from './rollout/flags.js'
import type { ShadowTraffic } from './rollout/shadow.js'
import { clientAddress } from './security/client-ip.js'
import { legacyShadowCall, nativeShadowRunner, observe, snapshotRequest } from './shadow-call.js'
import type { AppContext, Backend, NativeHandler } from './types.js'

export interface DispatchOptions {
  legacyFunctionsUrl: string
  legacy: LegacyTransport
  native: Readonly<Record<string, NativeHandler>>
  breakers: NativeBreakers
  /** Largest body kept for a replay to legacy. */
  replayBufferBytes: number
  trustedIpHeader: string | undefined
  metrics: GatewayMetrics
  logger: Logger
  /** Spans of the legacy call, when OpenTelemetry export is configured. */
  tracer?: Tracer
  /** Where a native crash replayed to legacy is reported (Sentry), when configured. */
  errorReporter?: ErrorReporter
  /** Shadow traffic for read-only routes (the flag table's `shadow` percentages). */
  shadow?: {
    traffic: ShadowTraffic
    flags: FlagSource
    /** A transport that answers with a `Response` (fetch), used for shadowed legacy answers. */
    observableLegacy: LegacyTransport
    timeoutMs: number
    fetch?: typeof fetch
    random?: () => number
  }
}

const BODYLESS = new Set(['GET', 'HEAD'])

/**
 * The length the client framed its body with; undefined when it is chunked. The HTTP parser
 * has already refused a request framed both ways or with a malformed length.
 */
function declaredLength(c: AppContext): number | undefined {
  if (readHeader(c, 'transfer-encoding') !== undefined) return undefined
  const declared = readHeader(c, 'content-length')
  return declared === undefined ? undefined : Number(declared)
}

/** `stream` when the client framed a body (a length or chunked), null when it sent none. */
function streamedBody(c: AppContext): 'stream' | null {
  return readHeader(c, 'transfer-encoding') !== undefined ||
    readHeader(c, 'content-length') !== undefined
    ? 'stream'
    : null
}

/**
 * The scheme the client used. Behind the platform's proxy (Cloud Run terminates TLS; a trusted
 * client-IP header is configured) that proxy's `X-Forwarded-Proto` says it; otherwise a client
 * could claim anything, and the request URL is what the gateway itself saw.
 */
function forwardedProto(c: AppContext, url: string, trustedIpHeader: string | undefined): string {
  if (trustedIpHeader) {
    const claimed = readHeader(c, 'x-forwarded-proto')
    if (claimed === 'https' || claimed === 'http') return claimed
  }
  return url.startsWith('https:') ? 'https' : 'http'
}

/**
 * Steps 7 and 8 of the request path: run the native handler or forward to legacy, and replay a
 * failed native attempt to legacy when the fallback rules allow it.
 */
export function createDispatcher(opts: DispatchOptions) {
  // Not `async`: it returns the transport's promise as it is (one promise fewer per proxied
  // request); every caller is an async function, so a throw here still becomes a rejection.
  function forwardLegacy(
    c: AppContext,
    backend: Backend,
    body: Uint8Array | 'stream' | null,
    transport: LegacyTransport = opts.legacy,
  ): Promise<Response> {
    const route = c.get('route') as NonNullable<AppContext['var']['route']>
    const url = c.req.url
    const q = url.indexOf('?')
    const target = legacyTarget(
      opts.legacyFunctionsUrl,
      route.name,
      route.rest,
      q === -1 ? '' : url.slice(q),
    )
    c.set('backend', backend)
    const responseHeaders = gatewayHeaders(c)
    responseHeaders['x-bff-backend'] = backend
    const trace = legacyTrace(c)
    const headers = upstreamRequestHeaders(headerList(c), readHeader(c, 'connection'), {
      host: readHeader(c, 'host') ?? new URL(url).host,
      proto: forwardedProto(c, url, opts.trustedIpHeader),
      clientIp: clientAddress(c, { trustedIpHeader: opts.trustedIpHeader }),
      requestId: c.get('requestId'),
      ...trace,
    })
    const forward = () =>
      transport.forward(
        c,
        {
          target,
          functionName: route.name,
          method: c.req.method,
          headers,
          body,
          bodyLength: body === 'stream' ? declaredLength(c) : undefined,
          responseHeaders,
          startedAt: c.get('startedAt'),
          bodyLimitBytes: route.def.policy.bodyLimitBytes,
          bodyDeadline: c.get('bodyDeadline'),
        },
        (outcome) => {
          c.set('upstreamMs', outcome.headersMs)
          c.set('sentStatus', outcome.status)
        },
      )
    if (!opts.tracer) return forward()
    // The span's id is the one the function receives in `traceparent`.
    return opts.tracer.clientSpan(`legacy ${route.name}`, trace.traceparent, forward, (o) => {
      const status = o.result ? (c.get('sentStatus') ?? o.result.status) : undefined
      return {
        attributes: {
          'bff.legacy_function': route.name,
          'bff.backend': backend,
          'http.request.method': c.req.method,
          'http.response.status_code': status,
        },
        failed: status === undefined || status >= 500,
      }
    })
  }

  async function runNative(c: AppContext, handler: NativeHandler): Promise<Response> {
    const route = c.get('route') as NonNullable<AppContext['var']['route']>
    const { def } = route
    const method = c.req.method
    const contentLength = Number(readHeader(c, 'content-length') ?? Number.NaN)
    const bodyReplayable =
      BODYLESS.has(method) ||
      def.policy.bodyLimitBytes <= opts.replayBufferBytes ||
      contentLength <= opts.replayBufferBytes
    if (bodyReplayable) await bufferBody(c)

    c.set('backend', 'native')
    gatewayHeaders(c)['x-bff-backend'] = 'native'
    let response: Response | undefined
    let failure: unknown
    try {
      response = await handler(c)
    } catch (error) {
      if (error instanceof GatewayError && error.status < 500) {
        opts.breakers.success(def.id)
        throw error
      }
      failure = error
    }
    const status = response?.status ?? (failure instanceof GatewayError ? failure.status : 500)
    if (status < 500 && response) {
      opts.breakers.success(def.id)
      return response
    }

    opts.breakers.failure(def.id)
    const verdict = fallbackVerdict({
      replay: def.policy.replay,
      sideEffect: c.get('sideEffect'),
      bodyReplayable,
      status,
    })
    const logFields = {
      requestId: c.get('requestId'),
      route: def.id,
      nativeStatus: status,
      verdict: verdict.reason,
      ...(failure ? errorFields(failure) : {}),
    }
    if (verdict.replay) {
      opts.metrics.fallbacks.inc({ route: def.id, reason: verdict.reason })
      opts.logger.warn('native failed, replaying to legacy', logFields)
      // The client is served by legacy, but a throw that is not one of the gateway's own errors
      // is a bug in the native code: reported like the 500 it would otherwise have been.
      if (failure !== undefined && !(failure instanceof AppError)) {
        opts.errorReporter?.report(failure, requestErrorContext(c, 'replayed-to-legacy'))
      }
      c.set('logFields', { ...c.get('logFields'), fallback: verdict.reason, nativeStatus: status })
      return forwardLegacy(c, 'legacy-fallback', BODYLESS.has(method) ? null : await bufferBody(c))
    }
    opts.metrics.fallbackRefused.inc({ route: def.id, reason: verdict.reason })
    opts.logger.error('native failed, no fallback', logFields)
    if (response) return response
    throw failure
  }

  const shadow = opts.shadow
  const nativeShadowCall = shadow && nativeShadowRunner(opts.native)

  /** Whether this request is shadowed: a read-only route with a shadow share, under the caps. */
  function shadowed(c: AppContext, handler: NativeHandler | undefined): boolean {
    if (!shadow || !handler) return false
    const { def } = c.get('route') as NonNullable<AppContext['var']['route']>
    // Only the flag's own choice is shadowed: an override or a hold is someone's deliberate pick.
    if (!def.policy.readOnly || c.get('decision')?.reason !== 'flag') return false
    const percent = shadow.flags.current().routes.get(def.id)?.shadow ?? 0
    if (percent <= 0 || (shadow.random ?? Math.random)() * 100 >= percent) return false
    const length = Number(readHeader(c, 'content-length') ?? 0)
    if (length > opts.replayBufferBytes) return false
    return shadow.traffic.admit(def.id)
  }

  /** Serve as usual, then send the copy to the other backend once the answer is on its way. */
  async function dispatchShadowed(
    c: AppContext,
    handler: NativeHandler,
    native: boolean,
  ): Promise<Response> {
    const s = shadow as NonNullable<typeof shadow>
    const { def } = c.get('route') as NonNullable<AppContext['var']['route']>
    const body = BODYLESS.has(c.req.method) ? null : await bufferBody(c)
    const copy = snapshotRequest(c, body, {
      functionsUrl: opts.legacyFunctionsUrl,
      clientIp: clientAddress(c, { trustedIpHeader: opts.trustedIpHeader }),
      proto: forwardedProto(c, c.req.url, opts.trustedIpHeader),
    })
    const response = native
      ? await runNative(c, handler)
      : await forwardLegacy(c, 'legacy', body, s.observableLegacy)
    // A native failure replayed to legacy has nothing left to compare.
    if (native && c.get('backend') !== 'native') return response
    // Read the client's copy as the client reads it, so a queued comparison holds no stream.
    const served = observe(response.clone())
    served.catch(() => {})
    const done = s.traffic.run(
      def.id,
      native ? 'native' : 'legacy',
      def.policy.compare,
      async () =>
        native
          ? {
              native: await served,
              legacy: await legacyShadowCall(copy, { timeoutMs: s.timeoutMs, fetch: s.fetch }),
            }
          : {
              native: await (nativeShadowCall as NonNullable<typeof nativeShadowCall>)(copy),
              legacy: await served,
            },
    )
    try {
      c.executionCtx.waitUntil(done)
    } catch {
      // Node has no execution context: the shadow queue keeps the call alive.
    }
    return response
  }

  return async function dispatch(c: AppContext): Promise<Response> {
    const route = c.get('route') as NonNullable<AppContext['var']['route']>
    const decision = c.get('decision')
    const handler = opts.native[route.def.id]
    const native = decision?.backend === 'native' && !!handler && opts.breakers.allow(route.def.id)
    if (shadow && shadowed(c, handler)) {
      return dispatchShadowed(c, handler as NativeHandler, native)
    }
    if (native) return runNative(c, handler as NativeHandler)
    const method = c.req.method
    const body = BODYLESS.has(method) ? null : (c.get('bufferedBody') ?? streamedBody(c))
    return forwardLegacy(c, 'legacy', body)
  }
}
