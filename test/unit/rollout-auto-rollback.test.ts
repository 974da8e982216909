import { describe, expect, it } from 'vitest'
import { ROUTE_IDS } from '../../routes/index.js'
import { createLogger } from '../../src/observability/log.js'
import { Metrics } from '../../src/observability/metrics.js'
import { memoryAuditTrail } from '../../src/rollout/audit.js'
import { AutoRollback, DEFAULT_ROLLBACK, rollbackVerdict } from '../../src/rollout/auto-rollback.js'
import { compileFlags } from '../../src/rollout/flags.js'
import { LiveFlags } from '../../src/rollout/live-flags.js'
import { memoryFlagStore } from '../../src/rollout/stores/memory.js'
import { TrafficWindow } from '../../src/rollout/traffic-window.js'
import type { Backend } from '../../src/types.js'

const side = (requests: number, errors: number, p95Ms?: number) => ({
  requests,
  errors,
  errorRate: requests ? errors / requests : 0,
  p95Ms,
})

describe('rollbackVerdict', () => {
  const s = { ...DEFAULT_ROLLBACK, minSamples: 10 }
  const stats = (native: ReturnType<typeof side>, legacy: ReturnType<typeof side>) => ({
    seconds: 60,
    native,
    legacy,
    fallbacks: 0,
  })

  it('waits for the minimum sample', () => {
    expect(rollbackVerdict(stats(side(9, 9), side(100, 0)), s)).toBeUndefined()
  })

  it('rolls back when native errs past the ratio and the floor', () => {
    expect(rollbackVerdict(stats(side(20, 4), side(100, 1)), s)).toMatch(
      /native error rate 20\.0% vs legacy 1\.0%/,
    )
  })

  it('tolerates native errors within the ratio of legacy or under the floor', () => {
    expect(rollbackVerdict(stats(side(100, 10), side(100, 6)), s)).toBeUndefined()
    expect(rollbackVerdict(stats(side(100, 4), side(100, 0)), s)).toBeUndefined()
  })

  it('rolls back on latency only against a legacy baseline and above the absolute floor', () => {
    expect(rollbackVerdict(stats(side(20, 0, 2500), side(20, 0, 500)), s)).toMatch(
      /native p95 2500 ms vs legacy 500 ms/,
    )
    expect(rollbackVerdict(stats(side(20, 0, 2500), side(5, 0, 500)), s)).toBeUndefined()
    expect(rollbackVerdict(stats(side(20, 0, 100), side(20, 0, 10)), s)).toBeUndefined()
  })
})

describe('TrafficWindow', () => {
  it('counts per side, fallbacks as native errors, and forgets slots outside the window', () => {
    let now = 1_000_000
    const w = new TrafficWindow(() => now)
    const rec = (backend: Backend, status: number, latencyMs = 5) =>
      w.record({ routeId: 'r', backend, status, latencyMs })
    rec('native', 200)
    rec('native', 503)
    rec('legacy-fallback', 200)
    rec('legacy', 200, 40)
    const st = w.stats('r', 10)
    expect(st.native).toMatchObject({ requests: 3, errors: 2 })
    expect(st.legacy).toMatchObject({ requests: 1, errors: 0, p95Ms: 50 })
    expect(st.fallbacks).toBe(1)
    now += 11_000
    expect(w.stats('r', 10).native.requests).toBe(0)
  })
})

describe('AutoRollback', () => {
  const rules = { knownRoutes: ROUTE_IDS, nativeRoutes: new Set(['ai-reply-suggest']) }
  const settings = { minSamples: 5, windowSeconds: 10, cooldownSeconds: 30 }

  async function setup() {
    let now = 5_000_000
    const clock = () => now
    const store = memoryFlagStore()
    const logger = createLogger({ write: () => {} })
    const file = compileFlags(
      { routes: { 'ai-reply-suggest': { native: 50, rollback: settings } } },
      rules,
      'file:t',
      'f',
    )
    const make = () => new LiveFlags({ file, rules, store, refreshMs: 60_000, logger, clock })
    const audit = memoryAuditTrail(clock)
    const a = make()
    const b = make()
    await Promise.all([a.start(), b.start()])
    const metrics = new Metrics()
    const ra = new AutoRollback({ flags: a, audit, logger, metrics, clock, evaluateEveryMs: 0 })
    const rb = new AutoRollback({ flags: b, audit, logger, clock, evaluateEveryMs: 0 })
    return { ra, rb, a, b, audit, metrics, advance: (ms: number) => (now += ms) }
  }

  const settle = () => new Promise((r) => setTimeout(r, 20))

  it('holds a failing route on legacy everywhere, records it once, and releases it after the cool-down', async () => {
    const { ra, rb, b, audit, metrics, advance } = await setup()
    for (let i = 0; i < 5; i++)
      ra.observe({ routeId: 'ai-reply-suggest', backend: 'native', status: 500, latencyMs: 3 })
    expect(ra.hold('ai-reply-suggest')).toBe('rolled-back')
    await settle()
    await b.refresh()
    expect(rb.hold('ai-reply-suggest')).toBe('rolled-back')
    // The other instance tripping as well adds no second entry.
    for (let i = 0; i < 5; i++)
      rb.observe({ routeId: 'ai-reply-suggest', backend: 'native', status: 500, latencyMs: 3 })
    await settle()
    let entries = await audit.list()
    expect(entries).toHaveLength(1)
    expect(entries[0]).toMatchObject({
      routeId: 'ai-reply-suggest',
      from: 50,
      to: 0,
      source: 'auto-rollback',
      actor: 'auto-rollback',
    })
    expect(entries[0]?.reason).toMatch(/native error rate 100\.0%/)
    expect(metrics.render()).toContain('bff_auto_rollback_active{route="ai-reply-suggest"} 1')

    advance(31_000)
    expect(ra.hold('ai-reply-suggest')).toBeUndefined()
    await Promise.all([ra.releaseExpired(), rb.releaseExpired()])
    entries = await audit.list()
    expect(entries).toHaveLength(2)
    expect(entries[0]).toMatchObject({ from: 0, to: 50, source: 'auto-rollback' })
    expect(entries[0]?.reason).toMatch(/cool-down over/)
  })

  it('does not judge a route at 0 %', async () => {
    const { ra } = await setup()
    for (let i = 0; i < 10; i++)
      ra.observe({ routeId: 'payment-checkout', backend: 'native', status: 500, latencyMs: 3 })
    expect(ra.hold('payment-checkout')).toBeUndefined()
  })
})
