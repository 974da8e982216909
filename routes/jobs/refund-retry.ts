import { runRefundRetryJob, tossFromServices } from '../payments/index.js'
import type { JobFactory } from './types.js'

/** Refunds handled per run; the rest wait for the next run (every 10 minutes). */
const BATCH = 50

/**
 * `refund-retry`: the payments feature's job (`runRefundRetryJob`), which resends refunds left
 * `pending` through the same sender lease and Idempotency-Key as a client's request, so Toss
 * never cancels twice. Virtual-account refunds are counted as `needsAccount` for ops.
 */
export const refundRetryJob: JobFactory = ({ config, logger, vendorFetch }) => {
  const toss = tossFromServices({ config, vendorFetch })
  if (!toss) return undefined
  return {
    name: 'refund-retry',
    budgetMs: 120_000,
    cron: '*/10 * * * *',
    summary: 'Resend refunds Toss left pending',
    async run(ctx) {
      const sweep = await runRefundRetryJob(
        { db: ctx.db, toss, logger },
        { olderThanSeconds: 60, limit: BATCH, shouldStop: () => ctx.shouldStop() },
      )
      return { ...sweep }
    },
  }
}
