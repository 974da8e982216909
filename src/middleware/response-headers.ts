import type { Context, MiddlewareHandler, Next } from 'hono'
import { gatewayHeaders } from '../platform/request-headers.js'
import { applyGatewayHeaders } from '../platform/response-headers.js'
import type { AppEnv } from '../types.js'

/**
 * Puts the gateway's response headers (`c.var.responseHeaders`: request id, `x-bff-backend`,
 * CORS, rate-limit) on the responses the gateway produced itself: native answers, problems,
 * pages. A legacy transport writes them into the proxied response on its own (on Node it sends
 * the response before this runs), merging `Vary` with the upstream's.
 */
export function responseHeaders(): MiddlewareHandler<AppEnv> {
  return async function responseHeaders(c: Context<AppEnv>, next: Next) {
    const headers = gatewayHeaders(c)
    await next()
    if (c.get('sentStatus') !== undefined) return
    try {
      applyGatewayHeaders(c.res.headers, headers)
    } catch {
      // A response straight from `fetch` has immutable headers; nothing was written to it.
      c.res = new Response(c.res.body, c.res)
      applyGatewayHeaders(c.res.headers, headers)
    }
  }
}
