import { fundingChargeWork, fundingClock, fundingDeps } from '../funding/index.js'
import type { JobFactory } from './types.js'

/**
 * `funding-clock`: approved campaigns go live at their start, live ones end and are decided at
 * their end (success queues the pledges' charges, failure releases them), unregistered pledges
 * lapse (`funding_tick`, idempotent).
 */
export const fundingClockJob: JobFactory = (services) => {
  const deps = fundingDeps(services)
  if (!deps) return undefined
  return {
    name: 'funding-clock',
    budgetMs: 30_000,
    cron: '* * * * *',
    summary: 'Move funding campaigns to live and ended at their times and decide them',
    async run(ctx) {
      const result = await fundingClock({ db: ctx.db, clock: () => ctx.now() })
      return {
        wentLive: result.wentLive,
        ended: result.ended,
        decided: result.decided.length,
        tiersWithLapsedPledges: result.tiersWithLapsedPledges,
      }
    },
  }
}

/**
 * `funding-charges`: due charges of succeeded campaigns and retries of declined ones when their
 * day comes, reconciliation of unanswered charges and billing-key deletions, within the funding
 * work budget (`FUNDING_RUN_BUDGET_MS`); each item is leased in PostgreSQL, so the work resumes
 * on the next tick.
 */
export const fundingChargesJob: JobFactory = (services) => {
  const deps = fundingDeps(services)
  if (!deps) return undefined
  return {
    name: 'funding-charges',
    budgetMs: Math.min(deps.work.budgetMs + 30_000, 15 * 60_000),
    cron: '* * * * *',
    summary: 'Charge pledges of succeeded campaigns and retry declined charges',
    async run(ctx) {
      return { ...(await fundingChargeWork({ ...deps, db: ctx.db, clock: () => ctx.now() })) }
    },
  }
}
