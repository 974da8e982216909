import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import https from 'node:https'
import { Readable } from 'node:stream'
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response'
import { GatewayError, upstreamTimeout, upstreamUnavailable } from '../src/errors.js'
import { connectionTokens, isForwardableResponseHeader } from './headers.js'
import { type LegacyCall, type LegacyOutcome, type LegacyTransport, serverTiming } from './transport.js'

export interface NodeTransportOptions {
  headersTimeoutMs: number
  totalTimeoutMs: number
  /** Sockets kept per upstream host. */
  maxSockets?: number
  maxFreeSockets?: number
}

interface NodeBindings {
  incoming?: IncomingMessage
  outgoing?: ServerResponse
}

const payloadTooLarge = (limit: number) =>
  new GatewayError({
    status: 413,
    code: 'payload-too-large',
    title: 'Payload too large',
    detail: `The request body exceeds ${limit} bytes`,
  })

/**
 * The Node transport: `node:http` with a keep-alive pool, piping the client's socket straight
 * to the upstream and back. Served through `@hono/node-server`, it writes the response itself
 * (no web-stream conversion on the hot path) and hands Hono the adapter's "already sent" marker;
 * called without a Node request (tests with `app.request`), it answers with a web Response.
 */
export function nodeTransport({
  headersTimeoutMs,
  totalTimeoutMs,
  maxSockets = 256,
  maxFreeSockets = 64,
}: NodeTransportOptions): LegacyTransport {
  const agentOptions = { keepAlive: true, keepAliveMsecs: 1_000, maxSockets, maxFreeSockets, scheduling: 'lifo' as const }
  const httpAgent = new http.Agent(agentOptions)
  const httpsAgent = new https.Agent(agentOptions)

  return {
    kind: 'node-http',
    forward(c, call, onOutcome) {
      const { incoming, outgoing } = (c.env ?? {}) as NodeBindings
      const direct = incoming !== undefined && outgoing !== undefined
      return new Promise<Response>((resolve, reject) => {
        const url = new URL(call.target)
        const isHttps = url.protocol === 'https:'
        const sent = performance.now()
        let settled = false
        let headersArrived = false

        const fail = (error: GatewayError) => {
          if (settled) return
          settled = true
          clearTimeout(headersTimer)
          clearTimeout(totalTimer)
          upstreamReq.destroy()
          reject(error)
        }

        // With headers given as a flat list, node:http adds no Host of its own.
        call.headers.push('host', url.host)
        const upstreamReq = (isHttps ? https : http).request({
          protocol: url.protocol,
          hostname: url.hostname,
          port: url.port || (isHttps ? 443 : 80),
          path: url.pathname + url.search,
          method: call.method,
          headers: call.headers,
          agent: isHttps ? httpsAgent : httpAgent,
        })

        const headersTimer = setTimeout(
          () => fail(upstreamTimeout('The legacy function did not answer in time')),
          headersTimeoutMs,
        )
        const totalTimer = setTimeout(() => {
          if (!headersArrived) fail(upstreamTimeout('The legacy function did not answer in time'))
          else upstreamReq.destroy(new Error('total timeout'))
        }, totalTimeoutMs)

        upstreamReq.on('error', (error: NodeJS.ErrnoException) => {
          if (settled) return
          if (c.req.raw.signal.aborted || (direct && outgoing.destroyed)) {
            fail(upstreamUnavailable('The client went away'))
            return
          }
          fail(upstreamUnavailable('The legacy function could not be reached', error))
        })

        // A client that goes away cancels the upstream request.
        const onClientClose = () => {
          if (!direct || !outgoing.writableFinished) upstreamReq.destroy()
        }
        if (direct) outgoing.once('close', onClientClose)
        else c.req.raw.signal.addEventListener('abort', onClientClose, { once: true })

        upstreamReq.on('response', (upstreamRes) => {
          headersArrived = true
          clearTimeout(headersTimer)
          const headersMs = performance.now() - sent
          const outcome: LegacyOutcome = { status: upstreamRes.statusCode ?? 502, headersMs }
          const headers = responseHeaders(upstreamRes, call, headersMs)
          onOutcome(outcome)
          settled = true
          const done = () => clearTimeout(totalTimer)
          if (direct) {
            outgoing.writeHead(outcome.status, headers)
            upstreamRes.pipe(outgoing)
            upstreamRes.once('error', () => outgoing.destroy())
            upstreamRes.once('aborted', () => outgoing.destroy())
            const finish = () => {
              done()
              resolve(RESPONSE_ALREADY_SENT)
            }
            outgoing.once('finish', finish)
            outgoing.once('close', finish)
          } else {
            upstreamRes.once('end', done)
            upstreamRes.once('close', done)
            const webHeaders = new Headers()
            for (let i = 0; i < headers.length; i += 2) webHeaders.append(headers[i] as string, headers[i + 1] as string)
            const nullBody = call.method === 'HEAD' || [204, 205, 304].includes(outcome.status)
            if (nullBody) upstreamRes.resume()
            resolve(
              new Response(nullBody ? null : (Readable.toWeb(upstreamRes) as ReadableStream<Uint8Array>), {
                status: outcome.status,
                headers: webHeaders,
              }),
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

function responseHeaders(upstreamRes: IncomingMessage, call: LegacyCall, headersMs: number): string[] {
  const raw = upstreamRes.rawHeaders
  const connection = connectionTokens(upstreamRes.headers.connection)
  const overridden = new Set<string>()
  call.responseHeaders.forEach((_, name) => overridden.add(name))
  overridden.add('server-timing')
  const out: string[] = []
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string
    const lower = name.toLowerCase()
    if (!isForwardableResponseHeader(lower, connection) || overridden.has(lower)) continue
    out.push(name, raw[i + 1] as string)
  }
  call.responseHeaders.forEach((value, name) => {
    out.push(name, value)
  })
  out.push('server-timing', serverTiming(headersMs, call.startedAt, performance.now()))
  return out
}

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
    upstreamReq.end()
    return
  }
  let received = 0
  const limit = call.bodyLimitBytes
  source.on('data', (chunk: Buffer) => {
    received += chunk.length
    if (received > limit) {
      source.unpipe(upstreamReq)
      fail(payloadTooLarge(limit))
    }
  })
  source.once('error', () => upstreamReq.destroy())
  source.pipe(upstreamReq)
}
