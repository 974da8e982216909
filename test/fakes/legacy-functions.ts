import { once } from 'node:events'
import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { gzipSync } from 'node:zlib'

/**
 * A stand-in for the legacy Supabase Edge Functions: a real HTTP server under
 * `/functions/v1/<name>` whose functions exercise what a proxy can get wrong.
 */
export interface ReceivedRequest {
  method: string
  url: string
  rawHeaders: string[]
  headers: IncomingMessage['headers']
  body: Buffer
}

export interface LegacyStandIn {
  url: string
  functionsUrl: string
  received: ReceivedRequest[]
  /** Requests whose connection the gateway closed before the stand-in answered. */
  cancelled: string[]
  close(): Promise<void>
}

type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer, q: URLSearchParams) => void

export const GZIPPED_TEXT = 'compressed body '.repeat(200)

const functions: Record<string, Handler> = {
  echo(req, res, body, q) {
    const asked = Number(q.get('status') ?? 200)
    const status = Number.isInteger(asked) && asked >= 200 && asked <= 599 ? asked : 200
    res.writeHead(status, { 'content-type': 'application/json', 'x-legacy-function': 'echo' })
    res.end(
      JSON.stringify({
        method: req.method,
        url: req.url,
        headers: req.headers,
        bodyBase64: body.toString('base64'),
      }),
    )
  },
  binary(_req, res, body) {
    res.writeHead(200, { 'content-type': 'application/octet-stream' })
    res.end(body)
  },
  cookies(_req, res) {
    res.setHeader('set-cookie', ['a=1; Path=/; HttpOnly', 'b=2; Path=/; Secure', 'c=3; Max-Age=60'])
    res.writeHead(200, { 'content-type': 'text/plain' })
    res.end('cookies')
  },
  gzip(_req, res) {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip' })
    res.end(gzipSync(GZIPPED_TEXT))
  },
  redirect(_req, res) {
    res.writeHead(302, { location: 'https://elsewhere.example/next' })
    res.end()
  },
  stream(_req, res, _body, q) {
    const chunks = Number(q.get('chunks') ?? 3)
    const gap = Number(q.get('gap') ?? 50)
    res.writeHead(200, { 'content-type': 'text/plain' })
    let sent = 0
    const tick = () => {
      res.write(`chunk-${sent}\n`)
      sent++
      if (sent < chunks) setTimeout(tick, gap)
      else res.end()
    }
    tick()
  },
  slow(_req, res, _body, q) {
    const timer = setTimeout(
      () => {
        res.writeHead(200, { 'content-type': 'text/plain' })
        res.end('late')
      },
      Number(q.get('ms') ?? 1_000),
    )
    res.once('close', () => clearTimeout(timer))
  },
  hang() {
    // Never answers; the gateway must time out or propagate the client's abort.
  },
  reset(req) {
    // Drops the connection without a byte of answer (a crashed function, a proxy reset).
    req.socket.destroy()
  },
  trickle(_req, res, _body, q) {
    // Answers at once, then sends its body one byte every `gap` ms (1 byte/s by default).
    const bytes = Number(q.get('bytes') ?? 60)
    const gap = Number(q.get('gap') ?? 1_000)
    res.writeHead(200, { 'content-type': 'text/plain' })
    let sent = 0
    const timer = setInterval(() => {
      res.write('.')
      if (++sent >= bytes) {
        clearInterval(timer)
        res.end()
      }
    }, gap)
    res.once('close', () => clearInterval(timer))
  },
  huge(_req, res, _body, q) {
    // Streams `mb` MiB (100 by default) with backpressure.
    const total = Number(q.get('mb') ?? 100) * 1024 * 1024
    const chunk = Buffer.alloc(64 * 1024, 120)
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': total })
    let sent = 0
    const pump = () => {
      while (sent < total) {
        sent += chunk.length
        if (!res.write(chunk)) return void res.once('drain', pump)
      }
      res.end()
    }
    pump()
  },
  error(_req, res) {
    res.writeHead(500, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ error: 'legacy exploded', code: 'LEGACY_500' }))
  },
  cors(_req, res) {
    res.writeHead(200, {
      'content-type': 'application/json',
      'access-control-allow-origin': '*',
      'access-control-allow-headers': '*',
      vary: 'Accept-Encoding',
    })
    res.end('{"from":"legacy"}')
  },
  hopbyhop(_req, res) {
    res.writeHead(200, {
      'content-type': 'text/plain',
      connection: 'x-legacy-hop',
      'x-legacy-hop': 'secret-hop',
      'keep-alive': 'timeout=5',
      'x-bff-backend': 'forged',
    })
    res.end('ok')
  },
}

/** Listens on `port` (a free one by default). */
export async function startLegacyStandIn(port = 0): Promise<LegacyStandIn> {
  const received: ReceivedRequest[] = []
  const cancelled: string[] = []
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      received.push({
        method: req.method ?? '',
        url: req.url ?? '',
        rawHeaders: req.rawHeaders,
        headers: req.headers,
        body,
      })
      const url = new URL(req.url ?? '/', 'http://stand-in')
      const name = url.pathname.replace(/^\/functions\/v1\//, '').split('/')[0] ?? ''
      res.once('close', () => {
        if (!res.writableFinished) cancelled.push(req.url ?? '')
      })
      const fn = functions[name] ?? functions.echo
      fn?.(req, res, body, url.searchParams)
    })
  })
  server.listen(port, '127.0.0.1')
  await once(server, 'listening')
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url,
    functionsUrl: `${url}/functions/v1`,
    received,
    cancelled,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
