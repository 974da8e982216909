import type { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { bodyLimit } from '../../src/middleware/body-limit.js'
import { applySecureHeaders, secureHeaders } from '../../src/middleware/secure-headers.js'
import { enforceStreamLimit } from '../../src/platform/body-limit.js'
import type { AppEnv, Backend } from '../../src/types.js'
import { routeMatch, securityApp } from '../integration/security-app.js'

const LIMIT = 1024

function app(): { instance: Hono<AppEnv>; reached: () => number } {
  let reached = 0
  const instance = securityApp(
    (a) => {
      a.use(bodyLimit())
      a.post('*', async (c) => {
        reached++
        const text = await c.req.text()
        return c.json({ bytes: text.length })
      })
      a.get('*', (c) => c.json({ ok: true }))
    },
    routeMatch('payment-checkout', { bodyLimitBytes: LIMIT }),
  )
  return { instance, reached: () => reached }
}

/** A request body with no Content-Length, sent in `count` chunks of `size` bytes. */
function chunked(count: number, size: number, onCancel?: () => void): ReadableStream<Uint8Array> {
  let sent = 0
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent === count) return controller.close()
      sent++
      controller.enqueue(new Uint8Array(size).fill(97))
    },
    cancel() {
      onCancel?.()
    },
  })
}

const streamed = (body: ReadableStream<Uint8Array>) =>
  ({ method: 'POST', body, duplex: 'half' }) as RequestInit

describe('bodyLimit', () => {
  it('refuses a declared Content-Length over the limit before reading', async () => {
    const { instance, reached } = app()
    const res = await instance.request('/api/v1/checkout', {
      method: 'POST',
      headers: { 'content-length': String(LIMIT + 1), 'content-type': 'application/json' },
      body: 'x'.repeat(LIMIT + 1),
    })
    expect(res.status).toBe(413)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    expect(await res.json()).toMatchObject({
      code: 'payload-too-large',
      status: 413,
      limitBytes: LIMIT,
    })
    expect(reached()).toBe(0)
  })

  it('accepts a body exactly at the limit', async () => {
    const res = await app().instance.request('/api/v1/checkout', {
      method: 'POST',
      headers: { 'content-length': String(LIMIT) },
      body: 'x'.repeat(LIMIT),
    })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ bytes: LIMIT })
  })

  it('refuses a chunked body once it streams past the limit', async () => {
    let cancelled = false
    const res = await app().instance.request(
      '/api/v1/checkout',
      streamed(chunked(100, 256, () => (cancelled = true))),
    )
    expect(res.status).toBe(413)
    expect(await res.json()).toMatchObject({ code: 'payload-too-large' })
    expect(cancelled).toBe(true)
  })

  it('passes a chunked body under the limit', async () => {
    const res = await app().instance.request('/api/v1/checkout', streamed(chunked(3, 256)))
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ bytes: 768 })
  })

  it('leaves bodiless requests and unrouted paths alone', async () => {
    expect((await app().instance.request('/api/v1/checkout')).status).toBe(200)
    const unrouted = securityApp((a) => {
      a.use(bodyLimit())
      a.post('*', async (c) => c.json({ bytes: (await c.req.text()).length }))
    }, undefined)
    const res = await unrouted.request('/health', { method: 'POST', body: 'x'.repeat(LIMIT * 4) })
    expect(await res.json()).toEqual({ bytes: LIMIT * 4 })
  })
})

describe('enforceStreamLimit', () => {
  it('errors with the 413 problem and stops reading the source', async () => {
    let pulled = 0
    const source = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++
        controller.enqueue(new Uint8Array(100))
      },
    })
    const reader = enforceStreamLimit(source, 250).getReader()
    const seen: number[] = []
    await expect(
      (async () => {
        for (let i = 0; i < 10; i++) {
          const { value } = await reader.read()
          seen.push(value?.byteLength ?? 0)
        }
      })(),
    ).rejects.toMatchObject({ status: 413, code: 'payload-too-large' })
    expect(seen).toEqual([100, 100])
    expect(pulled).toBeLessThanOrEqual(5)
  })

  it('passes everything through under the limit', async () => {
    const text = await new Response(enforceStreamLimit(chunked(4, 10), 40)).text()
    expect(text).toBe('a'.repeat(40))
  })
})

describe('secure headers', () => {
  it('sets the baseline on JSON, with HSTS only when asked', () => {
    const headers = new Headers({ 'content-type': 'application/problem+json' })
    applySecureHeaders(headers, { hsts: false })
    expect(Object.fromEntries(headers)).toEqual({
      'content-type': 'application/problem+json',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'x-frame-options': 'DENY',
      'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
    })
    const production = new Headers({ 'content-type': 'application/json; charset=utf-8' })
    applySecureHeaders(production, { hsts: true })
    expect(production.get('strict-transport-security')).toBe('max-age=63072000; includeSubDomains')
  })

  it('keeps a policy a page brings and adds no CSP to HTML', () => {
    const page = new Headers({
      'content-type': 'text/html',
      'content-security-policy': "default-src 'self'",
    })
    applySecureHeaders(page, { hsts: true })
    expect(page.get('content-security-policy')).toBe("default-src 'self'")
    const html = new Headers({ 'content-type': 'text/html' })
    applySecureHeaders(html, { hsts: true })
    expect(html.get('content-security-policy')).toBeNull()
  })

  it("leaves relayed legacy responses untouched but covers the gateway's own", async () => {
    const make = (backend: Backend | undefined, problem = false) =>
      securityApp((a) => {
        a.use(secureHeaders({ hsts: true }))
        a.get('*', (c) => {
          c.set('backend', backend)
          return problem
            ? c.body('{}', 502, { 'content-type': 'application/problem+json' })
            : c.json({ ok: true })
        })
      })
    const legacy = await make('legacy').request('/x')
    expect(legacy.headers.get('x-content-type-options')).toBeNull()
    const native = await make('native').request('/x')
    expect(native.headers.get('x-content-type-options')).toBe('nosniff')
    expect(native.headers.get('strict-transport-security')).not.toBeNull()
    const gatewayProblem = await make('legacy', true).request('/x')
    expect(gatewayProblem.headers.get('x-frame-options')).toBe('DENY')
  })
})
