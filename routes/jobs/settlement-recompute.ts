import { kstDate, runAll } from '../settlement/index.js'
import type { JobFactory } from './types.js'

/** The KST month before the one `instant` falls in, as `YYYY-MM`. */
export function previousKstMonth(instant: number): string {
  const [year, month] = kstDate(instant).split('-').map(Number) as [number, number]
  return month === 1 ? `${year - 1}-12` : `${year}-${String(month - 1).padStart(2, '0')}`
}

/**
 * `settlement-recompute`: at 00:05 KST each day, the draft settlements of the month that ended
 * before today are recomputed for every creator with activity (`calculate-all`), so ops open
 * up-to-date drafts to confirm. Confirmed settlements are left as they are. A run cut short at
 * its budget keeps its `runId` and the next trigger resumes from the stored cursor.
 */
export const settlementRecomputeJob: JobFactory = (services) => ({
  name: 'settlement-recompute',
  budgetMs: 60_000,
  cron: '5 15 * * *',
  summary: 'Recompute the draft settlements of the month that ended',
  async run(ctx) {
    const period = previousKstMonth(ctx.now())
    const saved = ctx.state as { period?: string; runId?: string }
    const progress = await runAll(
      { db: ctx.db, logger: services.logger, clock: ctx.now, runBudgetMs: 50_000 },
      {
        period,
        runId: saved.period === period ? saved.runId : undefined,
        actor: 'scheduled-dispatcher',
      },
    )
    ctx.saveState(progress.status === 'running' ? { period, runId: progress.runId } : {})
    return {
      processed: progress.processed,
      failed: progress.failed,
      total: progress.total,
      remaining: Math.max(progress.total - progress.processed - progress.failed, 0),
    }
  },
})
