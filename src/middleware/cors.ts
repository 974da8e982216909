import type { Context, MiddlewareHandler, Next } from 'hono'
import { gatewayHeaders, readHeader } from '../platform/request-headers.js'
import { gatewayProblem } from '../problems.js'
import type { AppEnv } from '../types.js'
import { type Layer, layerMiddleware } from './frame.js'

/** What supabase-js and our clients send, plus the gateway's own headers. */
export const CORS_ALLOW_HEADERS = [
  'authorization',
  'x-client-info',
  'apikey',
  'content-type',
  'x-retry-count',
  'x-region',
  'traceparent',
  'tracestate',
  'baggage',
  'idempotency-key',
  'x-client-id',
  'x-request-id',
  'x-bff-backend',
  'x-bff-canary',
]

export const CORS_EXPOSE_HEADERS = [
  'x-request-id',
  // W3C trace context of the request, so a browser can link its own telemetry to the trace.
  'traceparent',
  'x-bff-backend',
  'server-timing',
  'ratelimit-limit',
  'ratelimit-remaining',
  'ratelimit-reset',
  'retry-after',
  // The AI routes' remaining daily suggestions, for the client's own UI.
  'x-ai-quota-remaining',
]

export interface CorsOptions {
  /** Exact origins (`https://app.example.com`); `*` admits any origin without credentials. */
  allowedOrigins: readonly string[]
  allowHeaders?: readonly string[]
  exposeHeaders?: readonly string[]
  allowMethods?: readonly string[]
  /** Preflight cache lifetime; Chromium caps it at 7200 s. */
  maxAgeSeconds?: number
}

type OriginVerdict = 'explicit' | 'wildcard' | false

/** Browsers serialize an origin in lower case without its default port (RFC 6454 section 6.1). */
function normalizeOrigin(origin: string): string {
  return origin
    .trim()
    .toLowerCase()
    .replace(/\/+$/, '')
    .replace(/^(https:\/\/[^/]+):443$/, '$1')
    .replace(/^(http:\/\/[^/]+):80$/, '$1')
}

/** Decide whether an `Origin` header value is on the allow-list. */
export function originPolicy(allowedOrigins: readonly string[]): (origin: string) => OriginVerdict {
  const exact = new Set(allowedOrigins.filter((o) => o !== '*').map(normalizeOrigin))
  const wildcard = allowedOrigins.includes('*')
  return (origin) => (exact.has(origin) ? 'explicit' : wildcard ? 'wildcard' : false)
}

/**
 * CORS for every path, with the allow-list decided per request.
 *
 * Preflights (OPTIONS with `Origin` and `Access-Control-Request-Method`) are answered here with
 * 204 and never reach a route or the legacy function. On other responses the gateway owns the
 * CORS headers: whatever a legacy function set is removed first, so a function answering
 * `Access-Control-Allow-Origin: *` cannot open itself to a disallowed origin. Credentials are
 * allowed only for origins listed explicitly (the Fetch standard forbids them with `*`).
 */
export function corsLayer({
  allowedOrigins,
  allowHeaders = CORS_ALLOW_HEADERS,
  exposeHeaders = CORS_EXPOSE_HEADERS,
  allowMethods = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
  maxAgeSeconds = 600,
}: CorsOptions): Layer {
  const verdictOf = originPolicy(allowedOrigins)
  const allowHeadersValue = allowHeaders.join(', ')
  const exposeHeadersValue = exposeHeaders.join(', ')
  const allowMethodsValue = allowMethods.join(', ')

  return { name: 'cors', before: cors }

  function cors(c: Context<AppEnv>): Response | undefined {
    const origin = readHeader(c, 'origin')
    const verdict = origin === undefined ? false : verdictOf(origin)

    if (
      c.req.method === 'OPTIONS' &&
      origin !== undefined &&
      readHeader(c, 'access-control-request-method')
    ) {
      const headers = new Headers({
        vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
      })
      if (verdict) {
        headers.set('access-control-allow-origin', verdict === 'explicit' ? origin : '*')
        if (verdict === 'explicit') headers.set('access-control-allow-credentials', 'true')
        headers.set('access-control-allow-methods', allowMethodsValue)
        headers.set('access-control-allow-headers', allowHeadersValue)
        headers.set('access-control-max-age', String(maxAgeSeconds))
      }
      return c.body(null, 204, Object.fromEntries(headers))
    }

    // Into the gateway's response headers, so they reach every kind of response: legacy ones
    // through the transport, which also drops any access-control-* header a legacy function
    // sends (the gateway owns CORS) and merges Vary; native ones and problems at the end.
    const headers = gatewayHeaders(c)
    headers.vary = 'Origin'
    if (verdict && origin !== undefined) {
      headers['access-control-allow-origin'] = verdict === 'explicit' ? origin : '*'
      if (verdict === 'explicit') headers['access-control-allow-credentials'] = 'true'
      headers['access-control-expose-headers'] = exposeHeadersValue
    }
    return undefined
  }
}

/** `corsLayer` as a middleware of its own. */
export function cors(options: CorsOptions): MiddlewareHandler<AppEnv> {
  return layerMiddleware(corsLayer(options))
}

export interface StrictOriginOptions {
  allowedOrigins: readonly string[]
}

/**
 * For routes whose policy sets `strictOrigin` (checkout, pledge): a request carrying an
 * `Origin` that is not allowed is refused with 403 before any work. CORS alone only stops a
 * browser from reading the answer, not the side effect of a simple POST. Requests without
 * `Origin` (the Flutter app, servers) are not browser cross-origin requests and pass.
 */
export function strictOrigin({ allowedOrigins }: StrictOriginOptions): MiddlewareHandler<AppEnv> {
  const verdictOf = originPolicy(allowedOrigins)
  return function strictOrigin(c: Context<AppEnv>, next: Next) {
    const origin = readHeader(c, 'origin')
    if (origin !== undefined && c.get('route')?.def.policy.strictOrigin && !verdictOf(origin)) {
      throw gatewayProblem('origin-not-allowed', {
        detail: 'This route accepts browser requests only from the allowed origins',
        errors: [{ field: 'header:origin', message: 'not in the allowed origins' }],
      })
    }
    return next()
  }
}
