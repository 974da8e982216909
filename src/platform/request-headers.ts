import { outgoingTraceHeaders } from '../observability/trace-context.js'
import type { AppContext } from '../types.js'
import { nodeRequest } from './runtime.js'

/**
 * Header access that stays cheap on Node: @hono/node-server builds a web `Headers` object on
 * first access to `c.req.raw.headers`, so when the Node request is at hand we read its
 * already-parsed headers instead. On Workers this is plain `Headers`.
 */

/** One request header (lower-case name); repeated headers are joined with `, `. */
export function readHeader(c: AppContext, name: string): string | undefined {
  const incoming = nodeRequest(c)
  if (incoming) {
    const value = incoming.headers[name]
    return Array.isArray(value) ? value.join(', ') : value
  }
  return c.req.raw.headers.get(name) ?? undefined
}

/**
 * Whether the client sent header `name` (lower case) more than once. Node keeps the first
 * `Authorization` and drops the rest from `headers`, so the raw list is counted; a web
 * `Headers` joins repeats with `, `.
 */
export function repeatedHeader(c: AppContext, name: string): boolean {
  const incoming = nodeRequest(c)
  if (incoming) {
    const raw = incoming.rawHeaders
    let seen = 0
    for (let i = 0; i < raw.length; i += 2)
      if ((raw[i] as string).length === name.length && (raw[i] as string).toLowerCase() === name)
        seen++
    return seen > 1
  }
  return c.req.raw.headers.get(name)?.includes(',') ?? false
}

/**
 * All request headers as a flat `[name, value, ...]` list, repeated ones kept apart on Node
 * (where this is the parser's own `rawHeaders`, not a copy: read it, never change it).
 */
export function headerList(c: AppContext): readonly string[] {
  const incoming = nodeRequest(c)
  if (incoming) return incoming.rawHeaders
  const out: string[] = []
  for (const [name, value] of c.req.raw.headers) out.push(name, value)
  return out
}

/** All request headers as `[name, value]` pairs, repeated ones kept apart on Node. */
export function* headerEntries(c: AppContext): Generator<[string, string]> {
  const incoming = nodeRequest(c)
  if (incoming) {
    const raw = incoming.rawHeaders
    for (let i = 0; i < raw.length; i += 2) yield [raw[i] as string, raw[i + 1] as string]
    return
  }
  yield* c.req.raw.headers.entries()
}

/**
 * The gateway's response headers of this request (see `Variables.responseHeaders`); a fresh
 * record when no `requestContext` ran (middleware tested on its own).
 */
export function gatewayHeaders(c: AppContext): Record<string, string> {
  let headers = c.get('responseHeaders')
  if (!headers) {
    headers = {}
    c.set('responseHeaders', headers)
  }
  return headers
}

/**
 * Trace context for a call the gateway makes to a legacy function on behalf of this request:
 * the `traceparent` of a new child span of the request's, and the caller's `tracestate` when
 * its `traceparent` was continued (a restarted trace drops it, as the W3C specification asks).
 */
export function legacyTrace(c: AppContext): { traceparent?: string; tracestate?: string } {
  const trace = c.get('trace')
  if (!trace) return {}
  const { traceparent } = outgoingTraceHeaders(trace)
  const tracestate = trace.source === 'traceparent' ? readHeader(c, 'tracestate') : undefined
  return tracestate ? { traceparent, tracestate } : { traceparent }
}
