import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { GatewayError } from '../../src/errors.js'
import { cors, strictOrigin } from '../../src/middleware/cors.js'
import type { AppEnv } from '../../src/types.js'
import { routeMatch, securityApp } from './security-app.js'

const APP = 'https://app.example.com'
const EVIL = 'https://evil.example'

/** A stand-in legacy function that answers with its own permissive CORS headers. */
let legacy: Server
let legacyUrl = ''
beforeAll(async () => {
  legacy = createServer((_req, res) => {
    res.writeHead(200, {
      'content-type': 'application/json',
      'access-control-allow-origin': '*',
      'access-control-allow-headers': '*',
    })
    res.end('{"from":"legacy"}')
  })
  await new Promise<void>((resolve) => legacy.listen(0, '127.0.0.1', resolve))
  legacyUrl = `http://127.0.0.1:${(legacy.address() as AddressInfo).port}/`
})
afterAll(async () => {
  legacy.closeAllConnections()
  await new Promise<void>((resolve) => legacy.close(() => resolve()))
})

function app(allowedOrigins: string[] = [APP, 'http://localhost:3000']) {
  let reached = 0
  const instance: Hono<AppEnv> = securityApp(
    (a) => {
      a.use(cors({ allowedOrigins }))
      a.use(strictOrigin({ allowedOrigins }))
      a.post('/api/v1/checkout', (c) => {
        reached++
        return c.json({ ok: true })
      })
      a.post('/functions/v1/legacy-thing', () => {
        reached++
        // Straight from fetch: immutable headers, and the function's own `*`.
        return fetch(legacyUrl)
      })
      a.post('/functions/v1/limited', () => {
        throw new GatewayError({ status: 429, code: 'rate-limited', title: 'Too many requests' })
      })
    },
    (path) =>
      path === '/api/v1/checkout'
        ? routeMatch('payment-checkout')
        : routeMatch('payment-checkout', { strictOrigin: false }),
  )
  return { instance, reached: () => reached }
}

const preflight = (origin: string) => ({
  method: 'OPTIONS',
  headers: {
    origin,
    'access-control-request-method': 'POST',
    'access-control-request-headers': 'authorization,apikey,content-type,x-client-info',
  },
})

describe('cors: preflight', () => {
  it('answers an allowed origin at the gateway with 204 and the allow lists', async () => {
    const { instance, reached } = app()
    const res = await instance.request('/api/v1/checkout', preflight(APP))
    expect(res.status).toBe(204)
    expect(res.headers.get('access-control-allow-origin')).toBe(APP)
    expect(res.headers.get('access-control-allow-credentials')).toBe('true')
    expect(res.headers.get('access-control-allow-methods')).toContain('POST')
    const allowed = (res.headers.get('access-control-allow-headers') ?? '').split(', ')
    expect(new Set(allowed).size).toBe(allowed.length)
    // What supabase-js, the apps and the gateway's own features send.
    for (const h of [
      'authorization',
      'apikey',
      'x-client-info',
      'content-type',
      'x-retry-count',
      'x-region',
      'traceparent',
      'idempotency-key',
      'x-client-id',
      'x-request-id',
      'x-bff-backend',
      'x-bff-canary',
    ]) {
      expect(allowed).toContain(h)
    }
    expect(res.headers.get('access-control-max-age')).toBe('600')
    expect(res.headers.get('vary')).toContain('Origin')
    expect(await res.text()).toBe('')
    expect(reached()).toBe(0)
  })

  it('answers a disallowed origin without any allow header', async () => {
    const { instance, reached } = app()
    const res = await instance.request('/api/v1/checkout', preflight(EVIL))
    expect(res.status).toBe(204)
    for (const name of [
      'access-control-allow-origin',
      'access-control-allow-credentials',
      'access-control-allow-headers',
    ]) {
      expect(res.headers.get(name)).toBeNull()
    }
    expect(res.headers.get('vary')).toContain('Origin')
    expect(reached()).toBe(0)
  })

  it('answers preflights on any path, including unknown functions', async () => {
    const res = await app().instance.request('/functions/v1/anything-else', preflight(APP))
    expect(res.status).toBe(204)
    expect(res.headers.get('access-control-allow-origin')).toBe(APP)
  })

  it('with `*` allows any origin but never with credentials', async () => {
    const res = await app(['*']).instance.request('/api/v1/checkout', preflight(EVIL))
    expect(res.headers.get('access-control-allow-origin')).toBe('*')
    expect(res.headers.get('access-control-allow-credentials')).toBeNull()
  })

  it('matches an origin configured with its default port', async () => {
    const res = await app(['https://app.example.com:443']).instance.request(
      '/api/v1/checkout',
      preflight(APP),
    )
    expect(res.headers.get('access-control-allow-origin')).toBe(APP)
  })

  it('an OPTIONS without Access-Control-Request-Method is not a preflight', async () => {
    const res = await app().instance.request('/api/v1/checkout', {
      method: 'OPTIONS',
      headers: { origin: APP },
    })
    expect(res.status).toBe(404)
  })
})

describe('cors: actual requests', () => {
  it('an allowed origin gets ACAO, credentials, exposed headers and Vary', async () => {
    const res = await app().instance.request('/api/v1/checkout', {
      method: 'POST',
      headers: { origin: APP },
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('access-control-allow-origin')).toBe(APP)
    expect(res.headers.get('access-control-allow-credentials')).toBe('true')
    const exposed = res.headers.get('access-control-expose-headers') ?? ''
    for (const h of [
      'x-request-id',
      'traceparent',
      'x-bff-backend',
      'server-timing',
      'ratelimit-limit',
      'ratelimit-remaining',
      'ratelimit-reset',
      'retry-after',
    ]) {
      expect(exposed).toContain(h)
    }
    expect(res.headers.get('vary')).toBe('Origin')
  })

  it('gateway errors carry CORS headers too, so the browser can read the problem', async () => {
    const res = await app().instance.request('/functions/v1/limited', {
      method: 'POST',
      headers: { origin: APP },
    })
    expect(res.status).toBe(429)
    expect(res.headers.get('access-control-allow-origin')).toBe(APP)
  })

  it('requests without Origin get no CORS headers but still Vary: Origin', async () => {
    const res = await app().instance.request('/api/v1/checkout', { method: 'POST' })
    expect(res.status).toBe(200)
    expect(res.headers.get('access-control-allow-origin')).toBeNull()
    expect(res.headers.get('vary')).toBe('Origin')
  })
})

describe('strictOrigin', () => {
  it('refuses a disallowed Origin on a strict route with 403 before the handler', async () => {
    const { instance, reached } = app()
    const res = await instance.request('/api/v1/checkout', {
      method: 'POST',
      headers: { origin: EVIL },
    })
    expect(res.status).toBe(403)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    expect(await res.json()).toMatchObject({ code: 'origin-not-allowed', status: 403 })
    expect(res.headers.get('access-control-allow-origin')).toBeNull()
    expect(reached()).toBe(0)
  })

  it('refuses the opaque origin `null` (sandboxed frames, file:)', async () => {
    const res = await app().instance.request('/api/v1/checkout', {
      method: 'POST',
      headers: { origin: 'null' },
    })
    expect(res.status).toBe(403)
  })

  it('lets allowed origins and requests without Origin (apps, servers) through', async () => {
    const { instance, reached } = app()
    expect(
      (await instance.request('/api/v1/checkout', { method: 'POST', headers: { origin: APP } }))
        .status,
    ).toBe(200)
    expect((await instance.request('/api/v1/checkout', { method: 'POST' })).status).toBe(200)
    expect(reached()).toBe(2)
  })

  it('leaves routes without strictOrigin to CORS alone', async () => {
    const { instance, reached } = app()
    const res = await instance.request('/functions/v1/legacy-thing', {
      method: 'POST',
      headers: { origin: EVIL },
    })
    expect(res.status).toBe(200)
    expect(reached()).toBe(1)
  })
})
