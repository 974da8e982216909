import type { FundingDeps } from './deps.js'
import { runFundingWork, type WorkOptions, type WorkStats } from './work.js'

/** What `funding_tick` did. */
export interface ClockResult {
  wentLive: number
  ended: number
  decided: Array<{ campaignId: string; state: string }>
  tiersWithLapsedPledges: number
}

/**
 * Scheduled (every minute): approved campaigns whose start has come go live, live ones whose end
 * has come end and are decided (succeeded → their pledges are queued for charging; failed →
 * released), and pledges whose card was never registered lapse. Idempotent.
 */
export function fundingClock(deps: Pick<FundingDeps, 'db' | 'clock'>): Promise<ClockResult> {
  return deps.db.call<ClockResult>('funding_tick', {
    p_now: new Date((deps.clock ?? Date.now)()).toISOString(),
  })
}

/**
 * Scheduled (every minute, and on as many instances as wanted): due charges of succeeded
 * campaigns, retries of declined ones when their time comes, reconciliation of lost answers and
 * card deletions, within the time budget.
 */
export function fundingChargeWork(
  deps: FundingDeps,
  {
    owner = `funding-job:${crypto.randomUUID()}`,
    ...options
  }: Partial<WorkOptions> & {
    owner?: string
  } = {},
): Promise<WorkStats> {
  return runFundingWork(deps, { owner, options })
}
