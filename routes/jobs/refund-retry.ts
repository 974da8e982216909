import { retryPendingRefunds, TossClient } from '../payments/index.js'
import type { JobFactory } from './types.js'

/** Refunds handled per run; the rest wait for the next run (every 10 minutes). */
const BATCH = 50

/**
 * `refund-retry`: resend every refund left `pending` (Toss did not answer in time) with its own
 * Idempotency-Key, so Toss never cancels twice. Virtual-account refunds need the account again,
 * which is never stored: they are counted as `needsAccount` for ops (ops-manage resends them).
 */
export const refundRetryJob: JobFactory = ({ config, logger, vendorFetch }) => {
  if (!config.TOSS_SECRET_KEY) return undefined
  const toss = new TossClient({
    secretKey: config.TOSS_SECRET_KEY,
    baseUrl: config.TOSS_API_URL,
    ...(vendorFetch?.toss ? { fetch: vendorFetch.toss } : {}),
  })
  return {
    name: 'refund-retry',
    budgetMs: 120_000,
    cron: '*/10 * * * *',
    summary: 'Resend refunds Toss left pending',
    async run(ctx) {
      const sweep = await retryPendingRefunds(
        { db: ctx.db, toss, logger: logger.child({ component: 'refund-retry' }) },
        { olderThanSeconds: 60, limit: BATCH },
      )
      return { ...sweep }
    },
  }
}
