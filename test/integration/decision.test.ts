import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { beforeAll, describe, expect, it } from 'vitest'
import { fetchTransport } from '../../legacy-proxy/fetch-transport.js'
import { ROUTE_IDS } from '../../routes/index.js'
import { mintCanaryToken, verifyCanaryToken } from '../../src/rollout/canary.js'
import type { FlagsFile } from '../../src/rollout/flags.js'
import { createRateLimiter } from '../../src/security/ratelimit/index.js'
import type { NativeHandler } from '../../src/types.js'
import { buildTestApp } from '../helpers/gateway.js'
import { userToken } from '../helpers/tokens.js'

const SECRET = 'canary-secret-for-tests-0123456789abcdef'
const native: NativeHandler = async (c) => c.json({ served: 'native' })

/** An app whose legacy side is a recording fetch, so routing is observable without a network. */
function appWith(flags: FlagsFile['routes'], env: Record<string, string> = {}) {
  const targets: string[] = []
  const fakeFetch = (async (input: RequestInfo | URL) => {
    targets.push(String(input))
    return new Response(JSON.stringify({ served: 'legacy' }), {
      headers: { 'content-type': 'application/json' },
    })
  }) as typeof fetch
  const handlers = {
    'payment-checkout': native,
    'refund-process': native,
    'ai-reply-suggest': native,
    'payment-webhook': native,
  }
  const app = buildTestApp('http://legacy.test/functions/v1', {
    env,
    native: handlers,
    flags,
    extra: {
      // Explicit, so staging-mode cases run without a Redis server; routing is under test here.
      rateLimiter: createRateLimiter({ store: 'memory', timeoutMs: 100, prefix: 'decision' }),
      legacy: fetchTransport({ headersTimeoutMs: 1000, totalTimeoutMs: 1000, fetch: fakeFetch }),
    },
  })
  return { app, targets }
}

let defaultToken: string
beforeAll(async () => {
  defaultToken = await userToken('decision-user')
})

async function backendFor(
  app: ReturnType<typeof appWith>['app'],
  path: string,
  headers: Record<string, string> = {},
) {
  const res = await app.request(path, {
    method: 'POST',
    headers: { authorization: `Bearer ${defaultToken}`, ...headers },
  })
  return res.headers.get('x-bff-backend')
}

describe('percentage routing', () => {
  it('serves about one user in ten natively at 10 %, always the same ones, and keeps them at 50 %', async () => {
    const at10 = appWith({ 'ai-reply-suggest': { native: 10 } }).app
    const at50 = appWith({ 'ai-reply-suggest': { native: 50 } }).app
    const nativeAt10: string[] = []
    for (let i = 0; i < 1_000; i++) {
      const headers = { authorization: `Bearer ${await userToken(`user-${i}`)}` }
      const first = await backendFor(at10, '/functions/v1/ai-reply-suggest', headers)
      expect(await backendFor(at10, '/functions/v1/ai-reply-suggest', headers)).toBe(first)
      if (first === 'native') nativeAt10.push(headers.authorization)
    }
    expect(nativeAt10.length).toBeGreaterThan(70)
    expect(nativeAt10.length).toBeLessThan(130)
    for (const authorization of nativeAt10) {
      expect(await backendFor(at50, '/functions/v1/ai-reply-suggest', { authorization })).toBe(
        'native',
      )
    }
  })

  it('buckets by x-client-id when there is no user, and by the order id for webhooks', async () => {
    const { app } = appWith({ 'payment-webhook': { native: 50 } })
    const byClient = new Set<string | null>()
    const byOrder = new Set<string | null>()
    for (let i = 0; i < 40; i++) {
      const clientRes = await app.request('/functions/v1/payment-webhook', {
        method: 'POST',
        headers: { 'x-client-id': 'device-7' },
        body: '{}',
      })
      byClient.add(clientRes.headers.get('x-bff-backend'))
      const orderRes = await app.request('/functions/v1/payment-webhook', {
        method: 'POST',
        body: JSON.stringify({
          eventType: 'PAYMENT_STATUS_CHANGED',
          data: { orderId: 'order_0001', attempt: i },
        }),
      })
      byOrder.add(orderRes.headers.get('x-bff-backend'))
    }
    expect(byClient.size).toBe(1)
    expect(byOrder.size).toBe(1)
    const metrics = await (await app.request('/metrics')).text()
    expect(metrics).not.toContain('bff_unsticky_decisions_total{route="payment-webhook"}')
  })

  it('routes the REST alias and the function path to the same route', async () => {
    const { app, targets } = appWith({ 'payment-checkout': { native: 0 } })
    expect(await backendFor(app, '/api/v1/checkout')).toBe('legacy')
    expect(await backendFor(app, '/functions/v1/payment-checkout')).toBe('legacy')
    expect(targets).toEqual([
      'http://legacy.test/functions/v1/payment-checkout',
      'http://legacy.test/functions/v1/payment-checkout',
    ])
  })

  it('keeps the rest of an alias path and the query for the legacy target', async () => {
    const { app, targets } = appWith({})
    await app.request('/api/v1/settlement/export/2026-10?format=csv', {
      headers: { authorization: `Bearer ${defaultToken}` },
    })
    expect(targets).toEqual([
      'http://legacy.test/functions/v1/settlement-export/2026-10?format=csv',
    ])
  })

  it('proxies any other well-formed function name as is', async () => {
    const { app, targets } = appWith({})
    const res = await app.request('/functions/v1/some-other_fn/x?y=1', { method: 'DELETE' })
    expect(res.headers.get('x-bff-backend')).toBe('legacy')
    expect(targets).toEqual(['http://legacy.test/functions/v1/some-other_fn/x?y=1'])
  })

  it('answers clear problems for unknown paths, bad names and wrong methods', async () => {
    const { app } = appWith({})
    const unknown = await app.request('/api/v1/nothing-here')
    expect(unknown.status).toBe(404)
    expect(await unknown.json()).toMatchObject({ code: 'not-found', status: 404 })
    const badName = await app.request('/functions/v1/Bad.Name')
    expect(badName.status).toBe(400)
    expect(await badName.json()).toMatchObject({ code: 'invalid-function-path' })
    const wrongMethod = await app.request('/functions/v1/payment-checkout', {
      method: 'GET',
      headers: { authorization: `Bearer ${defaultToken}` },
    })
    expect(wrongMethod.status).toBe(405)
    expect(wrongMethod.headers.get('allow')).toBe('POST')
  })
})

describe('canary override', () => {
  const staging = { APP_ENV: 'staging', BFF_CANARY_SECRET: SECRET }

  it('is free in development', async () => {
    const { app } = appWith({ 'payment-checkout': { native: 0 } })
    expect(
      await backendFor(app, '/functions/v1/payment-checkout', { 'x-bff-backend': 'native' }),
    ).toBe('native')
  })

  it('forces a backend with a valid signed token, header or cookie', async () => {
    const { app } = appWith({ 'payment-checkout': { native: 0 } }, staging)
    const token = await mintCanaryToken(SECRET, 60)
    expect(
      await backendFor(app, '/functions/v1/payment-checkout', {
        'x-bff-backend': 'native',
        'x-bff-canary': token,
      }),
    ).toBe('native')
    expect(
      await backendFor(app, '/functions/v1/payment-checkout', {
        cookie: `bff_backend=native; bff_canary=${token}`,
      }),
    ).toBe('native')
    const full = appWith({ 'payment-checkout': { native: 100 } }, staging).app
    expect(
      await backendFor(full, '/functions/v1/payment-checkout', {
        'x-bff-backend': 'legacy',
        'x-bff-canary': token,
      }),
    ).toBe('legacy')
  })

  it.each([
    ['no token', () => Promise.resolve(undefined), 'canary-token-required'],
    [
      'an expired token',
      () => mintCanaryToken(SECRET, 1, Date.now() - 10_000),
      'canary-token-expired',
    ],
    [
      'a token signed with another secret',
      () => mintCanaryToken('another-secret-another-secret-0000', 60),
      'canary-token-bad-signature',
    ],
    ['a malformed token', () => Promise.resolve('v1.abc.def'), 'canary-token-malformed'],
  ])('refuses %s outside development with 403', async (_, token, code) => {
    const { app, targets } = appWith({ 'payment-checkout': { native: 0 } }, staging)
    const t = await token()
    const res = await app.request('/functions/v1/payment-checkout', {
      method: 'POST',
      headers: {
        authorization: `Bearer ${defaultToken}`,
        'x-bff-backend': 'native',
        ...(t ? { 'x-bff-canary': t } : {}),
      },
    })
    expect(res.status).toBe(403)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    expect(await res.json()).toMatchObject({ code, status: 403 })
    expect(targets).toHaveLength(0)
  })

  it('refuses an override value other than native or legacy', async () => {
    const { app } = appWith({ 'payment-checkout': { native: 0 } })
    const res = await app.request('/functions/v1/payment-checkout', {
      method: 'POST',
      headers: { authorization: `Bearer ${defaultToken}`, 'x-bff-backend': 'both' },
    })
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({ errors: [{ field: 'header:x-bff-backend' }] })
  })

  it('never sends a stay-legacy route to native, override or not', async () => {
    const { app } = appWith({})
    expect(
      await backendFor(app, '/functions/v1/payment-confirm', { 'x-bff-backend': 'native' }),
    ).toBe('legacy')
  })

  it('mints tokens from the command line, the token alone on the last line', async () => {
    const { stdout } = await promisify(execFile)(
      'npx',
      ['tsx', 'scripts/canary-token.ts', '--ttl', '1h'],
      {
        env: { ...process.env, BFF_CANARY_SECRET: SECRET },
      },
    )
    const token = stdout.trim().split('\n').at(-1) as string
    const verdict = await verifyCanaryToken(SECRET, token)
    expect(verdict.valid).toBe(true)
    if (verdict.valid) expect(verdict.expiresAt - Date.now()).toBeGreaterThan(3_500_000)
  })
})

describe('documentation endpoints', () => {
  it('describes every route of the table in /openapi.json, which /docs renders', async () => {
    const { app } = appWith({})
    const doc = (await (await app.request('/openapi.json')).json()) as {
      paths: Record<string, unknown>
    }
    expect(Object.keys(doc.paths)).toContain('/functions/v1/payment-checkout')
    expect(Object.keys(doc.paths)).toContain('/api/v1/checkout')
    for (const id of ROUTE_IDS) {
      expect(Object.keys(doc.paths).some((p) => p.startsWith(`/functions/v1/${id}`))).toBe(true)
    }
    // The reference itself renders in the browser (test/e2e/docs-chromium.test.ts).
    const page = await (await app.request('/docs')).text()
    expect(page).toContain('<script src="/docs/scalar.js"')
    expect(page).toContain('"url": "/openapi.json"')
  })
})
