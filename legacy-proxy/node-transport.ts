import type { IncomingMessage } from 'node:http'
import { PassThrough, Readable } from 'node:stream'
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response'
import { Client, type Dispatcher } from 'undici'
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
  /** Connections kept per upstream origin (each carries one request at a time). */
  maxSockets?: number
  /**
   * Calls to one legacy function in flight at once (a bulkhead): beyond it the call is refused
   * with 503 at once, so one hanging function cannot hold the whole pool. Defaults to a quarter
   * of `maxSockets`.
   */
  maxPerFunction?: number
  /** A pooled connection with no request on it is closed after this long. */
  idleSocketMs?: number
  /** A connection older than this is not given another request; a new one is opened. */
  maxSocketAgeMs?: number
}

const legacyBusy = () =>
  gatewayProblem('legacy-function-busy', {
    detail: 'Too many calls to this legacy function are in flight; retry shortly',
  })

/** Why the gateway itself cut a call (so its error is not read as the upstream's failure). */
class Cut extends Error {}

/**
 * The Node transport: undici's connection pool to the legacy origin (HTTP/1.1, one request per
 * connection at a time), the client's body streamed to it as it arrives and the answer written
 * straight to the client's socket. Served through `@hono/node-server`, it writes the response
 * itself (no web-stream conversion on the hot path) and hands Hono the adapter's "already sent"
 * marker; called without a Node request (tests with `app.request`), it answers with a web
 * Response.
 *
 * undici rather than `node:http`'s client: the same minimal proxy costs about a third less CPU
 * per request with it (BENCHMARKS.md, "Logging on the proxy path").
 *
 * Framing is the gateway's, from the body it actually sends: bytes with their length, a streamed
 * body with the length the client declared (and exactly that many bytes: undici fails the call
 * and closes the connection on any difference) or chunked, and no body with no framing header
 * (`Content-Length: 0` for POST, PUT and PATCH, which undici adds to those methods, as fetch
 * does). A connection whose exchange did not complete cleanly (an answer before the whole body
 * was sent, a client gone mid-upload, a response cut short, a call the gateway cancelled) is
 * destroyed, never reused, and every connection has a bounded life: the call's deadlines while
 * in use, `idleSocketMs` idle, `maxSocketAgeMs` in all.
 */
export function nodeTransport({
  headersTimeoutMs,
  totalTimeoutMs,
  maxSockets = 256,
  maxPerFunction = Math.max(1, Math.floor(maxSockets / 4)),
  idleSocketMs = 4_000,
  maxSocketAgeMs = 60_000,
}: NodeTransportOptions): LegacyTransport {
  const pools = new Map<string, ConnectionPool>()
  const poolFor = (origin: string): ConnectionPool => {
    let pool = pools.get(origin)
    if (!pool) {
      pool = new ConnectionPool(origin, { maxSockets, idleSocketMs, maxSocketAgeMs })
      pools.set(origin, pool)
    }
    return pool
  }
  const inFlight = new Map<string, number>()

  return {
    kind: 'node-undici',
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
        let ended = false
        let released = false
        let bodySent = call.body !== 'stream'
        // undici's handle on the request once it is on a connection; a cut before that is kept.
        let abortCall: ((error: Error) => void) | undefined
        let cut: Cut | undefined
        let webBody: Readable | undefined
        let resume: (() => void) | undefined

        const pool = poolFor(target.origin)
        let connection: Client | undefined
        /** The connection back to the pool once undici is done with the call. */
        const releaseConnection = (reusable: boolean) => {
          if (!connection) return
          pool.release(connection, reusable)
          connection = undefined
        }
        /** The call's place in the bulkhead, and its deadline. */
        const release = () => {
          if (released) return
          released = true
          clearTimeout(deadline)
          const left = (inFlight.get(fn) ?? 1) - 1
          if (left > 0) inFlight.set(fn, left)
          else inFlight.delete(fn)
        }
        /** Cancel the call: the connection is destroyed, never pooled again. */
        const cancel = (why: string) => {
          if (ended) return
          cut ??= new Cut(why)
          abortCall?.(cut)
        }
        const fail = (error: GatewayError) => {
          if (settled) return
          settled = true
          // A call already on a connection ends in `onError` and frees it there; one still
          // waiting for a connection gives it back unused when it gets one.
          cancel('failed')
          release()
          reject(error)
        }

        // One timer per request: it fires at the headers deadline and, when the headers came in
        // time, re-arms itself for what is left of the total.
        const onDeadline = () => {
          if (!headersArrived) {
            // The client is still sending its body: the function cannot be blamed for not
            // answering yet. The body deadline (408) bounds the upload; the headers deadline
            // counts from the moment the body went out whole.
            if (!bodySent && call.bodyDeadline !== undefined && !ended) {
              waitingForBody = true
              return
            }
            fail(upstreamTimeout('The legacy function did not answer in time'))
            return
          }
          const left = totalTimeoutMs - (performance.now() - sent)
          if (left > 0) deadline = setTimeout(onDeadline, left)
          else cancel('total timeout')
        }
        let waitingForBody = false
        let deadline = setTimeout(onDeadline, Math.min(headersTimeoutMs, totalTimeoutMs))
        const bodyDone = () => {
          bodySent = true
          if (waitingForBody && !settled) {
            waitingForBody = false
            deadline = setTimeout(onDeadline, headersTimeoutMs)
          }
        }

        // A client that goes away cancels the call; a finished response settles it.
        if (direct) {
          outgoing.on('close', () => {
            if (!ended) cancel('client closed')
            if (headersArrived) resolve(RESPONSE_ALREADY_SENT)
            else if (!settled) fail(clientClosed())
          })
        } else {
          c.req.raw.signal.addEventListener('abort', () => cancel('client closed'), { once: true })
        }

        const body = requestBody(c.req.raw, incoming, call, bodyDone, fail)
        const headers = frame(call, target.host)
        const handler: Dispatcher.DispatchHandler = {
          onConnect(abort) {
            abortCall = abort
            if (cut) abort(cut)
          },
          onHeaders(status, rawHeaders, resumeCall) {
            // Informational answers (100 Continue, 103) are not passed on.
            if (status < 200) return true
            headersArrived = true
            resume = resumeCall
            const headersMs = performance.now() - sent
            const outcome: LegacyOutcome = { status, headersMs }
            const out = responseHeaders(rawHeaders, call, headersMs)
            onOutcome(outcome)
            settled = true
            if (direct) {
              outgoing.writeHead(status, out)
              return true
            }
            const webHeaders = new Headers()
            for (let i = 0; i < out.length; i += 2)
              webHeaders.append(out[i] as string, out[i + 1] as string)
            const nullBody = call.method === 'HEAD' || [204, 205, 304].includes(status)
            if (!nullBody) webBody = new Readable({ read: () => resume?.() })
            resolve(
              new Response(
                webBody ? (Readable.toWeb(webBody) as ReadableStream<Uint8Array>) : null,
                { status, headers: webHeaders },
              ),
            )
            return true
          },
          onData(chunk) {
            if (direct) {
              if (outgoing.write(chunk)) return true
              outgoing.once('drain', () => resume?.())
              return false
            }
            return webBody ? webBody.push(chunk) : true
          },
          onComplete() {
            ended = true
            releaseConnection(true)
            release()
            if (direct) outgoing.end()
            else webBody?.push(null)
          },
          onError(error) {
            ended = true
            // The connection's state is unknown: it is closed, never given another call.
            releaseConnection(false)
            release()
            if (headersArrived) {
              // A response cut short upstream (reset, total timeout) is cut short for the client.
              if (direct) outgoing.destroy()
              else webBody?.destroy(error)
              return
            }
            if (settled) return
            if ((direct && outgoing.destroyed) || c.req.raw.signal.aborted) {
              fail(clientClosed())
              return
            }
            fail(upstreamUnavailable('The legacy function could not be reached', error))
          },
        }
        pool.acquire((client) => {
          // Cut while waiting for a connection: the connection goes back unused.
          if (cut || settled) {
            pool.release(client, true)
            return
          }
          connection = client
          client.dispatch(
            { path: target.path, method: call.method as Dispatcher.HttpMethod, headers, body },
            handler,
          )
        })
      })
    },
    async close() {
      await Promise.allSettled([...pools.values()].map((pool) => pool.close()))
      pools.clear()
    },
  }
}

/**
 * Connections to one legacy origin, each an undici `Client` carrying one call at a time:
 * reused last-in first-out, at most `maxSockets`, calls beyond that wait their turn in order.
 * A connection whose call failed or was cut is destroyed, not reused (undici's own pool would
 * reconnect it and leave the new socket idle with no keep-alive timer: nodejs/undici#5845).
 * Idle sockets close after `idleSocketMs` (undici's keep-alive timer, whatever the server's
 * hint), and a connection older than `maxSocketAgeMs` is closed instead of reused.
 */
class ConnectionPool {
  private readonly free: Client[] = []
  private readonly waiting: ((client: Client) => void)[] = []
  private readonly born = new WeakMap<Client, number>()
  private open = 0

  constructor(
    private readonly origin: string,
    private readonly options: { maxSockets: number; idleSocketMs: number; maxSocketAgeMs: number },
  ) {}

  acquire(use: (client: Client) => void): void {
    const now = performance.now()
    for (let client = this.free.pop(); client; client = this.free.pop()) {
      if (
        !client.destroyed &&
        !client.closed &&
        now - (this.born.get(client) ?? 0) < this.options.maxSocketAgeMs
      ) {
        use(client)
        return
      }
      this.discard(client)
    }
    if (this.open < this.options.maxSockets) use(this.connect(now))
    else this.waiting.push(use)
  }

  release(client: Client, reusable: boolean): void {
    if (
      !reusable ||
      client.destroyed ||
      client.closed ||
      performance.now() - (this.born.get(client) ?? 0) >= this.options.maxSocketAgeMs
    ) {
      this.discard(client)
      const next = this.waiting.shift()
      if (next) next(this.connect(performance.now()))
      return
    }
    const next = this.waiting.shift()
    if (next) next(client)
    else this.free.push(client)
  }

  async close(): Promise<void> {
    const all = this.free.splice(0)
    await Promise.allSettled(all.map((client) => client.destroy()))
  }

  private connect(now: number): Client {
    this.open++
    const client = new Client(this.origin, {
      pipelining: 1,
      keepAliveTimeout: this.options.idleSocketMs,
      keepAliveMaxTimeout: this.options.idleSocketMs,
      // The call's own deadlines bound the exchange; undici's would count differently.
      headersTimeout: 0,
      bodyTimeout: 0,
      strictContentLength: true,
    })
    this.born.set(client, now)
    return client
  }

  private discard(client: Client): void {
    this.open--
    client.destroy().catch(() => {})
  }
}

/**
 * The call's headers with the `Host` of the target and the framing of the body it sends, added
 * to `call.headers` (which carry no `Content-Length` or `Transfer-Encoding` of the client's).
 * Bytes and bodiless calls are framed by undici from what it sends; a streamed body carries the
 * length the client declared, or none, and goes out chunked.
 */
function frame(call: LegacyCall, host: string): string[] {
  const { headers } = call
  headers.push('host', host)
  if (call.body === 'stream' && call.bodyLength !== undefined)
    headers.push('content-length', String(call.bodyLength))
  return headers
}

interface UpstreamTarget {
  /** `scheme://host[:port]`, the pool's key. */
  origin: string
  host: string
  path: string
}

/** Origins of legacy targets, parsed once: there is one per deployment. */
const origins = new Map<string, { origin: string; host: string }>()

/**
 * Paths made only of characters the WHATWG URL parser leaves alone, with no dot or percent
 * sign in the path (which could form a dot segment it would resolve); anything else goes
 * through `new URL`, so the upstream sees exactly what it would have seen from it.
 */
const PLAIN_TARGET_PATH = /^\/[\w\-~!$&()*+,;=:@/]*(?:\?[\w\-.~!$&()*+,;=:@/?%]*)?$/

function parseTarget(target: string): UpstreamTarget {
  const slash = target.indexOf('/', target.indexOf('//') + 2)
  const path = slash === -1 ? '/' : target.slice(slash)
  const originText = slash === -1 ? target : target.slice(0, slash)
  let parsed = origins.get(originText)
  if (!parsed) {
    const url = new URL(originText)
    parsed = { origin: url.origin, host: url.host }
    if (origins.size < 16) origins.set(originText, parsed)
  }
  if (PLAIN_TARGET_PATH.test(path)) return { origin: parsed.origin, host: parsed.host, path }
  const url = new URL(target)
  return { origin: parsed.origin, host: parsed.host, path: url.pathname + url.search }
}

/** The client's response headers: the upstream's raw ones the policy passes, and the gateway's. */
function responseHeaders(raw: Buffer[], call: LegacyCall, headersMs: number): string[] {
  const names: string[] = []
  const values: string[] = []
  let connectionValue: string | undefined
  let upstreamVary: string | undefined
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as Buffer).toString('latin1')
    const value = (raw[i + 1] as Buffer).toString('latin1')
    names.push(name)
    values.push(value)
    if (name.length !== 10 && name.length !== 4) continue
    const lower = name.toLowerCase()
    if (lower === 'connection')
      connectionValue = connectionValue === undefined ? value : `${connectionValue}, ${value}`
    else if (lower === 'vary')
      upstreamVary = upstreamVary === undefined ? value : `${upstreamVary}, ${value}`
  }
  const connection = connectionTokens(connectionValue)
  const gateway = call.responseHeaders
  const out: string[] = []
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string
    const lower = name.toLowerCase()
    if (
      !isForwardableResponseHeader(lower, connection) ||
      lower === 'vary' ||
      lower === 'server-timing'
    )
      continue
    if (Object.hasOwn(gateway, lower)) continue
    out.push(name, values[i] as string)
  }
  appendGatewayHeaders(out, gateway, upstreamVary)
  out.push('server-timing', serverTiming(headersMs, call.startedAt, performance.now()))
  return out
}

/**
 * The body undici sends: the buffered bytes, null, or for a streamed body a stream of the
 * client's bytes as they arrive, counted against the route's limit and cut at the body
 * deadline. It is a stream of its own, not the client's request: undici destroys the stream it
 * was given when a call fails, and the client's connection must stay up to get its answer
 * (413, 408). `done` is called when the whole body was handed over.
 */
function requestBody(
  request: Request,
  incoming: IncomingMessage | undefined,
  call: LegacyCall,
  done: () => void,
  fail: (error: GatewayError) => void,
): Uint8Array | Readable | null {
  if (call.body !== 'stream') return call.body
  const source: Readable | null = incoming
    ? incoming
    : request.body
      ? Readable.fromWeb(request.body as import('node:stream/web').ReadableStream<Uint8Array>)
      : null
  const out = new PassThrough()
  if (!source) {
    // Framed with a length or chunked: an empty body is complete only when the length is 0.
    if (call.bodyLength === undefined || call.bodyLength === 0) {
      out.end()
      done()
    } else out.destroy(new Error('the client sent no body'))
    return out
  }
  let ended = false
  const count = new BodyCounter(call.bodyLimitBytes)
  const stop = (error: Error) => {
    source.unpipe(out)
    out.destroy(error)
  }
  source.on('data', (chunk: Buffer) => {
    if (count.add(chunk.length)) {
      fail(count.problem())
      stop(new Error('body over the limit'))
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
            const error = bodyTimeout(Math.round(deadline - call.startedAt))
            error.headers.connection = 'close'
            fail(error)
            stop(new Error('body deadline'))
          },
          Math.max(0, deadline - performance.now()),
        )
  out.once('close', () => clearTimeout(timer))
  source.once('end', () => {
    ended = true
    clearTimeout(timer)
    // undici checks the bytes against a declared length and fails the call on a difference.
    out.end()
    done()
  })
  source.once('error', () => stop(new Error('the client body failed')))
  source.once('close', () => {
    if (!ended) stop(new Error('the client went away mid-upload'))
  })
  source.pipe(out, { end: false })
  return out
}
