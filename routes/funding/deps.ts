import type { Logger } from '../../src/observability/log.js'
import type { Db } from '../../src/platform/db/port.js'
import type { TossPayment } from '../payments/index.js'
import type { PaymentMethod } from './payment-method.js'
import type { RetrySchedule } from './schedule.js'

/** What the funding handlers and jobs need; built once by the entries. */
export interface FundingDeps {
  db: Db
  /** How pledges are paid (Toss billing by default). */
  method: PaymentMethod
  /** Re-fetch a payment from Toss (the funding webhook trusts only Toss's answer). */
  getPayment: (paymentKey: string) => Promise<TossPayment>
  logger: Logger
  retry: RetrySchedule
  work: WorkOptions
  /** Milliseconds since the epoch. */
  clock?: () => number
}

export interface WorkOptions {
  /** Items claimed per database round trip. */
  batchSize: number
  /** Calls in flight to the payment provider, per instance. */
  concurrency: number
  /** How long a claimed item is ours; a dead instance's items are claimable after it. */
  leaseSeconds: number
  /** Stop claiming after this long (what is claimed is still finished). */
  budgetMs: number
  /** A charge with no answer (timeout, 5xx) is reconciled by order id after this long. */
  unknownRetrySeconds: number
  /**
   * After this many unanswered tries of one attempt, a lookup finding no payment for its order
   * id closes the attempt as declined (so a stored 5xx answer cannot block the pledge forever).
   */
  maxUnknowns: number
  /** A card deletion that could not be sent is tried again after this long. */
  keyRetrySeconds: number
}
