import type { Logger } from '../../src/observability/log.js'
import type { Db } from '../../src/platform/db/port.js'
import type { PaymentMethod } from './payment-method.js'
import type { RetrySchedule } from './schedule.js'
import type { WorkOptions } from './work.js'

/** What the funding handlers and jobs need; built once by the entries. */
export interface FundingDeps {
  db: Db
  /** How pledges are paid (Toss billing by default). */
  method: PaymentMethod
  logger: Logger
  retry: RetrySchedule
  work: WorkOptions
  /** Milliseconds since the epoch. */
  clock?: () => number
}
