import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dbAuditTrail } from '../../src/rollout/audit.js'
import { redisFlagStore } from '../../src/rollout/stores/redis.js'
import { redisFleetStore } from '../../src/rollout/stores/redis-fleet.js'
import type { NativeHandler } from '../../src/types.js'
import {
  adminCall,
  auditDatabase,
  REDIS_URL,
  startGateway,
  type TestGateway,
  uniqueKey,
  within,
} from './flags-helper.js'

/**
 * Two gateway instances sharing the real Redis (flag store and fleet counters) and a real
 * PostgreSQL audit trail: the ramp gate judges, and the progress view reports, what both
 * instances served together; shadow results from one instance refuse a step asked on the other.
 */

// biome-ignore lint/suspicious/noExplicitAny: answers are checked field by field, deep paths included
type Json = Record<string, any>
const json = async (res: Response): Promise<Json> => (await res.json()) as Json

// A read-only route: native answers differently from the helper's legacy stand-in.
const exportNative: NativeHandler = async (c) => c.json({ served: 'native' })

describe('migration safety across two instances on the real Redis', () => {
  let a: TestGateway
  let b: TestGateway
  let audit: Awaited<ReturnType<typeof auditDatabase>>
  const flagKey = uniqueKey('flags')
  const fleetPrefix = uniqueKey('fleet')
  const instance = () =>
    startGateway({
      store: redisFlagStore({ url: REDIS_URL, key: flagKey }),
      audit: dbAuditTrail(audit.db),
      fleetStore: redisFleetStore({ url: REDIS_URL, prefix: fleetPrefix }),
      native: { 'settlement-export': exportNative },
      routes: {
        'payment-checkout': { native: 0, group: 'payments' },
        'payment-webhook': {
          native: 10,
          group: 'payments',
          rollback: { enabled: false, minSamples: 20 },
        },
        'refund-process': { native: 100, group: 'payments' },
        'ai-reply-suggest': { native: 100 },
        'settlement-export': { native: 10, rollback: { enabled: false, minSamples: 5 } },
      },
    })

  beforeAll(async () => {
    audit = await auditDatabase()
    a = await instance()
    b = await instance()
  })
  afterAll(async () => {
    await a?.close()
    await b?.close()
    await Promise.all([a?.fleet.store.close(), b?.fleet.store.close()])
    await audit?.drop()
  })

  /** Webhook deliveries forced to one backend (development honours the override). */
  const deliver = async (gw: TestGateway, backend: 'native' | 'legacy', n: number) => {
    for (let i = 0; i < n; i++) {
      const res = await gw.app.request('/functions/v1/payment-webhook', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-bff-backend': backend },
        body: JSON.stringify({ orderId: `order-${backend}-${i}` }),
      })
      await res.arrayBuffer()
    }
  }

  it('refuses a step when native errs more than legacy across the fleet, naming the figure', async () => {
    // Three native failures on each instance (under the breaker's five), then native recovers.
    a.control.failing = true
    b.control.failing = true
    await deliver(a, 'native', 3)
    await deliver(b, 'native', 3)
    a.control.failing = false
    b.control.failing = false
    await deliver(a, 'native', 12)
    await deliver(b, 'native', 12)
    await deliver(a, 'legacy', 15)
    await deliver(b, 'legacy', 15)
    await Promise.all([a.fleet.flush(), b.fleet.flush()])

    // Asked on b, judged on what both instances served.
    const gate = await json(await adminCall(b, 'GET', '/gate/payment-webhook'))
    expect(gate.ok).toBe(false)
    expect(gate.figures.native).toMatchObject({ requests: 30, errors: 6, errorRate: 0.2 })
    expect(gate.figures.legacy).toMatchObject({ requests: 30, errors: 0 })
    expect(gate.refusals.map((r: Json) => r.check)).toEqual(['error-rate'])
    expect(gate.refusals[0].message).toBe(
      "native error rate 20.00 % (6 of 30) is worse than legacy's 0.00 %: the limit is 5.00 % (legacy × 2, at least 5.00 %), over by 15.00 points",
    )

    const { version } = await json(await adminCall(b, 'GET', '/flags'))
    const refused = await adminCall(b, 'POST', '/flags/payment-webhook/step', {
      reason: 'next stage',
      version,
    })
    expect(refused.status).toBe(409)
    const problem = await json(refused)
    expect(problem.code).toBe('ramp-gate-refused')
    expect(problem.errors).toEqual([
      { field: 'gate:error-rate', message: gate.refusals[0].message },
    ])
    expect((await json(await adminCall(a, 'GET', '/flags'))).version).toBe(version)

    const forced = await adminCall(b, 'POST', '/flags/payment-webhook/step', {
      reason: 'INC-77 errors were the stand-in, not native',
      version,
      force: true,
    })
    expect(forced.status).toBe(200)
    expect(await json(forced)).toMatchObject({ from: 10, to: 50, forced: true })
    const history = await json(await adminCall(a, 'GET', '/audit?route=payment-webhook&limit=1'))
    expect(history.entries[0].reason).toBe(
      'FORCED past the ramp gate (error-rate 20.00 %>5.00 %): INC-77 errors were the stand-in, not native',
    )
  })

  it('refuses a step with too little native traffic to judge, saying how much is missing', async () => {
    const { version } = await json(await adminCall(b, 'GET', '/flags'))
    await adminCall(b, 'PUT', '/flags/payment-checkout', { native: 10, reason: 'canary', version })
    const next = (await json(await adminCall(b, 'GET', '/flags'))).version
    const res = await adminCall(b, 'POST', '/flags/payment-checkout/step', {
      reason: 'next',
      version: next,
    })
    expect(res.status).toBe(409)
    expect((await json(res)).detail).toBe(
      'too little native traffic to judge: 0 native requests in the last 5 min, at least 50 needed (50 short)',
    )
  })

  it('counts shadow mismatches from one instance and refuses the step asked on the other', async () => {
    const latest = (await json(await adminCall(b, 'GET', '/flags'))).version
    expect(await within(3000, () => a.flags.current().version === latest)).toBe(true)
    const { version } = await json(await adminCall(a, 'GET', '/flags'))
    const set = await adminCall(a, 'PUT', '/flags/settlement-export/shadow', {
      shadow: 100,
      reason: 'compare exports before ramping',
      version,
    })
    expect(set.status).toBe(200)
    // b picks the shadow share up from the shared store.
    expect(
      await within(3000, () => b.flags.current().routes.get('settlement-export')?.shadow === 100),
    ).toBe(true)
    const token = await (await import('../helpers/tokens.js')).userToken('shadow-user')
    for (let i = 0; i < 6; i++) {
      const res = await b.app.request(`/api/v1/settlement/export?i=${i}`, {
        headers: { authorization: `Bearer ${token}`, 'x-bff-backend': 'native' },
      })
      await res.arrayBuffer()
      // The override is a deliberate pick: only the flag's own choice is shadowed.
      const plain = await b.app.request(`/api/v1/settlement/export?p=${i}`, {
        headers: { authorization: `Bearer ${token}` },
      })
      await plain.arrayBuffer()
    }
    expect(await within(3000, () => b.shadow.pending === 0)).toBe(true)
    expect(b.shadow.counts().get('settlement-export')).toMatchObject({ mismatch: 6, match: 0 })
    await b.fleet.flush()

    const gate = await json(await adminCall(a, 'GET', '/gate/settlement-export'))
    expect(gate.figures.shadow).toMatchObject({ match: 0, mismatch: 6 })
    expect(gate.refusals.map((r: Json) => r.check)).toContain('shadow')
    expect(gate.refusals.find((r: Json) => r.check === 'shadow').message).toBe(
      'shadow mismatches 6 of 6 compared (100.00 %) exceed 1.00 % by 99.00 points',
    )
    // The masked sample names the differing field, for the dashboard.
    const samples = await json(await adminCall(b, 'GET', '/shadow?route=settlement-export'))
    expect(samples.samples[0].differences).toContainEqual({
      field: 'body:$.served',
      native: 'native',
      legacy: 'legacy',
    })
    // Ops switch it off; both instances stop shadowing.
    const current = (await json(await adminCall(a, 'GET', '/flags'))).version
    await adminCall(a, 'PUT', '/flags/settlement-export/shadow', {
      shadow: 0,
      reason: 'mismatch understood, off until fixed',
      version: current,
    })
    expect(
      await within(3000, () => b.flags.current().routes.get('settlement-export')?.shadow === 0),
    ).toBe(true)
    const before = b.shadow.counts().get('settlement-export')?.mismatch
    const res = await b.app.request('/api/v1/settlement/export?after=off', {
      headers: { authorization: `Bearer ${token}` },
    })
    await res.arrayBuffer()
    expect(b.shadow.pending).toBe(0)
    expect(b.shadow.counts().get('settlement-export')?.mismatch).toBe(before)
  })

  it('reports progress from both instances: shares, last change, and removable routes', async () => {
    // Days before today: refund-process served natively only; ai-reply-suggest had one legacy request.
    const today = Math.floor(Date.now() / 86_400_000)
    const days = [1, 2, 3].map((d) => today - d)
    await a.fleet.store.add([
      ...days.map((period) => ({
        slot: { route: 'refund-process', resolution: 'd' as const, period },
        fields: { 'native:n': 40 },
      })),
      ...days.map((period) => ({
        slot: { route: 'ai-reply-suggest', resolution: 'd' as const, period },
        fields: { 'native:n': 40, ...(period === today - 2 ? { 'legacy:n': 1 } : {}) },
      })),
    ])
    const p = await json(await adminCall(b, 'GET', '/progress?days=3'))
    expect(p.removableDays).toBe(3)
    const byId = new Map(p.routes.map((r: Json) => [r.id, r]))
    const webhook = byId.get('payment-webhook') as Json
    expect(webhook).toMatchObject({ state: 'ramping', percent: 50, nativeCapable: true })
    // 30 native attempts (6 failed and were replayed) and 30 legacy, from both instances.
    expect(webhook.share24h).toEqual({ requests: 60, native: 24, legacy: 30, fallback: 6 })
    expect(webhook.share7d).toEqual(webhook.share24h)
    expect(webhook.lastChange).toMatchObject({ from: 10, to: 50 })
    expect(webhook.chart.length).toBe(168)
    expect(webhook.chart.some((p: Json) => p.nativeErrorRate > 0)).toBe(true)
    expect(webhook.chart.some((p: Json) => p.legacyErrorRate === 0)).toBe(true)
    expect(byId.get('refund-process')).toMatchObject({ removable: true, state: 'removable' })
    expect((byId.get('ai-reply-suggest') as Json).removable).toBe(false)
    expect((byId.get('ai-reply-suggest') as Json).removableNote).toBe(
      '1 legacy and 0 fallback requests in the last 3 days',
    )
    expect((byId.get('payout-calculate') as Json).state).toBe('legacy only')
    expect(p.summary).toMatchObject({ ramping: 3, atFull: 2, removable: 1 })
  })
})
