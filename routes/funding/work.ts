import type { FundingDeps, WorkOptions } from './deps.js'

export type { WorkOptions } from './deps.js'

import type { ChargeOutcome } from './payment-method.js'
import { nextRetryAt } from './schedule.js'

export const DEFAULT_WORK_OPTIONS: WorkOptions = {
  batchSize: 100,
  concurrency: 16,
  leaseSeconds: 120,
  budgetMs: 20_000,
  unknownRetrySeconds: 60,
  maxUnknowns: 5,
  keyRetrySeconds: 300,
}

/** One claimed item, as `funding_work_claim` returns it. */
export interface WorkItem {
  pledgeId: string
  work: 'charge' | 'delete-key'
  attempt: number
  orderId: string
  idempotencyKey: string
  reconcile: boolean
  amount: number
  orderName: string
  customerKey: string | null
  billingKey: string | null
  unknowns: number
}

export interface WorkStats {
  claimed: number
  charged: number
  /** Declined, retried on the schedule. */
  retrying: number
  /** Declined on the last attempt: the pledge is cancelled and its stock released. */
  failed: number
  /** No reliable answer: reconciled by order id later. */
  pending: number
  keysDeleted: number
  keyRetries: number
  /** Outcomes another worker had already recorded. */
  stale: number
  errors: number
}

export interface RunOptions {
  /** This worker's name in leases; unique per instance and run. */
  owner: string
  /** Only this campaign's work (a completion request); all due work otherwise (the job). */
  campaignId?: string
  /** Overrides of the configured options. */
  options?: Partial<WorkOptions>
}

/**
 * Do due funding work — charges, retries of declined charges, card deletions — until none is
 * left or the budget is spent. Work is claimed from PostgreSQL in batches under a lease
 * (`FOR UPDATE SKIP LOCKED`), so any number of instances share it; `concurrency` bounds the calls
 * in flight to the payment provider. Each attempt's order id and Idempotency-Key are derived from
 * the pledge and the attempt number and written before the call, and an attempt whose answer was
 * lost is first looked up by order id: running this again, or on another instance after a crash,
 * charges nobody twice.
 *
 * @example
 * const stats = await runFundingWork(deps, { owner: `${hostname}:${crypto.randomUUID()}` })
 */
export async function runFundingWork(deps: FundingDeps, run: RunOptions): Promise<WorkStats> {
  const options = { ...deps.work, ...run.options }
  const clock = deps.clock ?? Date.now
  const deadline = Date.now() + options.budgetMs
  const stats: WorkStats = {
    claimed: 0,
    charged: 0,
    retrying: 0,
    failed: 0,
    pending: 0,
    keysDeleted: 0,
    keyRetries: 0,
    stale: 0,
    errors: 0,
  }
  const queue: WorkItem[] = []
  let exhausted = false
  let claimError: unknown
  let claiming: Promise<number> | undefined
  // Items being processed can create work (a charge queues its card's deletion): an empty claim
  // only ends the run when nothing is in flight.
  let inFlight = 0
  let wake = () => {}
  let settled = new Promise<void>((resolve) => {
    wake = resolve
  })

  const refill = (): Promise<number> => {
    claiming ??= (async () => {
      if (Date.now() >= deadline) {
        exhausted = true
        return 0
      }
      try {
        const items = await deps.db.call<WorkItem[]>('funding_work_claim', {
          p_owner: run.owner,
          p_limit: options.batchSize,
          p_lease_seconds: options.leaseSeconds,
          p_campaign_id: run.campaignId ?? null,
          p_now: new Date(clock()).toISOString(),
        })
        if (items.length === 0 && inFlight === 0) exhausted = true
        stats.claimed += items.length
        queue.push(...items)
        return items.length
      } catch (error) {
        claimError = error
        exhausted = true
        return 0
      }
    })().finally(() => {
      claiming = undefined
    })
    return claiming
  }

  const lane = async () => {
    for (;;) {
      if (!exhausted && queue.length <= options.batchSize / 2) void refill()
      const item = queue.shift()
      if (!item) {
        if (exhausted) return
        if ((await refill()) === 0 && !exhausted) await settled
        continue
      }
      inFlight++
      try {
        if (item.work === 'charge') await charge(deps, options, run.owner, item, stats)
        else await deleteKey(deps, options, run.owner, item, stats)
      } catch (error) {
        // Not recorded: the lease runs out and the item is claimed again (and reconciled).
        stats.errors++
        deps.logger.error('funding work item not recorded', {
          pledgeId: item.pledgeId,
          work: item.work,
          attempt: item.attempt,
          error: error instanceof Error ? error.message : String(error),
        })
      } finally {
        inFlight--
        wake()
        settled = new Promise<void>((resolve) => {
          wake = resolve
        })
      }
    }
  }

  await Promise.all(Array.from({ length: Math.max(1, options.concurrency) }, lane))
  if (claimError && stats.claimed === 0) throw claimError
  if (claimError) {
    deps.logger.warn('funding work stopped claiming', { error: String(claimError) })
  }
  return stats
}

async function charge(
  deps: FundingDeps,
  options: WorkOptions,
  owner: string,
  item: WorkItem,
  stats: WorkStats,
): Promise<void> {
  const clock = deps.clock ?? Date.now
  let outcome: ChargeOutcome
  if (!item.billingKey || !item.customerKey) {
    outcome = { kind: 'declined', code: 'BILLING_KEY_DELETED' }
  } else {
    const request = {
      billingKey: item.billingKey,
      customerKey: item.customerKey,
      amount: item.amount,
      orderId: item.orderId,
      orderName: item.orderName,
      idempotencyKey: item.idempotencyKey,
    }
    outcome = item.reconcile ? await deps.method.lookup(item.orderId) : { kind: 'absent' }
    if (outcome.kind === 'absent') {
      outcome =
        item.reconcile && item.unknowns >= options.maxUnknowns
          ? { kind: 'declined', code: 'NOT_CHARGED_AFTER_NO_ANSWER' }
          : await deps.method.charge(request)
    }
  }
  const now = clock()
  const args: Record<string, unknown> = {
    p_pledge_id: item.pledgeId,
    p_attempt: item.attempt,
    p_owner: owner,
    p_now: new Date(now).toISOString(),
  }
  if (outcome.kind === 'done') {
    Object.assign(args, { p_outcome: 'done', p_payment: outcome.payment })
  } else if (outcome.kind === 'declined') {
    const next = nextRetryAt(now, item.attempt, deps.retry)
    Object.assign(args, {
      p_outcome: 'declined',
      p_failure_code: outcome.code,
      p_next_attempt_at: next === undefined ? null : new Date(next).toISOString(),
      p_final: next === undefined,
    })
  } else {
    Object.assign(args, {
      p_outcome: 'unknown',
      p_failure_code: outcome.kind === 'unknown' ? outcome.code : 'UNKNOWN',
      p_next_attempt_at: new Date(now + options.unknownRetrySeconds * 1000).toISOString(),
    })
  }
  const settled = await deps.db.call<{ outcome: string; replayed?: boolean }>(
    'funding_charge_settle',
    args,
  )
  const log = {
    pledgeId: item.pledgeId,
    orderId: item.orderId,
    attempt: item.attempt,
    outcome: settled.outcome,
    ...(outcome.kind === 'declined' || outcome.kind === 'unknown' ? { code: outcome.code } : {}),
  }
  if (settled.outcome === 'charged') {
    if (settled.replayed) stats.stale++
    else stats.charged++
    deps.logger.debug('funding charge', log)
  } else if (settled.outcome === 'retry') {
    stats.retrying++
    deps.logger.info('funding charge declined; retried later', log)
  } else if (settled.outcome === 'failed') {
    stats.failed++
    deps.logger.warn('funding charge declined on the last attempt; pledge cancelled', log)
  } else if (settled.outcome === 'pending') {
    stats.pending++
    deps.logger.warn('funding charge outcome unknown; reconciled later', log)
  } else {
    stats.stale++
  }
}

async function deleteKey(
  deps: FundingDeps,
  options: WorkOptions,
  owner: string,
  item: WorkItem,
  stats: WorkStats,
): Promise<void> {
  const now = (deps.clock ?? Date.now)()
  const result = item.billingKey ? await deps.method.delete(item.billingKey) : 'deleted'
  const settled = await deps.db.call<string>('funding_key_settle', {
    p_pledge_id: item.pledgeId,
    p_owner: owner,
    p_outcome: result,
    p_reason: 'pledge closed',
    p_next_attempt_at: new Date(now + options.keyRetrySeconds * 1000).toISOString(),
    p_now: new Date(now).toISOString(),
  })
  if (settled === 'deleted') stats.keysDeleted++
  else if (settled === 'retry') stats.keyRetries++
  else stats.stale++
}
