import http from 'node:http'

/**
 * The baseline: the smallest honest streaming reverse proxy on `node:http`, with a keep-alive
 * pool, streaming both ways, no header policy, no logging. What the gateway is measured against.
 */

const port = Number(process.env.PORT ?? 0)
const upstream = new URL(process.env.UPSTREAM_URL ?? 'http://127.0.0.1:8788')
// The same pool as the gateway's Node transport: 256 sockets, all of them kept when idle (a
// smaller idle pool closes and reopens connections at 256 requests in flight).
const agent = new http.Agent({
  keepAlive: true,
  maxSockets: 256,
  maxFreeSockets: 256,
  scheduling: 'lifo',
})

const server = http.createServer((req, res) => {
  const headers = { ...req.headers }
  delete headers.connection
  delete headers['keep-alive']
  headers.host = upstream.host
  const up = http.request(
    {
      hostname: upstream.hostname,
      port: upstream.port,
      path: req.url,
      method: req.method,
      headers,
      agent,
    },
    (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers)
      upRes.pipe(res)
    },
  )
  up.on('error', () => {
    if (!res.headersSent) res.writeHead(502).end()
    else res.destroy()
  })
  res.on('close', () => {
    if (!res.writableFinished) up.destroy()
  })
  req.pipe(up)
})
server.keepAliveTimeout = 60_000
server.listen(port, '127.0.0.1')
