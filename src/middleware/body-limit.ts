import type { Context, MiddlewareHandler, Next } from 'hono'
import { enforceStreamLimit, payloadTooLarge } from '../platform/body-limit.js'
import { readHeader } from '../platform/request-headers.js'
import { nodeRequest } from '../platform/runtime.js'
import { gatewayProblem } from '../problems.js'
import type { AppEnv } from '../types.js'

/**
 * Methods whose requests carry no content (RFC 9110 sections 9.3.1, 9.3.2, 9.3.8). A body on
 * them is refused rather than dropped: dropped, its framing would still have to be consumed
 * on the client connection and kept off the upstream one, and no client of ours sends one.
 */
const NO_CONTENT = new Set(['GET', 'HEAD', 'TRACE'])

function bodyNotAllowed(method: string, field: 'content-length' | 'transfer-encoding') {
  return gatewayProblem('body-not-allowed', {
    detail: `A ${method} request carries no body`,
    errors: [{ field: `header:${field}`, message: `not allowed on ${method}` }],
  })
}

/**
 * Enforce the route's `bodyLimitBytes`, set the body deadline (`timeoutMs` from the start of
 * the request: the native path and the legacy transport cut a body still arriving then with
 * 408), and refuse a body on GET, HEAD and TRACE (400
 * `body-not-allowed`).
 *
 * A declared `Content-Length` over the limit is refused before the body is read. A body without
 * one (chunked) is wrapped with `enforceStreamLimit`, so it fails with 413 while streaming.
 * On Node the body is left on the socket (wrapping it would make the adapter build a web
 * stream): the Node legacy transport counts a chunked body as it pipes it, and `bufferBody`
 * counts it as it reads it for a native handler, both failing with the same 413.
 */
export function bodyLimit({ timeoutMs }: { timeoutMs?: number } = {}): MiddlewareHandler<AppEnv> {
  return function bodyLimit(c: Context<AppEnv>, next: Next) {
    if (timeoutMs !== undefined)
      c.set('bodyDeadline', (c.get('startedAt') ?? performance.now()) + timeoutMs)
    const declared = readHeader(c, 'content-length')
    const chunked = readHeader(c, 'transfer-encoding') !== undefined
    // Node's parser refuses this itself; workerd lets it through (RFC 9112 section 6.3 allows
    // either), and a request framed two ways is how smuggling starts.
    if (chunked && declared !== undefined)
      throw gatewayProblem('ambiguous-framing', {
        detail: 'The request has both Transfer-Encoding and Content-Length',
        errors: [{ field: 'header:content-length', message: 'not allowed with Transfer-Encoding' }],
      })
    if (NO_CONTENT.has(c.req.method)) {
      if (chunked) throw bodyNotAllowed(c.req.method, 'transfer-encoding')
      if (declared !== undefined && Number(declared) !== 0)
        throw bodyNotAllowed(c.req.method, 'content-length')
    }
    const limit = c.get('route')?.def.policy.bodyLimitBytes
    if (limit === undefined) return next()
    if (declared !== undefined && !chunked) {
      // The HTTP parser guarantees the body is no longer than a valid Content-Length.
      if (Number(declared) > limit) reject(c, limit, Number(declared))
      return next()
    }
    if (!chunked && (c.req.method === 'GET' || c.req.method === 'HEAD')) return next()
    if (nodeRequest(c)) return next()
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
