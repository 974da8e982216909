import http, { type IncomingMessage } from 'node:http'
import https from 'node:https'
import type { Socket } from 'node:net'
import { Readable } from 'node:stream'
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response'
import type { GatewayError } from '../src/errors.js'
import { BodyCounter, bodyTimeout } from '../src/platform/body-limit.js'
import { appendGatewayHeaders } from '../src/platform/response-headers.js'
import { nodeExchange } from '../src/platform/runtime.js'
import { gatewayProblem, upstreamTimeout, upstreamUnavailable } from '../src/problems.js'
import { connectionTokens, isForwardableResponseHeader } from './headers.js'
import {
  clientClosed,
  type LegacyCall,
  type LegacyOutcome,
  type LegacyTransport,
  serverTiming,
} from './transport.js'

export interface NodeTransportOptions {
  headersTimeoutMs: number
  totalTimeoutMs: number
  /** Sockets kept per upstream host. */
  maxSockets?: number
  /**
   * Idle sockets kept per upstream host; defaults to `maxSockets`. A smaller pool than the
   * sockets in use closes connections as soon as a burst of answers returns them and opens new
   * ones for the next burst: at 256 requests in flight with 64 kept, connecting was the largest
   * single cost on the proxy path. Idle sockets still close after `idleSocketMs`.
   */
  maxFreeSockets?: number
  /**
   * Calls to one legacy function in flight at once (a bulkhead): beyond it the call is refused
   * with 503 at once, so one hanging function cannot hold the whole pool. Defaults to a quarter
   * of `maxSockets`.
   */
  maxPerFunction?: number
  /** A pooled socket with no request on it is closed after this long. */
  idleSocketMs?: number
  /** A socket older than this is closed after its exchange instead of going back to the pool. */
  maxSocketAgeMs?: number
}

const legacyBusy = () =>
  gatewayProblem('legacy-function-busy', {
    detail: 'Too many calls to this legacy function are in flight; retry shortly',
  })

/**
 * Methods for which `node:http` adds `Transfer-Encoding: chunked` on its own when a request has
 * no framing header: they need the headers as an object to go out with no framing at all.
 */
const CHUNKED_BY_DEFAULT = (method: string) =>
  !['GET', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT'].includes(method)

/**
 * The Node transport: `node:http` with a keep-alive pool, piping the client's socket straight
 * to the upstream and back. Served through `@hono/node-server`, it writes the response itself
 * (no web-stream conversion on the hot path) and hands Hono the adapter's "already sent" marker;
 * called without a Node request (tests with `app.request`), it answers with a web Response.
 *
 * The gateway alone frames the upstream request, from the body it actually sends: bytes with a
 * `Content-Length` that matches them, a streamed body with the length the client declared (and
 * exactly that many bytes) or chunked, and no body with neither header, whatever the method. A
 * connection whose exchange did not complete cleanly (an answer before the whole body was sent,
 * a client gone mid-upload, a response cut short) is destroyed, never returned to the pool, and
 * every socket has a bounded life: the call's deadline while in use, `idleSocketMs` in the pool,
 * `maxSocketAgeMs` in all.
 */
export function nodeTransport({
  headersTimeoutMs,
  totalTimeoutMs,
  maxSockets = 256,
  maxFreeSockets = maxSockets,
  maxPerFunction = Math.max(1, Math.floor(maxSockets / 4)),
  idleSocketMs = 4_000,
  maxSocketAgeMs = 60_000,
}: NodeTransportOptions): LegacyTransport {
  const agentOptions = {
    keepAlive: true,
    keepAliveMsecs: 1_000,
    maxSockets,
    maxFreeSockets,
    scheduling: 'lifo' as const,
    // Idle pooled sockets are destroyed by the agent when this fires.
    timeout: idleSocketMs,
  }
  // When each socket was opened: past `maxSocketAgeMs` it is not pooled again, and a pooled
  // one is closed then.
  const born = new WeakMap<object, number>()
  const bounded = <A extends http.Agent>(agent: A): A => {
    const keep = agent.keepSocketAlive.bind(agent)
    agent.keepSocketAlive = (socket) =>
      performance.now() - (born.get(socket) ?? 0) < maxSocketAgeMs && keep(socket)
    // Each socket is recorded once, when the agent opens it, not on every request it serves.
    type Create = (
      options: object,
      callback: (error: Error | null, socket?: Socket) => void,
    ) => Socket | undefined
    const create = (agent.createConnection as unknown as Create).bind(agent)
    const createConnection: Create = (options, callback) => {
      const socket = create(options, callback)
      if (socket) track(socket, agent)
      return socket
    }
    agent.createConnection = createConnection as unknown as typeof agent.createConnection
    return agent
  }
  const track = (socket: Socket, agent: http.Agent) => {
    born.set(socket, performance.now())
    const expire = setTimeout(() => {
      const free = Object.values(agent.freeSockets).some((list) => list?.includes(socket))
      if (free) socket.destroy()
    }, maxSocketAgeMs)
    expire.unref()
    socket.once('close', () => clearTimeout(expire))
  }
  const httpAgent = bounded(new http.Agent(agentOptions))
  const httpsAgent = bounded(new https.Agent(agentOptions))
  const inFlight = new Map<string, number>()

  return {
    kind: 'node-http',
    forward(c, call, onOutcome) {
      const { incoming, outgoing } = nodeExchange(c) ?? {}
      const direct = incoming !== undefined && outgoing !== undefined
      const fn = call.functionName
      const busy = inFlight.get(fn) ?? 0
      if (busy >= maxPerFunction) return Promise.reject(legacyBusy())
      inFlight.set(fn, busy + 1)
      return new Promise<Response>((resolve, reject) => {
        const target = parseTarget(call.target)
        const sent = performance.now()
        let settled = false
        let headersArrived = false
        let released = false
        let upstreamResponse: IncomingMessage | undefined

        const fail = (error: GatewayError) => {
          if (settled) return
          settled = true
          clearTimeout(deadline)
          upstreamReq.destroy()
          reject(error)
        }

        // With headers given as a flat list, node:http adds no Host of its own.
        call.headers.push('host', target.host)
        const headers = frame(call)
        const upstreamReq = (target.https ? https : http).request({
          protocol: target.protocol,
          hostname: target.hostname,
          port: target.port,
          path: target.path,
          method: call.method,
          headers: headers ?? headersObject(call.headers),
          agent: target.https ? httpsAgent : httpAgent,
        })
        // No body and no framing header: nothing may make node:http add one.
        if (headers === undefined) upstreamReq.useChunkedEncodingByDefault = false
        // `on` rather than `once` for events a request or response emits once: no wrapper each.
        upstreamReq.on('close', () => {
          clearTimeout(deadline)
          if (released) return
          released = true
          const left = (inFlight.get(fn) ?? 1) - 1
          if (left > 0) inFlight.set(fn, left)
          else inFlight.delete(fn)
        })

        // One timer per request: it fires at the headers deadline and, when the headers came in
        // time, re-arms itself for what is left of the total.
        const onDeadline = () => {
          if (!headersArrived) {
            // The client is still sending its body: the function cannot be blamed for not
            // answering yet. The body deadline (408) bounds the upload; the headers deadline
            // counts from the moment the body went out whole.
            if (
              call.body === 'stream' &&
              call.bodyDeadline !== undefined &&
              !upstreamReq.writableFinished &&
              !upstreamReq.destroyed
            ) {
              upstreamReq.once('finish', () => {
                if (!settled) deadline = setTimeout(onDeadline, headersTimeoutMs)
              })
              return
            }
            fail(upstreamTimeout('The legacy function did not answer in time'))
            return
          }
          const left = totalTimeoutMs - (performance.now() - sent)
          if (left > 0) deadline = setTimeout(onDeadline, left)
          else upstreamReq.destroy(new Error('total timeout'))
        }
        let deadline = setTimeout(onDeadline, Math.min(headersTimeoutMs, totalTimeoutMs))

        upstreamReq.on('error', (error: NodeJS.ErrnoException) => {
          if (settled) return
          if ((direct && outgoing.destroyed) || c.req.raw.signal.aborted) {
            fail(clientClosed())
            return
          }
          fail(upstreamUnavailable('The legacy function could not be reached', error))
        })

        // One 'close' listener does both jobs: a client that goes away cancels the upstream
        // request, and a finished response settles the call.
        if (direct) {
          outgoing.on('close', () => {
            if (!outgoing.writableFinished || !exchangeComplete(upstreamReq, upstreamResponse))
              upstreamReq.destroy()
            if (headersArrived) resolve(RESPONSE_ALREADY_SENT)
          })
        } else {
          c.req.raw.signal.addEventListener('abort', () => upstreamReq.destroy(), { once: true })
        }

        upstreamReq.on('response', (upstreamRes) => {
          headersArrived = true
          upstreamResponse = upstreamRes
          const headersMs = performance.now() - sent
          const outcome: LegacyOutcome = { status: upstreamRes.statusCode ?? 502, headersMs }
          const headers = responseHeaders(upstreamRes, call, headersMs)
          onOutcome(outcome)
          settled = true
          // A response cut short upstream (reset, total timeout) is cut short for the client too.
          upstreamRes.on('error', () => (direct ? outgoing.destroy() : undefined))
          // An answer that came before the whole request was sent leaves the connection in an
          // unknown state (the rest of the body is still to come): it is not reused.
          upstreamRes.on('end', () => {
            if (!upstreamReq.writableFinished) upstreamReq.destroy()
          })
          if (direct) {
            outgoing.writeHead(outcome.status, headers)
            upstreamRes.pipe(outgoing)
          } else {
            const webHeaders = new Headers()
            for (let i = 0; i < headers.length; i += 2)
              webHeaders.append(headers[i] as string, headers[i + 1] as string)
            const nullBody = call.method === 'HEAD' || [204, 205, 304].includes(outcome.status)
            if (nullBody) upstreamRes.resume()
            resolve(
              new Response(
                nullBody ? null : (Readable.toWeb(upstreamRes) as ReadableStream<Uint8Array>),
                {
                  status: outcome.status,
                  headers: webHeaders,
                },
              ),
            )
          }
        })

        sendBody(c.req.raw, incoming, call, upstreamReq, fail)
      })
    },
    async close() {
      httpAgent.destroy()
      httpsAgent.destroy()
    },
  }
}

/** Whether the request went out whole and its response came back whole. */
function exchangeComplete(
  upstreamReq: http.ClientRequest,
  upstreamRes: IncomingMessage | undefined,
): boolean {
  return upstreamReq.writableFinished && upstreamRes?.complete === true
}

/**
 * Adds the framing header for the body the gateway will send to `call.headers` (which carry no
 * `Content-Length` or `Transfer-Encoding` of the client's) and returns them; returns undefined
 * when there is no body and the method is one node:http would frame as chunked anyway.
 */
function frame(call: LegacyCall): string[] | undefined {
  const { body, headers } = call
  if (body instanceof Uint8Array) headers.push('content-length', String(body.byteLength))
  else if (body === 'stream') {
    if (call.bodyLength !== undefined) headers.push('content-length', String(call.bodyLength))
    else headers.push('transfer-encoding', 'chunked')
  } else if (CHUNKED_BY_DEFAULT(call.method)) return undefined
  return headers
}

/** A flat header list as node:http's object form, repeated names kept as arrays. */
function headersObject(list: readonly string[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (let i = 0; i < list.length; i += 2) {
    const name = list[i] as string
    const value = list[i + 1] as string
    const seen = out[name]
    out[name] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value]
  }
  return out
}

interface UpstreamOrigin {
  protocol: string
  https: boolean
  hostname: string
  port: string | number
  host: string
}

interface UpstreamTarget extends UpstreamOrigin {
  path: string
}

/** Origins of legacy targets, parsed once: there is one per deployment. */
const origins = new Map<string, UpstreamOrigin>()

/**
 * Paths made only of characters the WHATWG URL parser leaves alone, with no dot or percent
 * sign in the path (which could form a dot segment it would resolve); anything else goes
 * through `new URL`, so the upstream sees exactly what it would have seen from it.
 */
const PLAIN_TARGET_PATH = /^\/[\w\-~!$&()*+,;=:@/]*(?:\?[\w\-.~!$&()*+,;=:@/?%]*)?$/

function parseTarget(target: string): UpstreamTarget {
  const slash = target.indexOf('/', target.indexOf('//') + 2)
  const path = slash === -1 ? '/' : target.slice(slash)
  const origin = slash === -1 ? target : target.slice(0, slash)
  let parsed = origins.get(origin)
  if (!parsed) {
    const url = new URL(origin)
    const https = url.protocol === 'https:'
    parsed = {
      protocol: url.protocol,
      https,
      hostname: url.hostname,
      port: url.port || (https ? 443 : 80),
      host: url.host,
    }
    if (origins.size < 16) origins.set(origin, parsed)
  }
  if (!PLAIN_TARGET_PATH.test(path)) {
    const url = new URL(target)
    return withPath(parsed, url.pathname + url.search)
  }
  return withPath(parsed, path)
}

/** The origin's fields with a path, as a literal (one allocation of a fixed shape). */
function withPath(o: UpstreamOrigin, path: string): UpstreamTarget {
  return {
    protocol: o.protocol,
    https: o.https,
    hostname: o.hostname,
    port: o.port,
    host: o.host,
    path,
  }
}

function responseHeaders(
  upstreamRes: IncomingMessage,
  call: LegacyCall,
  headersMs: number,
): string[] {
  const raw = upstreamRes.rawHeaders
  // Read from the raw list: `upstreamRes.headers` would build a second copy of every header.
  let connectionValue: string | undefined
  let upstreamVary: string | undefined
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string
    if (name.length !== 10 && name.length !== 4) continue
    const lower = name.toLowerCase()
    const value = raw[i + 1] as string
    if (lower === 'connection')
      connectionValue = connectionValue === undefined ? value : `${connectionValue}, ${value}`
    else if (lower === 'vary')
      upstreamVary = upstreamVary === undefined ? value : `${upstreamVary}, ${value}`
  }
  const connection = connectionTokens(connectionValue)
  const gateway = call.responseHeaders
  const out: string[] = []
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string
    const lower = name.toLowerCase()
    if (
      !isForwardableResponseHeader(lower, connection) ||
      lower === 'vary' ||
      lower === 'server-timing'
    )
      continue
    if (Object.hasOwn(gateway, lower)) continue
    out.push(name, raw[i + 1] as string)
  }
  appendGatewayHeaders(out, gateway, upstreamVary)
  out.push('server-timing', serverTiming(headersMs, call.startedAt, performance.now()))
  return out
}

/**
 * Sends the body the gateway framed in `frame`. A streamed body is checked against the length
 * it was framed with: a client that stops short (gone mid-upload) or a source that errors
 * destroys the upstream request instead of ending it, so a half-sent request never completes.
 */
function sendBody(
  request: Request,
  incoming: IncomingMessage | undefined,
  call: LegacyCall,
  upstreamReq: http.ClientRequest,
  fail: (error: GatewayError) => void,
): void {
  if (call.body === null) {
    upstreamReq.end()
    return
  }
  if (call.body instanceof Uint8Array) {
    upstreamReq.end(call.body)
    return
  }
  const source: Readable | null = incoming
    ? incoming
    : request.body
      ? Readable.fromWeb(request.body as import('node:stream/web').ReadableStream<Uint8Array>)
      : null
  if (!source) {
    // Framed with a length or chunked: an empty body is complete only when the length is 0.
    if (call.bodyLength === undefined || call.bodyLength === 0) upstreamReq.end()
    else upstreamReq.destroy()
    return
  }
  let ended = false
  const count = new BodyCounter(call.bodyLimitBytes)
  const expected = call.bodyLength
  source.on('data', (chunk: Buffer) => {
    if (count.add(chunk.length)) {
      source.unpipe(upstreamReq)
      fail(count.problem())
      upstreamReq.destroy()
    } else if (expected !== undefined && count.received > expected) {
      source.unpipe(upstreamReq)
      upstreamReq.destroy()
    }
  })
  // The body deadline: a body still arriving then is cut as on the native path (408).
  const deadline = call.bodyDeadline
  const timer =
    deadline === undefined
      ? undefined
      : setTimeout(
          () => {
            if (ended) return
            source.unpipe(upstreamReq)
            const error = bodyTimeout(Math.round(deadline - call.startedAt))
            error.headers.connection = 'close'
            fail(error)
            upstreamReq.destroy()
          },
          Math.max(0, deadline - performance.now()),
        )
  upstreamReq.once('close', () => clearTimeout(timer))
  source.once('end', () => {
    ended = true
    clearTimeout(timer)
    if (expected === undefined || count.received === expected) upstreamReq.end()
    else upstreamReq.destroy()
  })
  source.once('error', () => upstreamReq.destroy())
  source.once('close', () => {
    if (!ended) upstreamReq.destroy()
  })
  source.pipe(upstreamReq, { end: false })
}
