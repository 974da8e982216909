import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from '../../src/config.js'
import { memoryAuditTrail } from '../../src/rollout/audit.js'
import { mintCanaryToken, verifyCanaryToken } from '../../src/rollout/canary.js'
import { flagStoreFromConfig } from '../../src/rollout/stores/from-config.js'
import { memoryFlagStore } from '../../src/rollout/stores/memory.js'
import { rateLimiterFromConfig } from '../../src/security/ratelimit/index.js'
import { type RecordingUpstream, startRecordingUpstream } from '../fakes/recording-upstream.js'
import { buildTestApp, startTestGateway, type TestGateway } from '../helpers/gateway.js'
import { rawClient } from '../helpers/raw-http.js'
import { TEST_JWT_SECRET, userToken } from '../helpers/tokens.js'
import { ADMIN_TOKEN, adminCall, startGateway } from './flags-helper.js'

/** The weaknesses of issue 10 other than the transport: one test (or more) each. */

const run = promisify(execFile)
const APP = 'https://app.example.com'
const CANARY = 'canary-secret-for-edge-tests-0123456789'

let upstream: RecordingUpstream
let gateway: TestGateway

beforeAll(async () => {
  upstream = await startRecordingUpstream()
  gateway = await startTestGateway(upstream.functionsUrl, {
    env: {
      BODY_TIMEOUT_MS: '600',
      LEGACY_HEADERS_TIMEOUT_MS: '8000',
      LEGACY_TOTAL_TIMEOUT_MS: '20000',
    },
    flags: { 'payment-checkout': { native: 100 } },
    native: {
      'payment-checkout': async (c) => c.json({ length: (await c.req.text()).length }),
    },
  })
})

afterAll(async () => {
  await gateway?.close()
  await upstream?.close()
})

/** One request over a raw socket; `body` is sent in full unless `trickle` keeps some back. */
async function send(head: string, body = '', trickle = false) {
  const client = await rawClient(gateway.url)
  const length = trickle ? body.length + 100 : body.length
  client.write(`${head}content-length: ${length}\r\nhost: gw.test\r\n\r\n${body}`)
  const res = await client.response({ timeoutMs: 5_000 })
  client.destroy()
  return { ...res, json: res.body.length ? JSON.parse(res.body.toString()) : undefined }
}

describe('one body deadline, native and proxied', () => {
  it('cuts a trickled body to a native route with 408', async () => {
    const token = await userToken('trickler')
    const res = await send(
      `POST /functions/v1/payment-checkout HTTP/1.1\r\nauthorization: Bearer ${token}\r\ncontent-type: application/json\r\n`,
      '{"a":',
      true,
    )
    expect(res.status).toBe(408)
    expect(res.json.code).toBe('body-timeout')
  })

  it('cuts a trickled body to a legacy function with the same 408', async () => {
    const res = await send('POST /functions/v1/rec/trickle HTTP/1.1\r\n', 'abc', true)
    expect(res.status).toBe(408)
    expect(res.json.code).toBe('body-timeout')
    expect(upstream.requests.filter((r) => r.target === '/functions/v1/rec/trickle')).toEqual([])
  })
})

describe('Authorization', () => {
  it('refuses two Authorization headers', async () => {
    const token = await userToken('two-headers')
    for (const path of ['/functions/v1/rec/dup', '/functions/v1/payment-checkout']) {
      const res = await send(
        `POST ${path} HTTP/1.1\r\nauthorization: Bearer ${token}\r\nauthorization: Bearer other.token.here\r\n`,
      )
      expect(res.status).toBe(400)
      expect(res.json.code).toBe('duplicate-authorization')
      expect(res.json.errors[0].field).toBe('header:authorization')
    }
    expect(upstream.requests.filter((r) => r.target === '/functions/v1/rec/dup')).toEqual([])
  })

  it.each([
    ['a tab instead of a space', (t: string) => `Bearer\t${t}`],
    ['a trailing =', (t: string) => `Bearer ${t}=`],
    ['two tokens', (t: string) => `Bearer ${t} ${t}`],
    ['a JWT with junk appended', (t: string) => `Bearer ${t}.x`],
  ])('answers 401 on an optional-auth route for %s', async (_name, header) => {
    const value = header(await userToken('malformed'))
    const res = await send(
      `GET /functions/v1/rec/malformed HTTP/1.1\r\nauthorization: ${value}\r\n`,
    )
    expect(res.status).toBe(401)
    expect(res.json.code).toBe('invalid-token')
    expect(upstream.requests.filter((r) => r.target === '/functions/v1/rec/malformed')).toEqual([])
  })

  it('still forwards a valid bearer, an API key and other schemes on optional-auth routes', async () => {
    for (const value of [
      `Bearer ${await userToken('fine')}`,
      'Bearer sb_publishable_abc123',
      'Bearer opaque-key-of-the-function',
      'Basic dXNlcjpwYXNz',
    ]) {
      const res = await send(`GET /functions/v1/rec/fine HTTP/1.1\r\nauthorization: ${value}\r\n`)
      expect(res.status).toBe(200)
    }
  })
})

describe('admin surface', () => {
  const admin = () =>
    startGateway({
      store: memoryFlagStore(),
      audit: memoryAuditTrail(),
      env: { ALLOWED_ORIGINS: APP },
    })

  it('answers /admin without CORS headers, even to an allowed app origin', async () => {
    const gw = await admin()
    try {
      for (const path of ['/admin/login', '/admin/api/flags']) {
        const res = await gw.app.request(path, {
          headers: { origin: APP, authorization: `Bearer ${ADMIN_TOKEN}` },
        })
        expect(res.headers.get('access-control-allow-origin')).toBeNull()
        expect(res.headers.get('access-control-allow-credentials')).toBeNull()
      }
      const preflight = await gw.app.request('/admin/api/flags', {
        method: 'OPTIONS',
        headers: { origin: APP, 'access-control-request-method': 'PUT' },
      })
      expect(preflight.headers.get('access-control-allow-origin')).toBeNull()
      // The app's own routes keep their CORS.
      const app = await gw.app.request('/functions/v1/payment-webhook', {
        method: 'OPTIONS',
        headers: { origin: APP, 'access-control-request-method': 'POST' },
      })
      expect(app.headers.get('access-control-allow-origin')).toBe(APP)
    } finally {
      await gw.close()
    }
  })

  it('does not let X-Forwarded-Host vouch for a foreign Origin at the dashboard', async () => {
    const gw = await admin()
    try {
      const res = await gw.app.request('/admin/login', {
        method: 'POST',
        headers: {
          origin: 'https://evil.example',
          host: 'gw.test',
          'x-forwarded-host': 'evil.example',
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: `token=${ADMIN_TOKEN}`,
      })
      expect(res.status).toBe(403)
      expect(((await res.json()) as { code: string }).code).toBe('cross-origin-refused')
    } finally {
      await gw.close()
    }
  })

  it('revokes the session at logout', async () => {
    const gw = await admin()
    try {
      const form = { host: 'gw.test', origin: 'http://gw.test' }
      const login = await gw.app.request('/admin/login', {
        method: 'POST',
        headers: { ...form, 'content-type': 'application/x-www-form-urlencoded' },
        body: `token=${ADMIN_TOKEN}`,
      })
      const session = (login.headers.get('set-cookie') ?? '').split(';')[0] as string
      expect((await gw.app.request('/admin', { headers: { cookie: session } })).status).toBe(200)
      const logout = await gw.app.request('/admin/logout', {
        method: 'POST',
        headers: { ...form, cookie: session },
      })
      expect(logout.status).toBe(303)
      // The old cookie, replayed after logout, no longer opens the dashboard.
      const replay = await gw.app.request('/admin', { headers: { cookie: session } })
      expect(replay.status).toBe(303)
      expect(replay.headers.get('location')).toBe('/admin/login')
    } finally {
      await gw.close()
    }
  })

  it('locks an address out after repeated wrong admin tokens, at the API and the login form', async () => {
    const gw = await admin()
    try {
      for (let i = 0; i < 3; i++)
        expect((await adminCall(gw, 'GET', '/flags', undefined, `wrong-${i}`)).status).toBe(401)
      for (let i = 0; i < 2; i++) {
        const res = await gw.app.request('/admin/login', {
          method: 'POST',
          headers: {
            host: 'gw.test',
            origin: 'http://gw.test',
            'content-type': 'application/x-www-form-urlencoded',
          },
          body: `token=wrong-${i}`,
        })
        expect(res.status).toBe(401)
      }
      const locked = await adminCall(gw, 'GET', '/flags')
      expect(locked.status).toBe(429)
      expect(((await locked.json()) as { code: string }).code).toBe('admin-locked-out')
      expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0)
    } finally {
      await gw.close()
    }
  })
})

describe('canary tokens', () => {
  const forge = async (environment: string, expiry: number) => {
    const key = await crypto.subtle.importKey(
      'raw',
      new TextEncoder().encode(CANARY),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign'],
    )
    const mac = await crypto.subtle.sign(
      'HMAC',
      key,
      new TextEncoder().encode(`bff-canary:v2:${environment}:${expiry}`),
    )
    return `v2.${environment}.${expiry}.${Buffer.from(mac).toString('base64url')}`
  }
  const now = Date.now()
  const inDays = (d: number) => Math.floor(now / 1000) + d * 86_400

  it('refuses a correctly signed token that lives longer than 30 days', async () => {
    expect(await verifyCanaryToken(CANARY, await forge('staging', inDays(29)), now)).toMatchObject({
      valid: true,
    })
    for (const expiry of [inDays(365), 99_999_999_999]) {
      expect(await verifyCanaryToken(CANARY, await forge('staging', expiry), now)).toEqual({
        valid: false,
        reason: 'lifetime-too-long',
      })
    }
  })

  it('refuses a token minted for another environment, and the unbound v1 format', async () => {
    const production = await mintCanaryToken(CANARY, 3600, now, 'production')
    expect(await verifyCanaryToken(CANARY, production, now, 'production')).toMatchObject({
      valid: true,
    })
    expect(await verifyCanaryToken(CANARY, production, now, 'staging')).toEqual({
      valid: false,
      reason: 'wrong-environment',
    })
    expect(
      await verifyCanaryToken(CANARY, `v1.${inDays(1)}.${'A'.repeat(43)}`, now, 'staging'),
    ).toEqual({ valid: false, reason: 'malformed' })
  })

  it('is refused by a gateway of another environment with a problem naming why', async () => {
    const app = buildTestApp('http://legacy.test/functions/v1', {
      env: {
        APP_ENV: 'staging',
        BFF_CANARY_SECRET: CANARY,
      },
      native: { 'payment-checkout': async (c) => c.json({ served: 'native' }) },
      extra: {
        rateLimiter: rateLimiterFromConfig(
          loadConfig({ APP_ENV: 'development', RATE_LIMIT_TIMEOUT_MS: '100' }),
        ),
      },
    })
    const res = await app.request('/functions/v1/payment-checkout', {
      method: 'POST',
      headers: {
        authorization: `Bearer ${await userToken('canary-user')}`,
        'x-bff-backend': 'legacy',
        'x-bff-canary': await mintCanaryToken(CANARY, 3600, Date.now(), 'production'),
      },
      body: '{}',
    })
    expect(res.status).toBe(403)
    expect(((await res.json()) as { code: string }).code).toBe('canary-token-wrong-environment')
  })

  it('npm run canary-token mints for the environment asked', async () => {
    const { stdout } = await run('npx', ['tsx', 'scripts/canary-token.ts', '--env', 'production'], {
      env: { ...process.env, BFF_CANARY_SECRET: CANARY, APP_ENV: '' },
    })
    const token = stdout.trim().split('\n').pop() as string
    expect(token.startsWith('v2.production.')).toBe(true)
    expect(await verifyCanaryToken(CANARY, token, Date.now(), 'production')).toMatchObject({
      valid: true,
    })
  })
})

describe('start-up refusals', () => {
  const staging = {
    APP_ENV: 'staging',
    LEGACY_FUNCTIONS_URL: 'https://legacy.example/functions/v1',
    BFF_CANARY_SECRET: CANARY,
    SUPABASE_JWT_SECRET: TEST_JWT_SECRET,
  }
  const refusal = (fn: () => unknown) => {
    try {
      fn()
    } catch (error) {
      if (error instanceof ConfigError) return error.message
      throw error
    }
    return 'accepted'
  }

  it('refuses production without ALLOWED_ORIGINS', () => {
    expect(refusal(() => loadConfig({ ...staging, APP_ENV: 'production' }))).toContain(
      'ALLOWED_ORIGINS',
    )
    expect(
      refusal(() => loadConfig({ ...staging, APP_ENV: 'production', ALLOWED_ORIGINS: APP })),
    ).toBe('accepted')
  })

  it('refuses staging with in-memory rate limits or flags', () => {
    const config = loadConfig(staging)
    expect(refusal(() => rateLimiterFromConfig(config))).toContain('REDIS_URL')
    expect(refusal(() => flagStoreFromConfig(config))).toContain('REDIS_URL')
  })

  it('keeps /metrics closed outside development without an admin token', async () => {
    const app = buildTestApp('http://legacy.test/functions/v1', {
      env: { APP_ENV: 'staging', BFF_CANARY_SECRET: CANARY },
      extra: {
        rateLimiter: rateLimiterFromConfig(
          loadConfig({ APP_ENV: 'development', RATE_LIMIT_TIMEOUT_MS: '100' }),
        ),
      },
    })
    const res = await app.request('/metrics')
    expect(res.status).toBe(403)
    expect(((await res.json()) as { code: string }).code).toBe('metrics-disabled')
  })

  it('refuses one value reused for the canary, JWT and admin secrets', () => {
    const shared = 'one-value-for-everything-0123456789abcdef'
    expect(
      refusal(() =>
        loadConfig({ ...staging, BFF_CANARY_SECRET: shared, SUPABASE_JWT_SECRET: shared }),
      ),
    ).toContain('different from BFF_CANARY_SECRET')
    expect(refusal(() => loadConfig({ ...staging, BFF_ADMIN_TOKEN: TEST_JWT_SECRET }))).toContain(
      'BFF_ADMIN_TOKEN must be different from SUPABASE_JWT_SECRET',
    )
  })

  it('refuses an admin token that is long but not random', () => {
    for (const weak of ['a'.repeat(40), 'abcd'.repeat(8), 'password'.repeat(4)])
      expect(refusal(() => loadConfig({ BFF_ADMIN_TOKEN: weak }))).toContain('BFF_ADMIN_TOKEN')
    for (const random of ['9f2c4e1a7b3d8e6f0a5c2b9d', 'q3V_x8Lm-Zt2Rb7Kp1Yw9NcJ4hD6sGfA'])
      expect(refusal(() => loadConfig({ BFF_ADMIN_TOKEN: random }))).toBe('accepted')
  })
})

describe('worker:deploy', () => {
  it.each([[[]], [['--env', 'development']], [['--dry-run']]])(
    'refuses to deploy without --env staging|production (%j)',
    async (args) => {
      const failure = await run('node', ['scripts/worker-deploy.mjs', ...args]).then(
        () => undefined,
        (error: { code: number; stderr: string }) => error,
      )
      expect(failure?.code).toBe(2)
      expect(failure?.stderr).toContain('worker:deploy needs --env staging|production')
    },
  )
})
