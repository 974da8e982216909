import { Redis } from 'ioredis'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { memoryAuditTrail } from '../../src/rollout/audit.js'
import { redisFlagStore } from '../../src/rollout/stores/redis.js'
import { upstashFlagStore } from '../../src/rollout/stores/upstash.js'
import { startUpstashRest } from '../fakes/upstash-rest.js'
import {
  adminCall,
  REDIS_URL,
  redisProxy,
  startGateway,
  type TestGateway,
  uniqueKey,
  within,
} from './flags-helper.js'

const REFRESH_MS = 200
// The propagation bound under test: one refresh interval, plus slack for a loaded machine.
const BOUND_MS = REFRESH_MS + 2_000

const raw = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 })
const keys: string[] = []
const open: TestGateway[] = []

function key(name: string) {
  const k = uniqueKey(name)
  keys.push(k)
  return k
}

async function gateway(url: string, k: string) {
  const gw = await startGateway({
    store: redisFlagStore({ url, key: k, timeoutMs: 300 }),
    audit: memoryAuditTrail(),
    refreshMs: REFRESH_MS,
  })
  open.push(gw)
  return gw
}

async function version(gw: TestGateway): Promise<string> {
  return ((await (await adminCall(gw, 'GET', '/flags')).json()) as { version: string }).version
}

const backendOf = async (gw: TestGateway, clientId: string) =>
  (
    await gw.app.request('/functions/v1/payment-webhook', {
      method: 'POST',
      headers: { 'x-client-id': clientId },
    })
  ).headers.get('x-bff-backend')

afterEach(async () => {
  await Promise.all(open.splice(0).map((gw) => gw.close()))
})

afterAll(async () => {
  if (keys.length) await raw.del(...keys)
  await raw.quit()
})

describe('live flags on a shared Redis', () => {
  it('serves a change made through one instance on both within the refresh bound', async () => {
    const k = key('propagate')
    const a = await gateway(REDIS_URL, k)
    const b = await gateway(REDIS_URL, k)
    expect(await backendOf(b, 'someone')).toBe('legacy')
    const res = await adminCall(a, 'PUT', '/flags/payment-webhook', {
      native: 100,
      reason: 'ramp test',
      version: await version(a),
    })
    expect(res.status).toBe(200)
    expect(await backendOf(a, 'someone')).toBe('native')
    expect(await within(BOUND_MS, async () => (await backendOf(b, 'someone')) === 'native')).toBe(
      true,
    )
    expect(await version(b)).toBe('v1')
  })

  it('refuses concurrent writers holding a stale version: exactly one wins', async () => {
    const k = key('concurrent')
    const a = await gateway(REDIS_URL, k)
    const b = await gateway(REDIS_URL, k)
    const seen = await version(a)
    const answers = await Promise.all(
      [a, b, a, b, a, b].map((gw, i) =>
        adminCall(gw, 'PUT', '/flags/payment-webhook', {
          native: (i + 1) * 10,
          reason: `writer ${i}`,
          version: seen,
        }),
      ),
    )
    const statuses = answers.map((r) => r.status).sort()
    expect(statuses).toEqual([200, 409, 409, 409, 409, 409])
    const refused = (await answers.find((r) => r.status === 409)?.json()) as {
      code: string
      errors: { field: string }[]
    }
    expect(refused.code).toBe('version-conflict')
    expect(refused.errors[0]?.field).toBe('version')
    expect(await raw.hget(k, 'version')).toBe('1')
  })

  it('keeps the last good table when Redis is unreachable, says so, and catches up after', async () => {
    const k = key('down')
    const proxy = await redisProxy()
    try {
      const a = await gateway(REDIS_URL, k)
      const b = await gateway(proxy.url, k)
      await adminCall(a, 'PUT', '/flags/payment-webhook', {
        native: 100,
        reason: 'before outage',
        version: await version(a),
      })
      expect(await within(BOUND_MS, async () => (await version(b)) === 'v1')).toBe(true)

      await proxy.stop()
      const readyBody = async () =>
        (await (await b.app.request('/ready')).json()) as {
          status: string
          checks: Record<string, string>
        }
      expect(
        await within(BOUND_MS + 1_000, async () => (await readyBody()).status === 'degraded'),
      ).toBe(true)
      // Still in rotation: it serves its last good table.
      expect((await b.app.request('/ready')).status).toBe(200)
      expect((await readyBody()).checks['flag-store']).toBe('down')
      const flags = (await (await adminCall(b, 'GET', '/flags')).json()) as {
        version: string
        store: { reachable: boolean }
      }
      expect(flags).toMatchObject({ version: 'v1', store: { reachable: false } })
      expect(await backendOf(b, 'someone')).toBe('native')
      expect(b.app.metrics.render()).toContain('bff_flag_store_up{store="redis"} 0')
      expect(b.logLines.some((l) => l.includes('flag store unreachable'))).toBe(true)
      // A change through B is refused rather than lost.
      const refused = await adminCall(b, 'POST', '/flags/payment-webhook/kill', {
        reason: 'during outage',
      })
      expect(refused.status).toBe(503)

      await adminCall(a, 'POST', '/flags/payment-webhook/kill', { reason: 'while B is cut off' })
      await proxy.start()
      expect(
        await within(BOUND_MS + 3_000, async () => (await backendOf(b, 'someone')) === 'legacy'),
      ).toBe(true)
      expect((await b.app.request('/ready')).status).toBe(200)
    } finally {
      await proxy.stop()
    }
  })

  it('refuses a corrupt record written behind its back and keeps serving', async () => {
    const k = key('corrupt')
    const a = await gateway(REDIS_URL, k)
    await adminCall(a, 'PUT', '/flags/payment-webhook', {
      native: 10,
      reason: 'good',
      version: await version(a),
    })
    await raw.hset(
      k,
      'version',
      '2',
      'overlay',
      JSON.stringify({ routes: { 'payment-checkout': { native: 'lots' } } }),
    )
    await within(BOUND_MS, () => a.flags.status().rejected !== undefined)
    const flags = (await (await adminCall(a, 'GET', '/flags')).json()) as {
      version: string
      store: { rejected: { problems: string[] } }
    }
    expect(flags.version).toBe('v1')
    expect(flags.store.rejected.problems.join()).toMatch(/overlay/)
  })
})

describe('the Upstash store speaks the same record', () => {
  it('writes and reads the record the ioredis store reads, with the same compare-and-set', async () => {
    const fake = await startUpstashRest({ redisUrl: REDIS_URL })
    try {
      const k = key('upstash')
      const upstash = upstashFlagStore({ url: fake.url, token: fake.token, key: k })
      const redis = redisFlagStore({ url: REDIS_URL, key: k })
      const overlay = JSON.stringify({
        routes: { 'payment-checkout': { native: 10 } },
        updatedAt: 'now',
        updatedBy: 't',
      })
      expect(await upstash.compareAndSet(0, overlay)).toBe(true)
      expect(await upstash.compareAndSet(0, overlay)).toBe(false)
      expect(await redis.read()).toEqual({ version: 1, overlay, holds: {} })
      expect(await upstash.read()).toEqual({ version: 1, overlay, holds: {} })
      expect(
        await redis.placeHold('payment-checkout', '{"h":1}', Date.now() + 60_000, Date.now()),
      ).toBe(true)
      expect(
        await upstash.placeHold('payment-checkout', '{"h":2}', Date.now() + 60_000, Date.now()),
      ).toBe(false)
      expect(await upstash.releaseHold('payment-checkout', '{"h":1}')).toBe(true)
      expect(await redis.read()).toEqual({ version: 1, overlay, holds: {} })
      expect(fake.requests.length).toBeGreaterThan(0)
      await redis.close()
    } finally {
      await fake.close()
    }
  })
})
