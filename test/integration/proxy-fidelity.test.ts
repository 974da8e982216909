import http from 'node:http'
import { gunzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { GZIPPED_TEXT, type LegacyStandIn, startLegacyStandIn } from '../fakes/legacy-functions.js'
import { startTestGateway, type TestGateway } from '../helpers/gateway.js'

/** A raw HTTP request: no client-side normalisation of the path, full control of headers. */
function raw(
  base: string,
  path: string,
  init: { method?: string; headers?: Record<string, string | string[]>; body?: Buffer } = {},
): Promise<{
  status: number
  headers: http.IncomingHttpHeaders
  rawHeaders: string[]
  body: Buffer
}> {
  const url = new URL(base)
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path,
        method: init.method ?? 'GET',
        headers: init.headers,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            rawHeaders: res.rawHeaders,
            body: Buffer.concat(chunks),
          }),
        )
      },
    )
    req.on('error', reject)
    req.end(init.body)
  })
}

let legacy: LegacyStandIn
let gateway: TestGateway

beforeAll(async () => {
  legacy = await startLegacyStandIn()
  gateway = await startTestGateway(legacy.functionsUrl, {
    env: {
      LEGACY_HEADERS_TIMEOUT_MS: '400',
      LEGACY_TOTAL_TIMEOUT_MS: '3000',
      TRUSTED_IP_HEADER: 'x-forwarded-for',
      ALLOWED_ORIGINS: 'https://app.example.com',
    },
  })
})

afterAll(async () => {
  await gateway.close()
  await legacy.close()
})

const last = () => legacy.received[legacy.received.length - 1]

describe('legacy proxy fidelity (Node transport, real server)', () => {
  it('forwards method, path rest and query unchanged', async () => {
    const res = await raw(gateway.url, '/functions/v1/echo/a/b%20c?x=1&y=%E2%9C%93&x=2', {
      method: 'PATCH',
    })
    expect(res.status).toBe(200)
    expect(res.headers['x-bff-backend']).toBe('legacy')
    expect(last()?.method).toBe('PATCH')
    expect(last()?.url).toBe('/functions/v1/echo/a/b%20c?x=1&y=%E2%9C%93&x=2')
  })

  it('forwards binary bodies byte for byte, both ways', async () => {
    const bytes = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 31) % 256))
    const res = await raw(gateway.url, '/functions/v1/binary', {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: bytes,
    })
    expect(res.status).toBe(200)
    expect(Buffer.compare(last()?.body ?? Buffer.alloc(0), bytes)).toBe(0)
    expect(Buffer.compare(res.body, bytes)).toBe(0)
  })

  it('keeps the client headers Supabase needs, overwrites forwarding headers and drops its own', async () => {
    await raw(gateway.url, '/functions/v1/echo', {
      method: 'POST',
      headers: {
        authorization: 'Bearer user-jwt',
        apikey: 'anon-key',
        'x-client-info': 'supabase-js/2.0',
        'content-type': 'application/json',
        'x-forwarded-for': '203.0.113.9',
        'x-forwarded-host': 'evil.example',
        'x-forwarded-proto': 'gopher',
        forwarded: 'for=1.2.3.4',
        'x-bff-canary': 'v1.1.sig',
        cookie: 'session=abc; bff_backend=native; bff_canary=tok; theme=dark',
        connection: 'keep-alive, x-drop-me',
        'x-drop-me': 'hop',
        'x-request-id': 'req-12345678',
        host: 'gateway.example',
      },
      body: Buffer.from('{}'),
    })
    const h = last()?.headers ?? {}
    expect(h.authorization).toBe('Bearer user-jwt')
    expect(h.apikey).toBe('anon-key')
    expect(h['x-client-info']).toBe('supabase-js/2.0')
    expect(h['content-type']).toBe('application/json')
    expect(h.host).toBe(new URL(legacy.url).host)
    expect(h['x-forwarded-for']).toBe('203.0.113.9')
    expect(h['x-forwarded-host']).toBe('gateway.example')
    expect(h['x-forwarded-proto']).toBe('http')
    expect(h.forwarded).toBeUndefined()
    expect(h['x-bff-canary']).toBeUndefined()
    expect(h['x-drop-me']).toBeUndefined()
    expect(h.cookie).toBe('session=abc; theme=dark')
    expect(h['x-request-id']).toBe('req-12345678')
  })

  it("keeps the platform proxy's X-Forwarded-Proto when a trusted proxy header is configured", async () => {
    await raw(gateway.url, '/functions/v1/echo', { headers: { 'x-forwarded-proto': 'https' } })
    expect(last()?.headers['x-forwarded-proto']).toBe('https')
  })

  it('does not trust a client X-Forwarded-For without a trusted header configured', async () => {
    const local = await startTestGateway(legacy.functionsUrl)
    try {
      await raw(local.url, '/functions/v1/echo', {
        headers: { 'x-forwarded-for': '198.51.100.7', 'x-forwarded-proto': 'https' },
      })
      expect(last()?.headers['x-forwarded-for']).toBe('127.0.0.1')
      expect(last()?.headers['x-forwarded-proto']).toBe('http')
    } finally {
      await local.close()
    }
  })

  it('passes multiple Set-Cookie headers through separately', async () => {
    const res = await raw(gateway.url, '/functions/v1/cookies')
    expect(res.headers['set-cookie']).toEqual([
      'a=1; Path=/; HttpOnly',
      'b=2; Path=/; Secure',
      'c=3; Max-Age=60',
    ])
  })

  it('passes the upstream status and error bodies through untouched', async () => {
    for (const status of [201, 204, 400, 404, 409, 422, 500, 503]) {
      const res = await raw(gateway.url, `/functions/v1/echo?status=${status}`)
      expect(res.status).toBe(status)
      expect(res.headers['content-type']).toBe('application/json')
    }
    const err = await raw(gateway.url, '/functions/v1/error')
    expect(err.status).toBe(500)
    expect(JSON.parse(err.body.toString())).toEqual({
      error: 'legacy exploded',
      code: 'LEGACY_500',
    })
  })

  it('passes compressed bodies through with their Content-Encoding, decoded once', async () => {
    const res = await raw(gateway.url, '/functions/v1/gzip', {
      headers: { 'accept-encoding': 'gzip' },
    })
    expect(res.headers['content-encoding']).toBe('gzip')
    expect(gunzipSync(res.body).toString()).toBe(GZIPPED_TEXT)
  })

  it('strips hop-by-hop headers, those named in Connection, and forged x-bff headers from the response', async () => {
    const res = await raw(gateway.url, '/functions/v1/hopbyhop')
    expect(res.headers['x-legacy-hop']).toBeUndefined()
    expect(res.headers['x-bff-backend']).toBe('legacy')
    expect(res.rawHeaders.filter((h) => h.toLowerCase() === 'x-bff-backend')).toHaveLength(1)
  })

  it("replaces a legacy function's own CORS headers with the gateway's and merges Vary", async () => {
    const allowed = await raw(gateway.url, '/functions/v1/cors', {
      headers: { origin: 'https://app.example.com' },
    })
    expect(allowed.headers['access-control-allow-origin']).toBe('https://app.example.com')
    expect(allowed.headers['access-control-allow-headers']).toBeUndefined()
    expect(allowed.headers.vary).toBe('Accept-Encoding, Origin')
    const denied = await raw(gateway.url, '/functions/v1/cors', {
      headers: { origin: 'https://evil.example' },
    })
    expect(denied.status).toBe(200)
    expect(denied.headers['access-control-allow-origin']).toBeUndefined()
  })

  it('streams the response as the upstream produces it', async () => {
    const started = Date.now()
    const firstChunkAt = await new Promise<number>((resolve, reject) => {
      http
        .get(`${gateway.url}/functions/v1/stream?chunks=4&gap=300`, (res) => {
          res.once('data', () => resolve(Date.now() - started))
          res.resume()
        })
        .on('error', reject)
    })
    // The whole body takes ≥ 900 ms upstream; the first chunk arrives long before that.
    expect(firstChunkAt).toBeLessThan(800)
  })

  it('streams the request body to the upstream', async () => {
    const chunks = ['part-1;', 'part-2;', 'part-3']
    const url = new URL(gateway.url)
    const body = await new Promise<string>((resolve, reject) => {
      const req = http.request(
        {
          host: url.hostname,
          port: url.port,
          path: '/functions/v1/binary',
          method: 'POST',
          headers: { 'transfer-encoding': 'chunked' },
        },
        (res) => {
          const got: Buffer[] = []
          res.on('data', (c: Buffer) => got.push(c))
          res.on('end', () => resolve(Buffer.concat(got).toString()))
        },
      )
      req.on('error', reject)
      let i = 0
      const next = () => {
        if (i < chunks.length) {
          req.write(chunks[i++])
          setTimeout(next, 30)
        } else req.end()
      }
      next()
    })
    expect(body).toBe(chunks.join(''))
  })

  it('does not follow redirects', async () => {
    const res = await raw(gateway.url, '/functions/v1/redirect')
    expect(res.status).toBe(302)
    expect(res.headers.location).toBe('https://elsewhere.example/next')
  })

  it('answers 504 problem+json when the upstream is too slow to answer', async () => {
    const res = await raw(gateway.url, '/functions/v1/slow?ms=2000')
    expect(res.status).toBe(504)
    expect(res.headers['content-type']).toBe('application/problem+json')
    const problem = JSON.parse(res.body.toString())
    expect(problem).toMatchObject({ status: 504, code: 'upstream-timeout' })
    expect(problem.requestId).toBe(res.headers['x-request-id'])
    expect(res.headers['x-relay-error']).toBeUndefined()
  })

  it('answers 502 problem+json when the upstream is unreachable', async () => {
    const down = await startTestGateway('http://127.0.0.1:9/functions/v1')
    try {
      const res = await raw(down.url, '/functions/v1/anything')
      expect(res.status).toBe(502)
      expect(JSON.parse(res.body.toString())).toMatchObject({
        code: 'upstream-unavailable',
        status: 502,
      })
    } finally {
      await down.close()
    }
  })

  it('cancels the upstream request when the client aborts', async () => {
    const before = legacy.cancelled.length
    const controller = new AbortController()
    const pending = fetch(`${gateway.url}/functions/v1/hang?id=abort-test`, {
      signal: controller.signal,
    }).catch((e: Error) => e)
    await waitFor(() => legacy.received.some((r) => r.url.includes('abort-test')))
    controller.abort()
    await pending
    await waitFor(() => legacy.cancelled.length > before)
    expect(legacy.cancelled.some((u) => u.includes('abort-test'))).toBe(true)
  })

  it('answers Expect: 100-continue itself and streams the body on, without the Expect header', async () => {
    const url = new URL(gateway.url)
    const body = Buffer.from('{"after":"continue"}')
    const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = http.request({
        host: url.hostname,
        port: url.port,
        method: 'POST',
        path: '/functions/v1/echo?id=expect',
        headers: {
          expect: '100-continue',
          'content-type': 'application/json',
          'content-length': body.length,
        },
        agent: false,
      })
      // The body goes only once the gateway said to continue.
      req.on('continue', () => req.end(body))
      req.on('response', (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }),
        )
      })
      req.on('error', reject)
      req.flushHeaders()
    })
    expect(answer.status).toBe(200)
    const echoed = JSON.parse(answer.text) as {
      headers: Record<string, string>
      bodyBase64: string
    }
    expect(Buffer.from(echoed.bodyBase64, 'base64').equals(body)).toBe(true)
    expect(echoed.headers.expect).toBeUndefined()
  })

  it('cancels the upstream call when a client stops reading mid-download and goes away', async () => {
    // The gateway is held back by the client (backpressure), then the client leaves: the call
    // must end upstream too, not wait paused on its connection.
    const before = legacy.cancelled.length
    const url = new URL(gateway.url)
    await new Promise<void>((resolve, reject) => {
      const req = http.get(
        {
          host: url.hostname,
          port: url.port,
          path: '/functions/v1/huge?mb=64&id=stalled',
          agent: false,
        },
        (res) => {
          res.once('data', () => {
            res.pause()
            setTimeout(() => {
              req.destroy()
              resolve()
            }, 300)
          })
        },
      )
      req.on('error', () => {})
      setTimeout(() => reject(new Error('no answer')), 5_000)
    })
    await waitFor(() => legacy.cancelled.length > before)
    expect(legacy.cancelled.some((u) => u.includes('id=stalled'))).toBe(true)
    // The function's calls are not held either: the next one is served.
    expect((await raw(gateway.url, '/functions/v1/echo?after=stalled')).status).toBe(200)
  })

  it.each(['/functions/v1/echo/a/%2E%2E', '/functions/v1/echo/./b/../c'])(
    'resolves dot segments in %s before routing, never sending them upstream',
    async (path) => {
      const res = await raw(gateway.url, path)
      expect(res.status).toBe(200)
      expect(last()?.url).toMatch(/^\/functions\/v1\/echo(\/c)?$/)
    },
  )

  it.each([
    '/functions/v1/echo/../../../etc/passwd',
    '/functions/v1/echo/%2e%2e/%2e%2e/admin',
    '/functions/v1/echo/a%2fb',
    '/functions/v1/echo/a%5cb',
    '/functions/v1/echo/a%2F..%2F..%2Fadmin',
    '/functions/v1/Echo',
    '/functions/v1/ech%6f',
    '/functions/v1/echo//double',
    '/functions/v1/echo/%zz',
  ])('refuses %s without reaching the upstream', async (path) => {
    const before = legacy.received.length
    const res = await raw(gateway.url, path)
    expect([400, 404]).toContain(res.status)
    expect(res.headers['content-type']).toBe('application/problem+json')
    expect(legacy.received.length).toBe(before)
  })

  it('adds x-request-id and server-timing with the upstream share', async () => {
    const res = await raw(gateway.url, '/functions/v1/echo', {
      headers: { 'x-request-id': 'abc-123-def-456' },
    })
    expect(res.headers['x-request-id']).toBe('abc-123-def-456')
    expect(res.headers['server-timing']).toMatch(
      /^upstream;dur=\d+(\.\d)?, gateway;dur=\d+(\.\d)?$/,
    )
  })

  it('replaces a malformed request id', async () => {
    const res = await raw(gateway.url, '/functions/v1/echo', {
      headers: { 'x-request-id': 'bad id with spaces' },
    })
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/)
  })
})

async function waitFor(check: () => boolean, timeoutMs = 3_000) {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 20))
  }
}
