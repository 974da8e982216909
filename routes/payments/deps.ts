import type { Logger } from '../../src/observability/log.js'
import type { Db } from '../../src/platform/db/port.js'
import type { TossClient } from './toss/client.js'

/** What the three payment handlers need; built once by the entries and passed to each factory. */
export interface PaymentDeps {
  db: Db
  toss: Pick<TossClient, 'getPayment' | 'cancelPayment' | 'assertAvailable'>
  logger: Logger
  /** Milliseconds since the epoch; the refund window is checked against it. */
  clock?: () => number
  /** How long one sender holds a refund (`refund_claim`); 120 s by default. */
  refundLeaseSeconds?: number
}
