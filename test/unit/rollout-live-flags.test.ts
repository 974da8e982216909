import { describe, expect, it } from 'vitest'
import { ROUTE_IDS } from '../../routes/index.js'
import { createLogger } from '../../src/observability/log.js'
import { Metrics } from '../../src/observability/metrics.js'
import { compileFlags } from '../../src/rollout/flags.js'
import { FlagConflictError, LiveFlags } from '../../src/rollout/live-flags.js'
import { memoryFlagStore } from '../../src/rollout/stores/memory.js'
import type { FlagStore } from '../../src/rollout/stores/port.js'
import { FlagStoreUnavailableError } from '../../src/rollout/stores/port.js'

const rules = {
  knownRoutes: ROUTE_IDS,
  nativeRoutes: new Set(['payment-checkout', 'ai-reply-suggest']),
}
const file = compileFlags(
  {
    routes: {
      'payment-checkout': { native: 0, group: 'payments' },
      'ai-reply-suggest': { native: 5 },
    },
  },
  rules,
  'file:flags.json',
  'filehash',
)

function live(store: FlagStore, lines: string[] = []) {
  const metrics = new Metrics()
  const flags = new LiveFlags({
    file,
    rules,
    store,
    refreshMs: 60_000,
    logger: createLogger({ write: (l) => lines.push(l) }),
    metrics,
  })
  return { flags, metrics }
}

/** A store whose reads can be made to fail, around a memory store. */
function flakyStore() {
  const inner = memoryFlagStore()
  const state = { down: false }
  const guard = <T>(fn: () => Promise<T>) =>
    state.down ? Promise.reject(new FlagStoreUnavailableError('memory')) : fn()
  const store: FlagStore = {
    kind: 'memory',
    read: () => guard(() => inner.read()),
    compareAndSet: (e, o) => guard(() => inner.compareAndSet(e, o)),
    placeHold: (...a) => guard(() => inner.placeHold(...a)),
    releaseHold: (...a) => guard(() => inner.releaseHold(...a)),
    close: () => inner.close(),
  }
  return { store, inner, state }
}

describe('LiveFlags', () => {
  it('serves the file until the store has a record, then the overlay on top of it', async () => {
    const store = memoryFlagStore()
    const { flags } = live(store)
    await flags.start()
    expect(flags.current().version).toBe('filehash')
    const { previous, table } = await flags.change({
      percents: { 'payment-checkout': 10 },
      expectedVersion: 'filehash',
      actor: 't',
    })
    expect(previous.routes.get('payment-checkout')?.percent).toBe(0)
    expect(table.version).toBe('v1')
    expect(table.source).toBe('memory over file:flags.json')
    // Group and the other route come from the file.
    expect(flags.current().routes.get('payment-checkout')).toMatchObject({
      percent: 10,
      group: 'payments',
      scope: 'payments',
    })
    expect(flags.current().routes.get('ai-reply-suggest')?.percent).toBe(5)
    await flags.stop()
  })

  it('hands a change made through one instance to another on its next refresh, whole', async () => {
    const store = memoryFlagStore()
    const a = live(store).flags
    const b = live(store).flags
    await Promise.all([a.start(), b.start()])
    const before = b.current()
    await a.change({ percents: { 'payment-checkout': 50, 'ai-reply-suggest': 10 }, actor: 't' })
    expect(b.current()).toBe(before)
    await b.refresh()
    expect(b.current().version).toBe('v1')
    expect(b.current().routes.get('payment-checkout')?.percent).toBe(50)
    expect(b.current().routes.get('ai-reply-suggest')?.percent).toBe(10)
    await Promise.all([a.stop(), b.stop()])
  })

  it('refuses a stale version and lets exactly one of concurrent writers through', async () => {
    const store = memoryFlagStore()
    const a = live(store).flags
    const b = live(store).flags
    await Promise.all([a.start(), b.start()])
    const results = await Promise.allSettled(
      [a, b, a, b].map((f, i) =>
        f.change({
          percents: { 'payment-checkout': i + 1 },
          expectedVersion: 'filehash',
          actor: `w${i}`,
        }),
      ),
    )
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
    for (const r of results.filter((r) => r.status === 'rejected')) {
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(FlagConflictError)
    }
    await expect(
      b.change({
        percents: { 'payment-checkout': 60 },
        expectedVersion: 'filehash',
        actor: 'late',
      }),
    ).rejects.toMatchObject({
      name: 'FlagConflictError',
      current: 'v1',
    })
  })

  it('refuses an invalid result of a change, naming route and field, and writes nothing', async () => {
    const store = memoryFlagStore()
    const { flags } = live(store)
    await flags.start()
    await expect(
      flags.change({ percents: { 'refund-process': 10 }, actor: 't' }),
    ).rejects.toMatchObject({
      name: 'FlagsError',
      problems: ['routes.refund-process.native: must be 0, the route has no native handler'],
    })
    expect((await store.read()).version).toBe(0)
  })

  it('rejects a corrupt record whole and keeps the last good table', async () => {
    const store = memoryFlagStore()
    const lines: string[] = []
    const { flags, metrics } = live(store, lines)
    await flags.start()
    await flags.change({ percents: { 'payment-checkout': 10 }, actor: 't' })
    // A writer that skipped validation: one good route, one impossible one.
    const bad = {
      routes: { 'ai-reply-suggest': { native: 20 }, 'payment-confirm': { native: 50 } },
      updatedAt: 'x',
      updatedBy: 'y',
    }
    await store.compareAndSet(1, JSON.stringify(bad))
    await flags.refresh()
    expect(flags.current().version).toBe('v1')
    expect(flags.current().routes.get('ai-reply-suggest')?.percent).toBe(5)
    expect(flags.status().rejected).toMatchObject({ version: 2 })
    expect(flags.status().rejected?.problems.join()).toContain('routes.payment-confirm.native')
    expect(lines.some((l) => l.includes('flag store record refused'))).toBe(true)
    expect(metrics.render()).toContain('bff_flag_overlay_rejected_total 1')

    await store.compareAndSet(2, '{not json')
    await flags.refresh()
    expect(flags.current().version).toBe('v1')
    expect(flags.status().rejected?.problems[0]).toContain('not valid JSON')

    // A write based on the good table replaces the bad record.
    await flags.change({
      percents: { 'payment-checkout': 50 },
      expectedVersion: 'v1',
      actor: 'repair',
    })
    expect(flags.current().version).toBe('v4')
    await flags.refresh()
    expect(flags.status().rejected).toBeUndefined()
  })

  it('keeps the last good table while the store is unreachable, and says so', async () => {
    const { store, state } = flakyStore()
    const lines: string[] = []
    const { flags, metrics } = live(store, lines)
    await flags.start()
    await flags.change({ percents: { 'payment-checkout': 10 }, actor: 't' })
    state.down = true
    await flags.refresh()
    expect(flags.current().routes.get('payment-checkout')?.percent).toBe(10)
    expect(flags.readiness()).toBe(false)
    expect(flags.status()).toMatchObject({ reachable: false })
    expect(metrics.render()).toContain('bff_flag_store_up{store="memory"} 0')
    expect(lines.filter((l) => l.includes('flag store unreachable'))).toHaveLength(1)
    await expect(
      flags.change({ percents: { 'payment-checkout': 0 }, actor: 't' }),
    ).rejects.toBeInstanceOf(FlagStoreUnavailableError)
    state.down = false
    await flags.refresh()
    expect(flags.readiness()).toBe(true)
    expect(lines.some((l) => l.includes('flag store reachable again'))).toBe(true)
  })

  it('keeps the last good table when the store comes back empty, and writes it back once', async () => {
    let inner = memoryFlagStore()
    // Two instances over one store whose data can be lost (a Redis restarted without persistence).
    const store: FlagStore = {
      kind: 'memory',
      read: () => inner.read(),
      compareAndSet: (e, o) => inner.compareAndSet(e, o),
      placeHold: (...a) => inner.placeHold(...a),
      releaseHold: (...a) => inner.releaseHold(...a),
      close: async () => {},
    }
    const lines: string[] = []
    const a = live(store, lines).flags
    const b = live(store).flags
    await Promise.all([a.start(), b.start()])
    await a.change({ percents: { 'ai-reply-suggest': 0 }, actor: 'ops kill' })
    await b.refresh()
    expect(b.current().routes.get('ai-reply-suggest')?.percent).toBe(0)
    inner = memoryFlagStore()
    await Promise.all([a.refresh(), b.refresh()])
    for (const flags of [a, b]) {
      // Not the file's 5 %: the kill stays in force.
      expect(flags.current().routes.get('ai-reply-suggest')?.percent).toBe(0)
    }
    const stored = await inner.read()
    expect(stored.version).toBe(1)
    expect(JSON.parse(stored.overlay ?? '{}').routes).toEqual({ 'ai-reply-suggest': { native: 0 } })
    await Promise.all([a.refresh(), b.refresh()])
    expect((await inner.read()).version).toBe(1)
    expect(a.current().version).toBe('v1')
    expect(b.current().version).toBe('v1')
    expect(lines.some((l) => l.includes('flag store lost its record'))).toBe(true)
    await Promise.all([a.stop(), b.stop()])
  })

  it('starts on the file table when the store is down at start', async () => {
    const { store, state } = flakyStore()
    state.down = true
    const { flags } = live(store)
    await flags.start()
    expect(flags.current()).toBe(file)
    expect(flags.readiness()).toBe(false)
    await flags.stop()
  })

  it('refreshes on use when due (Workers)', async () => {
    const store = memoryFlagStore()
    let now = 1_000_000
    const flags = new LiveFlags({
      file,
      rules,
      store,
      refreshMs: 5_000,
      logger: createLogger({ write: () => {} }),
      clock: () => now,
    })
    const writer = live(store).flags
    expect(flags.refreshIfDue()).toBeDefined()
    await flags.refresh()
    await writer.change({ percents: { 'payment-checkout': 10 }, actor: 't' })
    now += 1_000
    expect(flags.refreshIfDue()).toBeUndefined()
    now += 5_000
    await flags.refreshIfDue()
    expect(flags.current().version).toBe('v1')
  })
})
