import type { TossClient } from '../../src/clients/toss.js'
import type { Logger } from '../../src/observability/log.js'
import type { Db } from '../../src/platform/db/port.js'

/** What the three payment handlers need; built once by the entries and passed to each factory. */
export interface PaymentDeps {
  db: Db
  /** Only `getPayment`, `cancelPayment` and `circuitState` are used. */
  toss: Pick<TossClient, 'getPayment' | 'cancelPayment' | 'circuitState'>
  logger: Logger
  /** Milliseconds since the epoch; the refund window is checked against it. */
  clock?: () => number
}
