import type { MiddlewareHandler } from 'hono'
import { gatewayHeaders } from '../platform/request-headers.js'
import { applyGatewayHeaders } from '../platform/response-headers.js'
import type { AppEnv } from '../types.js'
import { type Layer, layerMiddleware } from './frame.js'

/**
 * Puts the gateway's response headers (`c.var.responseHeaders`: request id, `x-bff-backend`,
 * CORS, rate-limit) on the responses the gateway produced itself: native answers, problems,
 * pages. A legacy transport writes them into the proxied response on its own (on Node it sends
 * the response before this runs), merging `Vary` with the upstream's.
 */
export const responseHeadersLayer: Layer = {
  name: 'responseHeaders',
  before(c) {
    gatewayHeaders(c)
    return undefined
  },
  after(c) {
    if (c.get('sentStatus') !== undefined) return
    const headers = gatewayHeaders(c)
    try {
      applyGatewayHeaders(c.res.headers, headers)
    } catch {
      // A response straight from `fetch` has immutable headers; nothing was written to it.
      c.res = new Response(c.res.body, c.res)
      applyGatewayHeaders(c.res.headers, headers)
    }
  },
}

/** `responseHeadersLayer` as a middleware of its own. */
export function responseHeaders(): MiddlewareHandler<AppEnv> {
  return layerMiddleware(responseHeadersLayer)
}
