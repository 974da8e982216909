import { describe, expect, it } from 'vitest'
import { fuzzDrill } from '../../bench/drills/fuzz.js'
import { legacyDrill } from '../../bench/drills/legacy.js'
import { formatReport } from '../../bench/drills/lib/report.js'
import { postgresDrill } from '../../bench/drills/postgres.js'
import { redisDrill } from '../../bench/drills/redis.js'
import { sigtermDrill } from '../../bench/drills/sigterm.js'
import { soakDrill } from '../../bench/drills/soak.js'

/**
 * The short forms of the reliability drills (bench/drills/, `npm run drills` runs the full
 * ones): the same invariants on less load. No timing thresholds beyond the bounds the gateway
 * itself promises (the shutdown grace).
 */
function expectPass(report: Awaited<ReturnType<typeof sigtermDrill>>) {
  const failed = report.invariants.filter((i) => !i.ok)
  expect(failed, formatReport(report)).toEqual([])
}

describe('reliability drills (short forms)', () => {
  it('SIGTERM under load: nothing received is lost, /ready turns 503, exit within the grace', async () => {
    expectPass(await sigtermDrill({ rate: 40, warmMs: 800 }))
  }, 90_000)

  it('Redis restart: fail-closed 503 only while down, fail-open serving, flags kept', async () => {
    expectPass(await redisDrill({ rate: 40, beforeMs: 1_500, downMs: 2_500, afterMs: 6_000 }))
  }, 90_000)

  it('PostgreSQL restart: money routes 503 + Retry-After, never 500, nothing half-applied', async () => {
    expectPass(await postgresDrill({ rate: 40, beforeMs: 1_500, downMs: 2_500, afterMs: 4_000 }))
  }, 90_000)

  it('legacy pathologies: hang, reset, 1 byte/s, 100 MiB are bounded; no descriptor leak', async () => {
    expectPass(await legacyDrill({ rate: 30, each: 2, totalTimeoutMs: 3_000 }))
  }, 90_000)

  it('soak: RSS, heap and descriptors do not grow beyond noise; no 5xx', async () => {
    expectPass(await soakDrill({ seconds: 15, sampleMs: 1_000, users: 100, judgeLatency: false }))
  }, 90_000)

  it('fuzz: schema-generated valid, near-valid and hostile requests; no 5xx, no row on a refusal', async () => {
    expectPass(await fuzzDrill({ runs: 5 }))
  }, 90_000)
})
