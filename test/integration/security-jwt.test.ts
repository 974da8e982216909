import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Hono } from 'hono'
import {
  base64url,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  SignJWT,
} from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { identify } from '../../src/middleware/identify.js'
import { createLogger } from '../../src/observability/log.js'
import type { AuthPolicy } from '../../src/route-table.js'
import { createJwtVerifier } from '../../src/security/jwt.js'
import type { AppEnv, IdentityVerifier } from '../../src/types.js'
import { routeMatch, securityApp } from './security-app.js'

const SECRET = 'super-secret-jwt-token-with-at-least-32-characters-long'
const SUPABASE_URL = 'http://127.0.0.1:54321'
const ISSUER = `${SUPABASE_URL}/auth/v1`
const USER = '8d0fd2b3-9ca7-4d9e-a95f-9e13f3a7e7a1'

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>

/** A JWKS endpoint like Supabase's `/auth/v1/.well-known/jwks.json`, whose keys a test can change. */
class JwksServer {
  keys: JWK[] = []
  fetches = 0
  #server: Server | undefined
  port = 0

  async start(port = 0) {
    this.#server = createServer((_req, res) => {
      this.fetches++
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=600' })
      res.end(JSON.stringify({ keys: this.keys }))
    })
    await new Promise<void>((resolve) => this.#server?.listen(port, '127.0.0.1', resolve))
    this.port = (this.#server.address() as AddressInfo).port
    return this
  }

  get url() {
    return `http://127.0.0.1:${this.port}/auth/v1/.well-known/jwks.json`
  }

  async stop() {
    const server = this.#server
    if (!server) return
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
    this.#server = undefined
  }
}

let es256: KeyPair
let rs256: KeyPair
let rotated: KeyPair
let es256Jwk: JWK
let rs256Jwk: JWK
let rotatedJwk: JWK
const jwks = new JwksServer()

beforeAll(async () => {
  es256 = await generateKeyPair('ES256', { extractable: true })
  rs256 = await generateKeyPair('RS256', { extractable: true })
  rotated = await generateKeyPair('ES256', { extractable: true })
  es256Jwk = { ...(await exportJWK(es256.publicKey)), kid: 'es-1', alg: 'ES256', use: 'sig' }
  rs256Jwk = { ...(await exportJWK(rs256.publicKey)), kid: 'rs-1', alg: 'RS256', use: 'sig' }
  rotatedJwk = { ...(await exportJWK(rotated.publicKey)), kid: 'es-2', alg: 'ES256', use: 'sig' }
  jwks.keys = [es256Jwk, rs256Jwk]
  await jwks.start()
})

afterAll(async () => {
  await jwks.stop()
})

const now = () => Math.floor(Date.now() / 1000)

function userClaims(overrides: JWTPayload = {}): JWTPayload {
  return {
    iss: ISSUER,
    aud: 'authenticated',
    sub: USER,
    role: 'authenticated',
    aal: 'aal1',
    session_id: 'c0a1b2c3',
    iat: now(),
    exp: now() + 3600,
    ...overrides,
  }
}

async function sign(
  claims: JWTPayload,
  {
    alg = 'ES256',
    kid = 'es-1',
    key,
  }: { alg?: string; kid?: string; key?: CryptoKey | Uint8Array } = {},
) {
  const signingKey =
    key ??
    (alg === 'HS256'
      ? new TextEncoder().encode(SECRET)
      : alg === 'RS256'
        ? rs256.privateKey
        : es256.privateKey)
  const header = alg === 'HS256' ? { alg, typ: 'JWT' } : { alg, kid, typ: 'JWT' }
  return new SignJWT(claims).setProtectedHeader(header).sign(signingKey)
}

function verifierFor(options: Partial<Parameters<typeof createJwtVerifier>[0]> = {}) {
  return createJwtVerifier({ jwksUrl: jwks.url, hs256Secret: SECRET, issuer: ISSUER, ...options })
}

const logger = createLogger({ level: 'error', write: () => {} })

function appWith(verifier: IdentityVerifier, auth: AuthPolicy = 'required'): Hono<AppEnv> {
  return securityApp(
    (app) => {
      app.use(identify({ verifier, logger, serviceRoleKey: 'sb_secret_test_service_key_123' }))
      app.post('/api/v1/checkout', (c) =>
        c.json({ subject: c.var.identity?.subject ?? null, role: c.var.identity?.role ?? null }),
      )
    },
    routeMatch('payment-checkout', { auth }),
  )
}

async function call(app: Hono<AppEnv>, token?: string) {
  const res = await app.request('/api/v1/checkout', {
    method: 'POST',
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  })
  const body = (await res.json()) as Record<string, unknown>
  return { status: res.status, body, challenge: res.headers.get('www-authenticate') }
}

describe('JWT verification through identify (Supabase-style tokens)', () => {
  // Built once the JWKS server has its port.
  let app: Hono<AppEnv>
  beforeAll(() => {
    app = appWith(verifierFor())
  })

  it('accepts a valid ES256 token from the JWKS', async () => {
    const { status, body } = await call(app, await sign(userClaims()))
    expect(status).toBe(200)
    expect(body).toEqual({ subject: USER, role: 'authenticated' })
  })

  it('accepts a valid RS256 token from the JWKS', async () => {
    const { status } = await call(app, await sign(userClaims(), { alg: 'RS256', kid: 'rs-1' }))
    expect(status).toBe(200)
  })

  it('accepts a valid HS256 token signed with the legacy secret', async () => {
    const { status, body } = await call(app, await sign(userClaims(), { alg: 'HS256' }))
    expect(status).toBe(200)
    expect(body.subject).toBe(USER)
  })

  it('refuses an expired token with token-expired and an RFC 6750 challenge', async () => {
    const { status, body, challenge } = await call(
      app,
      await sign(userClaims({ iat: now() - 7200, exp: now() - 120 })),
    )
    expect(status).toBe(401)
    expect(body.code).toBe('token-expired')
    expect(body.type).toBe('https://bff.dev/problems/token-expired')
    expect(challenge).toBe(
      'Bearer error="invalid_token", error_description="The access token expired"',
    )
  })

  it('tolerates a little clock skew on exp and nbf', async () => {
    expect((await call(app, await sign(userClaims({ exp: now() - 5 })))).status).toBe(200)
    expect((await call(app, await sign(userClaims({ nbf: now() + 5 })))).status).toBe(200)
  })

  it('refuses a token that is not yet valid', async () => {
    const { status, body, challenge } = await call(
      app,
      await sign(userClaims({ nbf: now() + 600 })),
    )
    expect(status).toBe(401)
    expect(body.code).toBe('invalid-token')
    expect(challenge).toMatch(/^Bearer error="invalid_token", error_description="[^"]+"$/)
  })

  it('refuses a token without exp', async () => {
    const claims = userClaims()
    delete claims.exp
    expect((await call(app, await sign(claims))).body.code).toBe('invalid-token')
  })

  it('refuses another issuer', async () => {
    const { status, body } = await call(
      app,
      await sign(userClaims({ iss: 'https://evil.supabase.co/auth/v1' })),
    )
    expect(status).toBe(401)
    expect(body.code).toBe('invalid-token')
    expect(body.detail).toMatch(/issuer/)
  })

  it('refuses another audience', async () => {
    const { status, body } = await call(app, await sign(userClaims({ aud: 'some-other-api' })))
    expect(status).toBe(401)
    expect(body.detail).toMatch(/audience/)
  })

  it('refuses alg none', async () => {
    const header = base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }))
    const payload = base64url.encode(JSON.stringify(userClaims()))
    for (const token of [`${header}.${payload}.`, `${header}.${payload}.c2ln`]) {
      const { status, body, challenge } = await call(app, token)
      expect(status).toBe(401)
      expect(body.code).toBe('invalid-token')
      expect(challenge).toContain('error="invalid_token"')
    }
  })

  it('refuses HS256 signed with the public key (algorithm confusion)', async () => {
    const pem = await exportSPKI(es256.publicKey)
    const jwkJson = JSON.stringify(es256Jwk)
    for (const secret of [pem, jwkJson]) {
      const forged = await sign(userClaims(), {
        alg: 'HS256',
        key: new TextEncoder().encode(secret),
      })
      expect((await call(app, forged)).status).toBe(401)
      // Also when no HS256 secret is configured at all.
      const jwksOnly = appWith(verifierFor({ hs256Secret: undefined }))
      expect((await call(jwksOnly, forged)).body.code).toBe('invalid-token')
    }
  })

  it('refuses an ES256 token that names an HMAC kid or claims RS256 over an EC key', async () => {
    const lying = await sign(userClaims(), { alg: 'ES256', kid: 'rs-1' })
    expect((await call(app, lying)).status).toBe(401)
  })

  it('refuses a tampered payload', async () => {
    const token = await sign(userClaims())
    const [h, , s] = token.split('.')
    const evil = base64url.encode(
      JSON.stringify(userClaims({ sub: 'someone-else', role: 'service_role' })),
    )
    const { status, body } = await call(app, `${h}.${evil}.${s}`)
    expect(status).toBe(401)
    expect(body.detail).toMatch(/signature/)
  })

  it('refuses garbage that looks like a JWT', async () => {
    expect((await call(app, 'eyJhbGciOi.eyJzdWIi.sig')).status).toBe(401)
  })
})

describe('JWKS rotation and outages', () => {
  it('refetches the JWKS for an unknown kid, then refuses a kid that stays unknown', async () => {
    const server = await new JwksServer().start()
    server.keys = [es256Jwk]
    try {
      const app = appWith(verifierFor({ jwksUrl: server.url, jwksCooldownMs: 0 }))
      expect((await call(app, await sign(userClaims()))).status).toBe(200)
      expect(server.fetches).toBe(1)

      server.keys = [es256Jwk, rotatedJwk]
      const rotatedToken = await sign(userClaims(), { kid: 'es-2', key: rotated.privateKey })
      expect((await call(app, rotatedToken)).status).toBe(200)
      expect(server.fetches).toBe(2)

      const unknown = await sign(userClaims(), { kid: 'es-404', key: rotated.privateKey })
      const { status, body, challenge } = await call(app, unknown)
      expect(status).toBe(401)
      expect(body.code).toBe('invalid-token')
      expect(body.detail).toMatch(/unknown key/)
      expect(challenge).toContain('error="invalid_token"')
      expect(server.fetches).toBe(3)
    } finally {
      await server.stop()
    }
  })

  it('does not refetch for unknown kids during the cooldown', async () => {
    const server = await new JwksServer().start()
    server.keys = [es256Jwk]
    try {
      const app = appWith(verifierFor({ jwksUrl: server.url, jwksCooldownMs: 60_000 }))
      expect((await call(app, await sign(userClaims()))).status).toBe(200)
      for (let i = 0; i < 5; i++) {
        const unknown = await sign(userClaims({ jti: String(i) }), {
          kid: 'es-404',
          key: rotated.privateKey,
        })
        expect((await call(app, unknown)).status).toBe(401)
      }
      expect(server.fetches).toBe(1)
    } finally {
      await server.stop()
    }
  })

  it('keeps verifying known keys while the JWKS endpoint is down; unknown keys get 401', async () => {
    const server = await new JwksServer().start()
    server.keys = [es256Jwk]
    let clock = Date.now()
    const app = appWith(
      verifierFor({
        jwksUrl: server.url,
        jwksCacheMaxAgeMs: 600_000,
        jwksCooldownMs: 30_000,
        jwksTimeoutMs: 1_000,
        cacheSize: 0,
        clock: () => clock,
      }),
    )
    const token = () =>
      sign(userClaims({ iat: Math.floor(clock / 1000), exp: Math.floor(clock / 1000) + 3600 }))
    expect((await call(app, await token())).status).toBe(200)
    await server.stop()

    // Past the cache age: jose's own remote set would refetch, fail, and refuse this token.
    clock += 11 * 60_000
    expect((await call(app, await token())).status).toBe(200)
    expect((await call(app, await token())).status).toBe(200)
    clock += 60_000
    expect((await call(app, await token())).status).toBe(200)

    const unknown = await sign(
      userClaims({ iat: Math.floor(clock / 1000), exp: Math.floor(clock / 1000) + 3600 }),
      { kid: 'es-2', key: rotated.privateKey },
    )
    const { status, body } = await call(app, unknown)
    expect(status).toBe(401)
    expect(body.code).toBe('invalid-token')
  })

  it('answers 401 when the JWKS has never been reachable', async () => {
    const server = await new JwksServer().start()
    const deadUrl = server.url
    await server.stop()
    const app = appWith(verifierFor({ jwksUrl: deadUrl, jwksTimeoutMs: 1_000 }))
    const { status, body } = await call(app, await sign(userClaims()))
    expect(status).toBe(401)
    expect(body.detail).toMatch(/could not be loaded/)
    // HS256 tokens do not need the JWKS.
    expect((await call(app, await sign(userClaims(), { alg: 'HS256' }))).status).toBe(200)
  })
})

describe('auth policies', () => {
  let verifier: IdentityVerifier
  beforeAll(() => {
    verifier = verifierFor()
  })
  const anonKey = () =>
    sign(
      { iss: 'supabase', ref: 'localref', role: 'anon', iat: now(), exp: now() + 3600 },
      { alg: 'HS256' },
    )
  const serviceKey = () =>
    sign(
      { iss: 'supabase', ref: 'localref', role: 'service_role', iat: now(), exp: now() + 3600 },
      { alg: 'HS256' },
    )

  it('required: no token → 401 with a bare Bearer challenge', async () => {
    const { status, body, challenge } = await call(appWith(verifier, 'required'))
    expect(status).toBe(401)
    expect(body.code).toBe('authentication-required')
    expect(challenge).toBe('Bearer')
  })

  it('required: the anon key (what supabase-js sends with no session) → 401', async () => {
    const { status, body } = await call(appWith(verifier, 'required'), await anonKey())
    expect(status).toBe(401)
    expect(body.code).toBe('authentication-required')
  })

  it('required: the service-role key is not a user → 403', async () => {
    const { status, body, challenge } = await call(
      appWith(verifier, 'required'),
      await serviceKey(),
    )
    expect(status).toBe(403)
    expect(body.code).toBe('forbidden-role')
    expect(challenge).toContain('error="insufficient_scope"')
  })

  it('required: a non-JWT API key is not a user token', async () => {
    const { status } = await call(appWith(verifier, 'required'), 'sb_publishable_abc123')
    expect(status).toBe(401)
  })

  it('optional: no token, the anon key and a publishable key pass; a bad token does not', async () => {
    const app = appWith(verifier, 'optional')
    expect(await call(app)).toMatchObject({ status: 200, body: { subject: null, role: null } })
    expect(await call(app, await anonKey())).toMatchObject({ status: 200, body: { role: 'anon' } })
    expect(await call(app, 'sb_publishable_abc123')).toMatchObject({
      status: 200,
      body: { role: null },
    })
    const expired = await sign(userClaims({ exp: now() - 600 }))
    expect(await call(app, expired)).toMatchObject({ status: 401, body: { code: 'token-expired' } })
    expect((await call(app, `${await sign(userClaims())}x`)).status).toBe(401)
  })

  it('none: the token is ignored entirely', async () => {
    const app = appWith(verifier, 'none')
    expect(await call(app, 'eyJ.broken.token')).toMatchObject({
      status: 200,
      body: { subject: null },
    })
  })

  it('service: only the service role passes', async () => {
    const app = appWith(verifier, 'service')
    expect(await call(app, await serviceKey())).toMatchObject({
      status: 200,
      body: { role: 'service_role' },
    })
    expect(await call(app, 'sb_secret_test_service_key_123')).toMatchObject({
      status: 200,
      body: { role: 'service_role' },
    })
    expect(await call(app, 'sb_secret_test_service_key_124')).toMatchObject({ status: 401 })
    expect(await call(app, await sign(userClaims()))).toMatchObject({
      status: 403,
      body: { code: 'forbidden-role' },
    })
    expect(await call(app, await anonKey())).toMatchObject({ status: 403 })
    expect(await call(app)).toMatchObject({ status: 401 })
  })

  it('an anon-looking token from another issuer is still refused', async () => {
    const fake = await sign(
      { iss: 'not-supabase', role: 'service_role', iat: now(), exp: now() + 60 },
      { alg: 'HS256' },
    )
    expect((await call(appWith(verifier, 'service'), fake)).status).toBe(401)
  })

  it('development decode-only mode marks identities unverified; it must be asked for', async () => {
    expect(() => identify({ logger })).toThrow(/verifier/)
    const app = securityApp(
      (a) => {
        a.use(identify({ logger, allowUnverified: true }))
        a.post('/api/v1/checkout', (c) => c.json({ verified: c.var.identity?.verified }))
      },
      routeMatch('payment-checkout', { auth: 'required' }),
    )
    const token = await sign(userClaims(), { key: rotated.privateKey, kid: 'whatever' })
    const res = await app.request('/api/v1/checkout', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ verified: false })
  })
})

describe('verified-token cache', () => {
  it('serves a repeat from cache but never past exp', async () => {
    const server = await new JwksServer().start()
    server.keys = [es256Jwk]
    try {
      let clock = Date.now()
      const verifier = verifierFor({
        jwksUrl: server.url,
        clockToleranceSec: 0,
        clock: () => clock,
      })
      const exp = Math.floor(clock / 1000) + 60
      const token = await sign(userClaims({ iat: exp - 120, exp }))
      const first = await verifier.verify(token)
      expect(first.sub).toBe(USER)
      await server.stop()
      // No JWKS and no key needed: served from cache.
      expect((await verifier.verify(token)).sub).toBe(USER)
      clock = exp * 1000 + 1
      await expect(verifier.verify(token)).rejects.toMatchObject({
        status: 401,
        code: 'token-expired',
      })
    } finally {
      await server.stop()
    }
  })
})
