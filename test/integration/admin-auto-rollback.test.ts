import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dbAuditTrail } from '../../src/rollout/audit.js'
import { redisFlagStore } from '../../src/rollout/stores/redis.js'
import {
  adminCall,
  auditDatabase,
  REDIS_URL,
  startGateway,
  type TestGateway,
  uniqueKey,
  within,
} from './flags-helper.js'

const COOLDOWN_S = 10
const key = uniqueKey('auto-rollback')
let database: Awaited<ReturnType<typeof auditDatabase>>
let gw: TestGateway
let other: TestGateway

beforeAll(async () => {
  database = await auditDatabase()
  const routes = {
    'payment-webhook': {
      native: 100,
      rollback: { minSamples: 3, windowSeconds: 10, cooldownSeconds: COOLDOWN_S },
    },
  }
  const make = () =>
    startGateway({
      store: redisFlagStore({ url: REDIS_URL, key }),
      audit: dbAuditTrail(database.db),
      routes,
    })
  gw = await make()
  other = await make()
})

afterAll(async () => {
  await gw?.close()
  await other?.close()
  await database?.drop()
  const redis = new Redis(REDIS_URL)
  await redis.del(key)
  await redis.quit()
})

const hit = async (target: TestGateway, i: number) =>
  (
    await target.app.request('/functions/v1/payment-webhook', {
      method: 'POST',
      headers: { 'x-client-id': `client-${i}`, 'content-type': 'application/json' },
      body: '{}',
    })
  ).headers.get('x-bff-backend')

describe('auto-rollback', () => {
  it('sends a failing native route to legacy, records why, and recovers after the cool-down', async () => {
    expect(await hit(gw, 0)).toBe('native')
    gw.control.failing = true
    other.control.failing = true
    // Three failures: past minSamples, short of the breaker's five.
    for (let i = 1; i <= 3; i++) await hit(gw, i)

    // Held on this instance at once, on the other within a refresh.
    expect(await hit(gw, 100)).toBe('legacy')
    expect(await within(2_500, async () => (await hit(other, 101)) === 'legacy')).toBe(true)
    const routes = (await (await adminCall(gw, 'GET', '/routes')).json()) as {
      routes: { id: string; hold?: { reason: string } }[]
    }
    expect(routes.routes.find((r) => r.id === 'payment-webhook')?.hold?.reason).toMatch(
      /native error rate/,
    )

    let trail = (await dbAuditTrail(database.db).list({ routeId: 'payment-webhook' })).filter(
      (e) => e.source === 'auto-rollback',
    )
    expect(
      await within(2_000, async () => {
        trail = (await dbAuditTrail(database.db).list({ routeId: 'payment-webhook' })).filter(
          (e) => e.source === 'auto-rollback',
        )
        return trail.length === 1
      }),
    ).toBe(true)
    expect(trail[0]).toMatchObject({ from: 100, to: 0, actor: 'auto-rollback' })
    expect(trail[0]?.reason).toMatch(/native error rate [\d.]+% vs legacy/)

    gw.control.failing = false
    other.control.failing = false
    // Bounded: the cool-down, one refresh, and slack.
    expect(
      await within(COOLDOWN_S * 1000 + 3_000, async () => (await hit(gw, 200)) === 'native'),
    ).toBe(true)
    expect(await within(2_000, async () => (await hit(other, 201)) === 'native')).toBe(true)
    expect(
      await within(3_000, async () => {
        trail = (await dbAuditTrail(database.db).list({ routeId: 'payment-webhook' })).filter(
          (e) => e.source === 'auto-rollback',
        )
        return trail.length === 2
      }),
    ).toBe(true)
    expect(trail[0]).toMatchObject({ from: 0, to: 100 })
    expect(trail[0]?.reason).toMatch(/cool-down over/)
    expect(gw.app.metrics.render()).toContain('bff_auto_rollbacks_total{route="payment-webhook"} 1')
  }, 40_000)
})
