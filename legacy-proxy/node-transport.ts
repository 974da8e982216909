import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import https from 'node:https'
import { Readable } from 'node:stream'
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response'
import { GatewayError, upstreamTimeout, upstreamUnavailable } from '../src/errors.js'
import { payloadTooLarge } from '../src/platform/body-limit.js'
import { mergeVary } from '../src/platform/response-headers.js'
import { connectionTokens, isForwardableResponseHeader } from './headers.js'
import {
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
  maxFreeSockets?: number
}

interface NodeBindings {
  incoming?: IncomingMessage
  outgoing?: ServerResponse
}

/** Nobody reads this answer; the status (nginx's 499) is for the access log and metrics. */
const clientClosed = () =>
  new GatewayError({
    status: 499,
    code: 'client-closed',
    title: 'Client closed the request',
    detail: 'The client went away before the legacy function answered',
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
  const agentOptions = {
    keepAlive: true,
    keepAliveMsecs: 1_000,
    maxSockets,
    maxFreeSockets,
    scheduling: 'lifo' as const,
  }
  const httpAgent = new http.Agent(agentOptions)
  const httpsAgent = new https.Agent(agentOptions)

  return {
    kind: 'node-http',
    forward(c, call, onOutcome) {
      const { incoming, outgoing } = (c.env ?? {}) as NodeBindings
      const direct = incoming !== undefined && outgoing !== undefined
      return new Promise<Response>((resolve, reject) => {
        const target = parseTarget(call.target)
        const sent = performance.now()
        let settled = false
        let headersArrived = false

        const fail = (error: GatewayError) => {
          if (settled) return
          settled = true
          clearTimeout(deadline)
          upstreamReq.destroy()
          reject(error)
        }

        // With headers given as a flat list, node:http adds no Host of its own.
        call.headers.push('host', target.host)
        const upstreamReq = (target.https ? https : http).request({
          protocol: target.protocol,
          hostname: target.hostname,
          port: target.port,
          path: target.path,
          method: call.method,
          headers: call.headers,
          agent: target.https ? httpsAgent : httpAgent,
        })

        // One timer per request: it fires at the headers deadline and, when the headers came in
        // time, re-arms itself for what is left of the total.
        const onDeadline = () => {
          if (!headersArrived) {
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
          outgoing.once('close', () => {
            if (!outgoing.writableFinished) upstreamReq.destroy()
            if (headersArrived) {
              clearTimeout(deadline)
              resolve(RESPONSE_ALREADY_SENT)
            }
          })
        } else {
          c.req.raw.signal.addEventListener('abort', () => upstreamReq.destroy(), { once: true })
        }

        upstreamReq.on('response', (upstreamRes) => {
          headersArrived = true
          const headersMs = performance.now() - sent
          const outcome: LegacyOutcome = { status: upstreamRes.statusCode ?? 502, headersMs }
          const headers = responseHeaders(upstreamRes, call, headersMs)
          onOutcome(outcome)
          settled = true
          // A response cut short upstream (reset, total timeout) is cut short for the client too.
          upstreamRes.once('error', () => (direct ? outgoing.destroy() : undefined))
          if (direct) {
            outgoing.writeHead(outcome.status, headers)
            upstreamRes.pipe(outgoing)
          } else {
            const done = () => clearTimeout(deadline)
            upstreamRes.once('end', done)
            upstreamRes.once('close', done)
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

interface UpstreamTarget {
  protocol: string
  https: boolean
  hostname: string
  port: string | number
  host: string
  path: string
}

/** Origins of legacy targets, parsed once: there is one per deployment. */
const origins = new Map<string, Omit<UpstreamTarget, 'path'>>()

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
  if (PLAIN_TARGET_PATH.test(path)) return { ...parsed, path }
  const url = new URL(target)
  return { ...parsed, path: url.pathname + url.search }
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
  const gateway: string[] = []
  let gatewayVary: string | undefined
  for (const name in call.responseHeaders) {
    const value = call.responseHeaders[name] as string
    if (name === 'vary') gatewayVary = value
    else gateway.push(name, value)
  }
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
    if (hasName(gateway, lower)) continue
    out.push(name, raw[i + 1] as string)
  }
  for (const item of gateway) out.push(item)
  const vary = mergeVary(upstreamVary, gatewayVary)
  if (vary) out.push('vary', vary)
  out.push('server-timing', serverTiming(headersMs, call.startedAt, performance.now()))
  return out
}

/** Whether lower-case `name` is among the names of a flat `[name, value, ...]` list. */
function hasName(list: readonly string[], name: string): boolean {
  for (let i = 0; i < list.length; i += 2) if (list[i] === name) return true
  return false
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
