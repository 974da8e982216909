import type { Context, MiddlewareHandler, Next } from 'hono'
import { enforceStreamLimit, payloadTooLarge } from '../platform/body-limit.js'
import { readHeader } from '../platform/request-headers.js'
import type { AppEnv } from '../types.js'

/**
 * Enforce the route's `bodyLimitBytes`.
 *
 * A declared `Content-Length` over the limit is refused before the body is read. A body without
 * one (chunked) is wrapped with `enforceStreamLimit`, so it fails with 413 while streaming.
 * On Node the body is left on the socket (wrapping it would make the adapter build a web
 * stream): the Node legacy transport counts a chunked body as it pipes it, and `bufferBody`
 * counts it as it reads it for a native handler, both failing with the same 413.
 */
export function bodyLimit(): MiddlewareHandler<AppEnv> {
  return function bodyLimit(c: Context<AppEnv>, next: Next) {
    const limit = c.get('route')?.def.policy.bodyLimitBytes
    if (limit === undefined) return next()
    const declared = readHeader(c, 'content-length')
    const chunked = readHeader(c, 'transfer-encoding') !== undefined
    if (declared !== undefined && !chunked) {
      // The HTTP parser guarantees the body is no longer than a valid Content-Length.
      if (Number(declared) > limit) reject(c, limit, Number(declared))
      return next()
    }
    if (!chunked && (c.req.method === 'GET' || c.req.method === 'HEAD')) return next()
    if ((c.env as { incoming?: unknown } | undefined)?.incoming) return next()
    const body = c.req.raw.body
    if (body) {
      c.req.raw = new Request(c.req.raw, {
        body: enforceStreamLimit(body, limit),
        // Required by Node's fetch for streaming request bodies.
        duplex: 'half',
      } as RequestInit)
    }
    return next()
  }
}

function reject(c: Context<AppEnv>, limit: number, declared: number): never {
  c.set('logFields', { ...c.get('logFields'), bodyLimitBytes: limit, contentLength: declared })
  throw payloadTooLarge(limit)
}
