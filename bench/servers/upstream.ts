import { createServer } from 'node:http'

/**
 * The stand-in for the legacy Supabase functions:
 * - any path: a small JSON answer (the shape of a typical function reply), after draining the body;
 * - `?delay=<ms>`: the same after a delay (a slow function);
 * - `?download=<bytes>`: that many bytes, streamed with backpressure;
 * - a request body of any size is counted and discarded.
 */

const port = Number(process.env.PORT ?? 0)
const SMALL = Buffer.from(
  JSON.stringify({
    ok: true,
    id: 'c0a8012e-7d3f-4b7a-9d2e-1f0a5b6c7d8e',
    amount: 15000,
    currency: 'KRW',
    items: [1, 2, 3],
  }),
)
const CHUNK = Buffer.alloc(64 * 1024, 120)

const server = createServer((req, res) => {
  const url = req.url ?? '/'
  const q = url.indexOf('?')
  const params = q === -1 ? undefined : new URLSearchParams(url.slice(q + 1))
  let received = 0
  req.on('data', (chunk: Buffer) => {
    received += chunk.length
  })
  req.on('end', () => {
    const download = Number(params?.get('download') ?? 0)
    if (download > 0) {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': download })
      let left = download
      const pump = () => {
        while (left > 0) {
          const n = Math.min(left, CHUNK.length)
          left -= n
          if (!res.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n)))
            return void res.once('drain', pump)
        }
        res.end()
      }
      pump()
      return
    }
    const body = received > 0 ? Buffer.from(JSON.stringify({ ok: true, received })) : SMALL
    const send = () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length })
      res.end(body)
    }
    const delay = Number(params?.get('delay') ?? 0)
    if (delay > 0) setTimeout(send, delay)
    else send()
  })
})
server.keepAliveTimeout = 60_000
server.headersTimeout = 65_000
server.listen(port, '127.0.0.1')
