import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { previousKstMonth, settlementRecomputeJob } from '../../routes/jobs/settlement-recompute.js'
import type { JobContext } from '../../routes/jobs/types.js'
import { loadConfig } from '../../src/config.js'
import { createLogger } from '../../src/observability/log.js'
import { type Harness, postgresHarness } from './db-harness.js'
import { seedCreator, seedSale } from './settlement-helper.js'

const logger = createLogger({ level: 'error', write: () => {} })

function context(h: Harness, now: number, state: Record<string, unknown> = {}) {
  const saved: { state?: Record<string, unknown> } = {}
  const ctx: JobContext = {
    db: h.db,
    logger,
    now: () => now,
    shouldStop: () => false,
    signal: new AbortController().signal,
    state,
    saveState: (next) => {
      saved.state = next
    },
    trigger: 'cli',
  }
  return { ctx, saved }
}

describe('settlement-recompute job', () => {
  let h: Harness
  beforeAll(async () => {
    h = await postgresHarness()
  })
  afterAll(async () => {
    await h?.close()
  })

  it('names the KST month before the run, across the year and the KST day boundary', () => {
    // 2026-01-01 00:05 KST is 2025-12-31 15:05 UTC.
    expect(previousKstMonth(Date.parse('2025-12-31T15:05:00Z'))).toBe('2025-12')
    expect(previousKstMonth(Date.parse('2026-03-01T15:05:00Z'))).toBe('2026-02')
    expect(previousKstMonth(Date.parse('2026-02-28T14:59:59Z'))).toBe('2026-01')
  })

  it('writes the draft settlement of the month that ended, and a second run changes nothing', async () => {
    const creator = await seedCreator(h)
    await seedSale(h.db, creator, '2025-06-30T14:59:59Z', 3)
    const job = settlementRecomputeJob({ config: loadConfig({}), logger, db: h.db })
    if (!job) throw new Error('job not built')
    expect(job.cron).toBe('5 15 * * *')

    const julyFirst = Date.parse('2025-06-30T15:05:00Z') // 2025-07-01 00:05 KST
    const first = context(h, julyFirst)
    const counts = await job.run(first.ctx)
    expect(counts.failed).toBe(0)
    expect(counts.remaining).toBe(0)
    expect(first.saved.state).toEqual({})
    const rows = await h.sql<{ status: string; period_start: string; gross_krw: number }>(
      `select status, period_start::text, gross_krw::int as gross_krw from public.settlements where creator_id = $1`,
      [creator.id],
    )
    expect(rows).toEqual([{ status: 'draft', period_start: '2025-06-01', gross_krw: 30_000 }])

    await job.run(context(h, julyFirst).ctx)
    const again = await h.sql(
      `select count(*)::int as n from public.settlements where creator_id = $1`,
      [creator.id],
    )
    expect(again).toEqual([{ n: 1 }])
  })
})
