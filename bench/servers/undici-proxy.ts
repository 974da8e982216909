import http from 'node:http'
import { Pool } from 'undici'

/**
 * A reference point, not a baseline with a target: the plain proxy of `plain-proxy.ts` with
 * undici's dispatcher in place of `node:http`'s client (a pool of 256 keep-alive connections,
 * no pipelining), streaming the answer with backpressure. What the same minimal proxy costs
 * when the upstream side is undici's, as in `@fastify/http-proxy`.
 */

const port = Number(process.env.PORT ?? 0)
const upstream = new URL(process.env.UPSTREAM_URL ?? 'http://127.0.0.1:8788')
const pool = new Pool(upstream.origin, { connections: 256, pipelining: 1 })
const HOP = new Set(['connection', 'keep-alive', 'host', 'transfer-encoding', 'upgrade', 'expect'])

const server = http.createServer((req, res) => {
  const headers: string[] = []
  const raw = req.rawHeaders
  for (let i = 0; i < raw.length; i += 2) {
    if (!HOP.has((raw[i] as string).toLowerCase()))
      headers.push(raw[i] as string, raw[i + 1] as string)
  }
  const bodyless = req.method === 'GET' || req.method === 'HEAD'
  let resume: (() => void) | undefined
  let abort: ((error: Error) => void) | undefined
  let complete = false
  res.on('drain', () => resume?.())
  // A client gone mid-answer cancels the upstream call, or its paused connection is held.
  res.on('close', () => {
    if (!complete) abort?.(new Error('client closed'))
  })
  pool.dispatch(
    {
      path: req.url ?? '/',
      method: (req.method ?? 'GET') as 'GET',
      headers,
      body: bodyless ? null : req,
    },
    {
      onConnect(abortCall) {
        abort = abortCall
      },
      onError() {
        complete = true
        if (!res.headersSent) res.writeHead(502).end()
        else res.destroy()
      },
      onHeaders(status, rawHeaders, resumeFn) {
        if (status < 200) return true
        resume = resumeFn
        const out: string[] = []
        for (let i = 0; i < rawHeaders.length; i += 2) {
          const name = (rawHeaders[i] as Buffer).toString('latin1')
          if (!HOP.has(name.toLowerCase()))
            out.push(name, (rawHeaders[i + 1] as Buffer).toString('latin1'))
        }
        res.writeHead(status, out)
        return true
      },
      onData(chunk) {
        return res.write(chunk)
      },
      onComplete() {
        complete = true
        res.end()
      },
    },
  )
})
server.keepAliveTimeout = 60_000
server.listen(port, '127.0.0.1')
