import { randomUUID } from 'node:crypto'
import { createServer as createHttpServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createServer, type Server, type Socket } from 'node:net'
import { Redis as UpstashRedis } from '@upstash/redis/cloudflare'
import type { Hono } from 'hono'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { loadConfig } from '../../src/config.js'
import { type RateLimitDecision, rateLimit } from '../../src/middleware/rate-limit.js'
import { createLogger } from '../../src/observability/log.js'
import type { RateLimitPolicy } from '../../src/route-table.js'
import {
  createRateLimiter,
  RateLimiterTimeoutError,
  rateLimiterFromConfig,
} from '../../src/security/ratelimit/index.js'
import { createIoredisAdapter } from '../../src/security/ratelimit/redis-adapter.js'
import type { AppEnv, RateLimiter } from '../../src/types.js'
import { startUpstashRest, type UpstashRestFake } from '../fakes/upstash-rest.js'
import { routeMatch, securityApp } from './security-app.js'

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const TIMEOUT_MS = 250
/** Generous room for a loaded CI machine; the point is "bounded", not "fast". */
const SLACK_MS = 3_000

const closers: Array<() => Promise<void>> = []
afterEach(async () => {
  while (closers.length) await closers.pop()?.()
})

let admin: Redis
beforeAll(() => {
  admin = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 })
})
afterAll(async () => {
  await admin.quit()
})

/** A key prefix no other test (or suite sharing this Redis) uses; its keys are removed after. */
function uniquePrefix() {
  const prefix = `test:security-rl:${randomUUID()}`
  closers.push(async () => {
    const keys = await admin.keys(`${prefix}*`)
    if (keys.length) await admin.del(...keys)
  })
  return prefix
}

function redisLimiter(prefix: string, url = REDIS_URL, timeoutMs = TIMEOUT_MS) {
  const limiter = createRateLimiter({
    store: 'redis',
    redis: createIoredisAdapter(url, { commandTimeoutMs: 2_000, connectTimeoutMs: 1_000 }),
    timeoutMs,
    prefix,
  })
  closers.push(() => limiter.close())
  return limiter
}

function capture() {
  const lines: Record<string, unknown>[] = []
  const logger = createLogger({ level: 'debug', write: (line) => lines.push(JSON.parse(line)) })
  return { lines, logger }
}

function limitedApp(
  limiter: RateLimiter,
  policy: RateLimitPolicy,
  {
    id = 'payment-checkout',
    outcomes = [] as RateLimitDecision[],
    logger = capture().logger,
    trustedIpHeader = 'x-forwarded-for',
    forwardedHops = 1,
  } = {},
): Hono<AppEnv> {
  return securityApp(
    (app) => {
      app.use(
        rateLimit({
          limiter,
          logger,
          trustedIpHeader,
          forwardedHops,
          onOutcome: (_route, outcome) => outcomes.push(outcome),
        }),
      )
      app.post('*', (c) => c.json({ ok: true }))
    },
    routeMatch(id, { rateLimit: policy }),
  )
}

const post = (app: Hono<AppEnv>, ip = '203.0.113.7') =>
  app.request('/api/v1/checkout', { method: 'POST', headers: { 'x-forwarded-for': ip } })

/** A port on loopback where nothing listens. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

/** A TCP server that accepts connections and never says a word (a hung Redis). */
async function silentServer(): Promise<{ port: number; server: Server }> {
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    sockets.add(socket)
    socket.on('error', () => {})
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  closers.push(async () => {
    for (const socket of sockets) socket.destroy()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })
  return { port: (server.address() as AddressInfo).port, server }
}

const closed = (limit: number): RateLimitPolicy => ({
  limit,
  windowSeconds: 60,
  failMode: 'closed',
})
const open = (limit: number): RateLimitPolicy => ({ limit, windowSeconds: 60, failMode: 'open' })

describe('Redis rate limiter (real Redis)', () => {
  it('holds the limit across two limiter instances on separate connections', async () => {
    const prefix = uniquePrefix()
    const a = limitedApp(redisLimiter(prefix), closed(3))
    const b = limitedApp(redisLimiter(prefix), closed(3))
    const statuses = []
    for (const app of [a, b, a, b, a]) statuses.push((await post(app)).status)
    expect(statuses).toEqual([200, 200, 200, 429, 429])
    // Another client is counted on its own.
    expect((await post(b, '198.51.100.9')).status).toBe(200)
  })

  it('answers 429 with Retry-After and RateLimit-* headers over the limit', async () => {
    const app = limitedApp(redisLimiter(uniquePrefix()), closed(2))
    const first = await post(app)
    expect(first.status).toBe(200)
    expect(first.headers.get('ratelimit-limit')).toBe('2')
    expect(first.headers.get('ratelimit-remaining')).toBe('1')
    const reset = Number(first.headers.get('ratelimit-reset'))
    expect(reset).toBeGreaterThanOrEqual(0)
    expect(reset).toBeLessThanOrEqual(60)
    expect((await post(app)).headers.get('ratelimit-remaining')).toBe('0')

    const limited = await post(app)
    expect(limited.status).toBe(429)
    expect(limited.headers.get('content-type')).toBe('application/problem+json')
    const retryAfter = Number(limited.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThanOrEqual(1)
    expect(retryAfter).toBeLessThanOrEqual(60)
    expect(limited.headers.get('ratelimit-remaining')).toBe('0')
    expect(await limited.json()).toMatchObject({ status: 429, code: 'rate-limited' })
  })

  it('counts a verified subject, not the IP, when there is one', async () => {
    const limiter = redisLimiter(uniquePrefix())
    const seen: string[] = []
    const spy: RateLimiter = {
      kind: 'spy',
      limit: (route, identifier, policy) => {
        seen.push(identifier)
        return limiter.limit(route, identifier, policy)
      },
    }
    const app = securityApp(
      (a) => {
        a.use(async (c, next) => {
          if (c.req.header('x-user')) {
            c.set('identity', {
              subject: c.req.header('x-user'),
              role: 'authenticated',
              claims: {},
              verified: true,
            })
          }
          await next()
        })
        a.use(
          rateLimit({ limiter: spy, logger: capture().logger, trustedIpHeader: 'x-forwarded-for' }),
        )
        a.post('*', (c) => c.json({ ok: true }))
      },
      routeMatch('payment-checkout', { rateLimit: closed(5) }),
    )
    await app.request('/x', {
      method: 'POST',
      headers: { 'x-user': 'u-1', 'x-forwarded-for': '203.0.113.7' },
    })
    await app.request('/x', {
      method: 'POST',
      headers: { 'x-forwarded-for': 'spoofed, 203.0.113.8' },
    })
    await app.request('/x', {
      method: 'POST',
      headers: { 'x-forwarded-for': '2001:db8:1:2:3:4:5:6' },
    })
    expect(seen).toEqual(['sub:u-1', 'ip:203.0.113.8', 'ip:2001:db8:1:2::/64'])
  })

  it('a closed Redis port: the limiter rejects and a fail-closed route answers 503 in time', async () => {
    const port = await closedPort()
    const limiter = redisLimiter(uniquePrefix(), `redis://127.0.0.1:${port}`)
    await expect(limiter.limit('payment-checkout', 'ip:x', closed(5))).rejects.toBeInstanceOf(Error)

    const outcomes: RateLimitDecision[] = []
    const { lines, logger } = capture()
    const app = limitedApp(limiter, closed(5), { outcomes, logger })
    const started = Date.now()
    const res = await post(app)
    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS + SLACK_MS)
    expect(res.status).toBe(503)
    const retryAfter = Number(res.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThanOrEqual(1)
    expect(retryAfter).toBeLessThanOrEqual(5)
    expect(await res.json()).toMatchObject({ status: 503, code: 'rate-limiter-unavailable' })
    expect(outcomes).toEqual(['failed-closed'])
    expect(lines.some((l) => l.message === 'rate limiter failed closed')).toBe(true)
  })

  it('a Redis that accepts and never answers: rejected at the deadline, 503 on fail-closed', async () => {
    const { port } = await silentServer()
    const limiter = redisLimiter(uniquePrefix(), `redis://127.0.0.1:${port}`)
    const started = Date.now()
    await expect(limiter.limit('payment-checkout', 'ip:x', closed(5))).rejects.toBeInstanceOf(
      RateLimiterTimeoutError,
    )
    expect(Date.now() - started).toBeGreaterThanOrEqual(TIMEOUT_MS - 5)
    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS + SLACK_MS)

    const res = await post(limitedApp(limiter, closed(5)))
    expect(res.status).toBe(503)
    expect(res.headers.get('retry-after')).toMatch(/^[1-5]$/)
  })

  it('a fail-open route passes when Redis hangs, and logs every open', async () => {
    const { port } = await silentServer()
    const limiter = redisLimiter(uniquePrefix(), `redis://127.0.0.1:${port}`)
    const outcomes: RateLimitDecision[] = []
    const { lines, logger } = capture()
    const app = limitedApp(limiter, open(600), { id: 'payment-webhook', outcomes, logger })
    for (let i = 0; i < 2; i++) {
      const res = await post(app)
      expect(res.status).toBe(200)
      expect(res.headers.get('ratelimit-limit')).toBeNull()
    }
    expect(outcomes).toEqual(['failed-open', 'failed-open'])
    const warnings = lines.filter((l) => l.message === 'rate limiter failed open')
    expect(warnings).toHaveLength(2)
    expect(warnings[0]).toMatchObject({
      severity: 'WARNING',
      route: 'payment-webhook',
      limiter: 'redis',
    })
  })

  it('the library never gets to answer "success on timeout"', async () => {
    // With @upstash/ratelimit's default timeout this would resolve { success: true }.
    const { port } = await silentServer()
    const limiter = redisLimiter(uniquePrefix(), `redis://127.0.0.1:${port}`, 100)
    const results = await Promise.allSettled(
      Array.from({ length: 3 }, () => limiter.limit('ai-reply-suggest', 'sub:u', closed(1))),
    )
    expect(results.every((r) => r.status === 'rejected')).toBe(true)
  })

  it('the ioredis adapter surfaces NOSCRIPT so the library can fall back to EVAL', async () => {
    const adapter = createIoredisAdapter(REDIS_URL)
    closers.push(() => adapter.close?.() ?? Promise.resolve())
    await expect(adapter.evalsha('0'.repeat(40), ['k'], [1])).rejects.toThrow(/NOSCRIPT/)
    expect(await adapter.eval('return ARGV[1]', ['k'], [42])).toBe('42')
  })

  it('loads each library script once (Upstash shebang stripped), then uses EVALSHA', async () => {
    const adapter = createIoredisAdapter(REDIS_URL)
    const evals = vi.spyOn(adapter.client, 'eval')
    const evalshas = vi.spyOn(adapter.client, 'evalsha')
    const limiter = createRateLimiter({
      store: 'redis',
      redis: adapter,
      timeoutMs: 2_000,
      prefix: uniquePrefix(),
    })
    closers.push(() => limiter.close())
    for (let i = 0; i < 3; i++) {
      expect((await limiter.limit('refund-process', 'sub:u', closed(5))).allowed).toBe(true)
    }
    expect(evals).toHaveBeenCalledTimes(1)
    expect(String(evals.mock.calls[0]?.[0])).not.toMatch(/^#!/)
    expect(evalshas).toHaveBeenCalledTimes(2)
  })
})

describe('Upstash REST rate limiter (through the REST stand-in over real Redis)', () => {
  let fake: UpstashRestFake
  beforeAll(async () => {
    fake = await startUpstashRest({ redisUrl: REDIS_URL })
  })
  afterAll(async () => {
    await fake.close()
  })

  it('the stand-in speaks the protocol @upstash/redis expects, base64 included', async () => {
    const redis = new UpstashRedis({ url: fake.url, token: fake.token, enableTelemetry: false })
    const key = `${uniquePrefix()}:probe`
    expect(await redis.set(key, 'héllo 안녕')).toBe('OK')
    expect(await redis.get(key)).toBe('héllo 안녕')
    const p = redis.pipeline()
    p.incr(`${key}:n`)
    p.get(key)
    expect(await p.exec()).toEqual([1, 'héllo 안녕'])
    const tx = redis.multi()
    tx.incr(`${key}:n`)
    tx.lrange(`${key}:missing`, 0, -1)
    expect(await tx.exec()).toEqual([2, []])
    await expect(redis.evalsha('0'.repeat(40), [], [])).rejects.toThrow(/NOSCRIPT/)
    const bad = new UpstashRedis({
      url: fake.url,
      token: 'wrong',
      enableTelemetry: false,
      retry: false,
    })
    await expect(bad.get(key)).rejects.toThrow(/Unauthorized/)
    expect(fake.requests.some((r) => r.path === '/pipeline' && r.base64)).toBe(true)
    expect(fake.requests.some((r) => r.path === '/multi-exec')).toBe(true)
  })

  it('limits across instances and answers 429 like the Redis store', async () => {
    const prefix = uniquePrefix()
    const make = () =>
      createRateLimiter({
        store: 'upstash',
        upstashUrl: fake.url,
        upstashToken: fake.token,
        timeoutMs: 2_000,
        prefix,
      })
    const a = limitedApp(make(), closed(2))
    const b = limitedApp(make(), closed(2))
    const before = fake.requests.length
    expect((await post(a)).status).toBe(200)
    expect((await post(b)).status).toBe(200)
    const res = await post(a)
    expect(res.status).toBe(429)
    expect(res.headers.get('retry-after')).toMatch(/^\d+$/)
    const used = fake.requests.slice(before)
    expect(used.length).toBeGreaterThanOrEqual(3)
    expect(used.every((r) => r.base64)).toBe(true)
  })

  it('an Upstash endpoint that never answers fails closed within the deadline', async () => {
    const sockets = new Set<import('node:net').Socket>()
    const hung = createHttpServer(() => {})
    hung.on('connection', (s) => sockets.add(s))
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve))
    closers.push(async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => hung.close(() => resolve()))
    })
    const limiter = createRateLimiter({
      store: 'upstash',
      upstashUrl: `http://127.0.0.1:${(hung.address() as AddressInfo).port}`,
      upstashToken: 't',
      timeoutMs: TIMEOUT_MS,
    })
    const started = Date.now()
    const res = await post(limitedApp(limiter, closed(5)))
    expect(res.status).toBe(503)
    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS + SLACK_MS)
  })
})

describe('rateLimiterFromConfig', () => {
  const base = {
    SUPABASE_URL: 'https://ref.supabase.co',
    BFF_CANARY_SECRET: 'x'.repeat(32),
    ALLOWED_ORIGINS: 'https://app.example.com',
  }

  it('uses memory in development and refuses it in production', async () => {
    const dev = rateLimiterFromConfig(loadConfig({}))
    expect(dev.kind).toBe('memory')
    expect(() => rateLimiterFromConfig(loadConfig({ ...base, APP_ENV: 'production' }))).toThrow(
      /config error: REDIS_URL must be set/,
    )
  })

  it('picks Redis on Node when connectRedis is given, Upstash otherwise', async () => {
    const config = loadConfig({
      ...base,
      APP_ENV: 'production',
      REDIS_URL,
      UPSTASH_REDIS_REST_URL: 'https://example.upstash.io',
      UPSTASH_REDIS_REST_TOKEN: 'token',
    })
    const node = rateLimiterFromConfig(config, { connectRedis: (url) => createIoredisAdapter(url) })
    closers.push(() => node.close())
    expect(node.kind).toBe('redis')
    expect(rateLimiterFromConfig(config).kind).toBe('upstash')
    const redisOnly = loadConfig({ ...base, APP_ENV: 'production', REDIS_URL })
    expect(() => rateLimiterFromConfig(redisOnly)).toThrow(
      /REDIS_URL must be used by the Node entry/,
    )
  })

  it('the memory limiter counts per route and identifier', async () => {
    let now = 1_000_000
    const limiter = createRateLimiter({ store: 'memory', timeoutMs: 100, clock: () => now })
    const policy = closed(2)
    const hits = []
    for (let i = 0; i < 3; i++) hits.push((await limiter.limit('r', 'ip:a', policy)).allowed)
    expect(hits).toEqual([true, true, false])
    expect((await limiter.limit('r', 'ip:b', policy)).allowed).toBe(true)
    expect((await limiter.limit('other', 'ip:a', policy)).allowed).toBe(true)
    now += 120_000
    expect((await limiter.limit('r', 'ip:a', policy)).allowed).toBe(true)
  })
})
