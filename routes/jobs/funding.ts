import { fundingChargeWork, fundingClock, fundingDeps } from '../funding/index.js'
import type { JobFactory } from './types.js'

/**
 * `funding-clock`: campaigns go live and end at their times; ended ones are decided (success
 * queues every pledge for charging, failure releases them); pledges whose card was never
 * registered lapse. One SQL function (`funding_tick`), idempotent.
 */
export const fundingClockJob: JobFactory = (services) => {
  const deps = fundingDeps(services)
  if (!deps) return undefined
  return {
    name: 'funding-clock',
    budgetMs: 60_000,
    cron: '*/5 * * * *',
    summary: 'Move funding campaigns live and ended at their times and decide them',
    async run(ctx) {
      const result = await fundingClock({ db: ctx.db, clock: () => ctx.now() })
      return {
        wentLive: result.wentLive,
        ended: result.ended,
        decided: result.decided.length,
        succeeded: result.decided.filter((d) => d.state === 'succeeded').length,
      }
    },
  }
}

/**
 * `funding-charges`: due charges of succeeded campaigns (first attempts, retries at their
 * scheduled time, reconciliation of lost answers) and card deletions, shared with any other
 * instance through leased work; stops at its budget and the next tick goes on.
 */
export const fundingChargesJob: JobFactory = (services) => {
  const deps = fundingDeps(services)
  if (!deps) return undefined
  const budgetMs = 240_000
  return {
    name: 'funding-charges',
    budgetMs,
    cron: '*/5 * * * *',
    summary: 'Charge succeeded campaigns, retry declined charges, delete cards no longer needed',
    async run(ctx) {
      const stats = await fundingChargeWork(
        { ...deps, db: ctx.db, clock: () => ctx.now() },
        // Stop claiming well before the job's budget so claimed work is finished within it.
        { owner: `funding-charges:${crypto.randomUUID()}`, budgetMs: budgetMs / 2 },
      )
      return { ...stats }
    },
  }
}
