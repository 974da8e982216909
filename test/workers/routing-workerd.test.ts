import type { Miniflare } from 'miniflare'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type LegacyStandIn, startLegacyStandIn } from '../fakes/legacy-functions.js'
import { TEST_JWT_SECRET, userToken } from '../helpers/tokens.js'
import { startWorkerd } from '../helpers/workerd.js'
import { caseInit, expectCase, ROUTING_CASES } from '../shared/routing-cases.js'
import vectors from '../vectors/bucketing.json'

let legacy: LegacyStandIn
let token: string
let mf: Miniflare

beforeAll(async () => {
  legacy = await startLegacyStandIn()
  token = await userToken('routing-user')
  mf = await startWorkerd('test/workers/test-worker.ts', {
    LEGACY_FUNCTIONS_URL: legacy.functionsUrl,
    SUPABASE_JWT_SECRET: TEST_JWT_SECRET,
  })
})

afterAll(async () => {
  await mf?.dispose()
  await legacy?.close()
})

describe('inside workerd', () => {
  it('computes the published bucketing vectors', async () => {
    const res = await mf.dispatchFetch('http://gateway.test/__vectors')
    const got = (await res.json()) as { murmur3: number[]; buckets: number[]; runtime: string }
    expect(got.runtime).toContain('Cloudflare-Workers')
    expect(got.murmur3).toEqual(vectors.murmur3.map((v) => v.hash))
    expect(got.buckets).toEqual(vectors.buckets.map((v) => v.bucket))
  })

  it.each(ROUTING_CASES)('routes: $name', async (c) => {
    const before = legacy.received.length
    const res = await mf.dispatchFetch(`http://gateway.test${c.path}`, caseInit(c, token) as never)
    await expectCase(c, res as Response, legacy.received, before)
  })
})
