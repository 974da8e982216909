/**
 * Header policy of the legacy proxy (RFC 9110 section 7.6.1).
 */

/** Hop-by-hop headers never forwarded in either direction. */
export const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
])

/**
 * Request headers the gateway sets itself or must not pass on. `Content-Length` is the
 * transport's to set, from the body it sends (with `Transfer-Encoding`, hop-by-hop anyway).
 */
const DROPPED_REQUEST = new Set([
  'host',
  'content-length',
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-real-ip',
  'cf-connecting-ip',
  'x-bff-backend',
  'x-bff-canary',
  // Trace context: the gateway sends its own child span (`ForwardContext.traceparent`).
  'traceparent',
  'tracestate',
  'x-cloud-trace-context',
  // `Expect: 100-continue` is answered by the gateway's own server; the upstream gets the body
  // as it arrives, without waiting for a 100 of its own.
  'expect',
])

/** Cookies that carry the canary override: the gateway's, not the function's. */
const GATEWAY_COOKIE = /^\s*bff_(backend|canary)=/

export interface ForwardContext {
  /** Host the client addressed (for `X-Forwarded-Host`). */
  host: string
  /** `http` or `https` as the client used it. */
  proto: string
  clientIp: string | undefined
  requestId: string
  /** `traceparent` of the gateway's child span for this call (`outgoingTraceHeaders`). */
  traceparent?: string
  /** The caller's `tracestate`, passed on only when its `traceparent` was continued. */
  tracestate?: string
}

const COMMON_CONNECTION = new Map<string, ReadonlySet<string>>(
  ['keep-alive', 'Keep-Alive', 'close', 'Close'].map((v) => [v, new Set([v.toLowerCase()])]),
)

/** Names listed in `Connection` are hop-by-hop for this message too. */
function connectionTokens(value: string | null | undefined): ReadonlySet<string> | undefined {
  if (!value) return undefined
  // What nearly every message carries: one shared set each instead of a new one per message.
  const common = COMMON_CONNECTION.get(value)
  if (common) return common
  const tokens = new Set<string>()
  for (const t of value.split(',')) {
    const name = t.trim().toLowerCase()
    if (name) tokens.add(name)
  }
  return tokens
}

function stripGatewayCookies(cookie: string): string | undefined {
  if (!cookie.includes('bff_')) return cookie
  const kept = cookie.split(';').filter((part) => !GATEWAY_COOKIE.test(part))
  return kept.length ? kept.join(';').trim() : undefined
}

/**
 * Request headers for the upstream, from the client's as a flat `[name, value, ...]` list, to
 * the same form (Node's raw form keeps repeated headers apart). `Host` comes from the target; `X-Forwarded-*` are overwritten.
 */
export function upstreamRequestHeaders(
  list: readonly string[],
  connection: string | null | undefined,
  ctx: ForwardContext,
): string[] {
  const extra = connectionTokens(connection)
  const out: string[] = []
  for (let i = 0; i < list.length; i += 2) {
    const name = (list[i] as string).toLowerCase()
    const value = list[i + 1] as string
    if (HOP_BY_HOP.has(name) || DROPPED_REQUEST.has(name) || extra?.has(name)) continue
    if (name === 'cookie') {
      const kept = stripGatewayCookies(value)
      if (kept) out.push('cookie', kept)
      continue
    }
    if (name === 'x-request-id') continue
    out.push(name, value)
  }
  if (ctx.clientIp) out.push('x-forwarded-for', ctx.clientIp)
  out.push(
    'x-forwarded-host',
    ctx.host,
    'x-forwarded-proto',
    ctx.proto,
    'x-request-id',
    ctx.requestId,
  )
  if (ctx.traceparent) {
    out.push('traceparent', ctx.traceparent)
    if (ctx.tracestate) out.push('tracestate', ctx.tracestate)
  }
  return out
}

/**
 * Whether an upstream response header may be passed to the client. The gateway owns CORS, so a
 * legacy function answering `Access-Control-Allow-Origin: *` cannot open itself to an origin
 * the allow-list refuses; `x-bff-*` are the gateway's own.
 */
export function isForwardableResponseHeader(
  name: string,
  connection: ReadonlySet<string> | undefined,
): boolean {
  const lower = name.toLowerCase()
  return (
    !HOP_BY_HOP.has(lower) &&
    !connection?.has(lower) &&
    !lower.startsWith('x-bff-') &&
    !lower.startsWith('access-control-')
  )
}

export { connectionTokens }
