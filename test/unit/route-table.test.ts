import { describe, expect, it } from 'vitest'
import { FEATURES, ROUTE_IDS, ROUTES } from '../../routes/index.js'
import { loadConfig } from '../../src/config.js'
import { createLogger } from '../../src/observability/log.js'
import { Metrics } from '../../src/observability/metrics.js'
import { assembleRouteTable, defineFeature, type NativeServices } from '../../src/route-table.js'
import type { NativeHandler } from '../../src/types.js'

const handler: NativeHandler = async (c) => c.json({ ok: true })

function services(env: Record<string, string> = {}): NativeServices {
  return {
    config: loadConfig({ LEGACY_FUNCTIONS_URL: 'http://127.0.0.1:9/functions/v1', ...env }),
    logger: createLogger({ level: 'error', write: () => {} }),
    metrics: new Metrics(),
    db: undefined,
  }
}

const NEVER = { replay: 'never' } as const

describe('route table assembled from the features', () => {
  it('lists every route once, each owned by the feature that declares it', () => {
    expect(ROUTE_IDS.size).toBe(ROUTES.length)
    for (const feature of FEATURES) {
      for (const r of feature.routes) {
        expect(r.feature).toBe(feature.name)
        expect(ROUTES).toContain(r)
      }
    }
    expect(ROUTES.find((r) => r.id === 'refund-process')?.feature).toBe('payments')
    expect(ROUTES.find((r) => r.id === 'ai-poll-suggest')?.feature).toBe('ai')
  })

  it('orders the routes by phase, stay-legacy last', () => {
    const rank = (p: (typeof ROUTES)[number]['phase']) => (p === 'stay-legacy' ? 4 : Number(p))
    const ranks = ROUTES.map((r) => rank(r.phase))
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b))
    expect(ROUTES.filter((r) => r.stayLegacy).map((r) => r.id)).toEqual([
      'payment-confirm',
      'payment-reconcile',
      'refresh-fallback-quotas',
    ])
  })

  it('builds no native handler when a feature lacks its dependencies', () => {
    // No database: payments and AI are not configured, so every route stays legacy.
    const built = FEATURES.map((f) =>
      f.nativeHandlers(services({ TOSS_SECRET_KEY: 'test_sk_route_table' })),
    )
    expect(Object.assign({}, ...built)).toEqual({})
  })

  it('builds handlers from the feature set-up, once per feature', () => {
    let setups = 0
    const feature = defineFeature<{ tag: string }>({
      name: 'sample',
      setup: () => {
        setups++
        return { tag: 'x' }
      },
      routes: [
        { id: 'sample-a', phase: 2, summary: 'a', policy: NEVER, native: () => handler },
        { id: 'sample-b', phase: 2, summary: 'b', policy: NEVER, native: () => handler },
        { id: 'sample-c', phase: 3, summary: 'c', policy: NEVER },
      ],
    })
    const handlers = assembleRouteTable([feature]).nativeHandlers(services())
    expect(Object.keys(handlers).sort()).toEqual(['sample-a', 'sample-b'])
    expect(setups).toBe(1)
  })

  it('refuses a route id or an alias declared twice, and a native stay-legacy route', () => {
    const a = defineFeature({
      name: 'a',
      routes: [{ id: 'same', phase: 2, summary: 'a', policy: NEVER, aliases: ['/api/v1/x'] }],
    })
    const b = defineFeature({
      name: 'b',
      routes: [{ id: 'same', phase: 2, summary: 'b', policy: NEVER }],
    })
    const c = defineFeature({
      name: 'c',
      routes: [{ id: 'other', phase: 2, summary: 'c', policy: NEVER, aliases: ['/api/v1/x'] }],
    })
    expect(() => assembleRouteTable([a, b])).toThrow(/same declared twice/)
    expect(() => assembleRouteTable([a, c])).toThrow(/alias \/api\/v1\/x/)
    expect(() =>
      defineFeature({
        name: 'd',
        routes: [
          { id: 'd', phase: 'stay-legacy', summary: 'd', policy: NEVER, native: () => handler },
        ],
      }),
    ).toThrow(/stays on legacy/)
  })
})
