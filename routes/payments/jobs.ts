import type { PaymentDeps } from './deps.js'
import { type PendingRefundSweep, retryPendingRefunds } from './refund-run.js'

export interface RefundRetryOptions {
  /** Leave refunds younger than this to their own client's retry (seconds, default 60). */
  olderThanSeconds?: number
  /** At most this many refunds per run (default 50). */
  limit?: number
  /** Checked between two refunds: true once the run's time budget is spent. */
  shouldStop?: () => boolean
}

/**
 * The `refund-retry` job: finish refunds left `pending` (Toss timed out, answered 5xx, asked
 * us to wait, or the answer was not recorded). Each refund goes through the same sender lease
 * as a client's request, so the job never sends a refund a request is sending, and a run that
 * overlaps another run sends nothing twice. Virtual-account refunds are counted in
 * `needsAccount` and left to ops (the account is never stored).
 *
 * The scheduled dispatcher runs it (`routes/jobs/refund-retry.ts`); ops run it by hand with
 * `npm run jobs -- run refund-retry`.
 */
export async function runRefundRetryJob(
  deps: Pick<PaymentDeps, 'db' | 'toss' | 'logger' | 'refundLeaseSeconds' | 'clock'>,
  options: RefundRetryOptions = {},
): Promise<PendingRefundSweep> {
  const log = deps.logger.child({ job: 'refund-retry' })
  const sweep = await retryPendingRefunds({ ...deps, logger: log }, options)
  log.info('refund-retry finished', { ...sweep })
  return sweep
}
