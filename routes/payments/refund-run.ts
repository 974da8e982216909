import { DbFunctionError } from '../../src/platform/db/port.js'
import type { PaymentDeps } from './deps.js'
import {
  TossError,
  type TossPayment,
  type TossRefundReceiveAccount,
  TossTimeoutError,
  TossUnavailableError,
} from './toss/client.js'

/** A refund row as the SQL functions return it (`refund_json`). */
export interface RefundRow {
  refundId: string
  idempotencyKey: string
  paymentKey: string
  amount: number
  fullCancel: boolean
  refundableAmount: number
  reason: string
  status: 'pending' | 'done' | 'failed'
  transactionKey: string | null
  failureCode: string | null
  balanceAmount: number | null
  paymentStatus: string | null
  method: string | null
  replayed: boolean
}

export type RefundRunResult =
  | { state: 'done'; refund: RefundRow }
  /** Toss's answer is unknown (timeout) or could not be recorded: the retry path finishes it. */
  | { state: 'pending'; refund: RefundRow; reason: string }
  | { state: 'failed'; refund: RefundRow; error: TossError | TossUnavailableError }

/**
 * Send the Toss cancel for a reserved refund and settle it. The body is rebuilt from the row
 * (reason, amount, refundableAmount at reservation) and the Idempotency-Key is the row's, so
 * running this again for the same refund is the same request: Toss answers a repeat with its
 * first response and never cancels twice.
 */
export async function runRefund(
  { db, toss, logger }: Pick<PaymentDeps, 'db' | 'toss' | 'logger'>,
  refund: RefundRow,
  account: TossRefundReceiveAccount | undefined,
): Promise<RefundRunResult> {
  const log = logger.child({ refundId: refund.refundId, paymentKey: refund.paymentKey })
  let payment: TossPayment
  try {
    payment = await toss.cancelPayment(
      refund.paymentKey,
      {
        cancelReason: refund.reason,
        ...(refund.fullCancel ? {} : { cancelAmount: refund.amount }),
        refundableAmount: refund.refundableAmount,
        ...(account ? { refundReceiveAccount: account } : {}),
      },
      refund.idempotencyKey,
    )
  } catch (error) {
    if (error instanceof TossTimeoutError) {
      log.warn('refund outcome unknown; left pending for the retry path', { error: error.message })
      return { state: 'pending', refund, reason: 'toss-timeout' }
    }
    if (!(error instanceof TossError || error instanceof TossUnavailableError)) throw error
    const code = error instanceof TossError ? error.code : 'TOSS_UNAVAILABLE'
    // A temporary failure frees the caller's Idempotency-Key so the same request can be retried.
    const temporary = error instanceof TossUnavailableError || error.status >= 500
    const settled = await settle(db, refund.refundId, {
      p_outcome: 'failed',
      p_failure_code: code,
      p_release_client_key: temporary,
    }).catch((settleError: unknown) => {
      log.error('could not record a failed refund; it stays pending', {
        error: String(settleError),
      })
      return undefined
    })
    if (settled?.status === 'done') return { state: 'done', refund: settled }
    log.warn('refund refused by Toss', {
      code,
      status: error instanceof TossError ? error.status : 503,
    })
    return { state: 'failed', refund: settled ?? refund, error }
  }
  try {
    const settled = await settle(db, refund.refundId, { p_outcome: 'done', p_payment: payment })
    log.info('refund done', { amount: settled.amount, balanceAmount: settled.balanceAmount })
    return { state: 'done', refund: settled }
  } catch (error) {
    // Toss cancelled but we could not record it: the retry replays Toss's answer and settles.
    log.error('refund done at Toss but not recorded; left pending', { error: String(error) })
    return { state: 'pending', refund, reason: 'settle-failed' }
  }
}

/** `refund_settle`; a refund another request already settled is read back instead. */
async function settle(
  db: PaymentDeps['db'],
  refundId: string,
  args: Record<string, unknown>,
): Promise<RefundRow> {
  try {
    return await db.call<RefundRow>('refund_settle', { p_refund_id: refundId, ...args })
  } catch (error) {
    if (error instanceof DbFunctionError && error.code === 'refund-already-settled') {
      return db.call<RefundRow>('refund_get', { p_refund_id: refundId })
    }
    throw error
  }
}

export interface PendingRefundSweep {
  done: number
  failed: number
  stillPending: number
  /** Virtual-account refunds need the account again, which is never stored: ops must resend. */
  needsAccount: number
}

/**
 * Resend every refund pending longer than `olderThanSeconds` (a scheduled job or an ops call).
 * Bounded by `limit`; each refund keeps its own Idempotency-Key.
 */
export async function retryPendingRefunds(
  deps: Pick<PaymentDeps, 'db' | 'toss' | 'logger'>,
  { olderThanSeconds = 60, limit = 50 }: { olderThanSeconds?: number; limit?: number } = {},
): Promise<PendingRefundSweep> {
  const pending = await deps.db.call<RefundRow[]>('refund_pending_list', {
    p_older_than_seconds: olderThanSeconds,
    p_limit: limit,
  })
  const sweep: PendingRefundSweep = { done: 0, failed: 0, stillPending: 0, needsAccount: 0 }
  for (const refund of pending) {
    if (refund.method === '가상계좌') {
      sweep.needsAccount++
      continue
    }
    const result = await runRefund(deps, refund, undefined)
    if (result.state === 'done') sweep.done++
    else if (result.state === 'failed') sweep.failed++
    else sweep.stillPending++
  }
  return sweep
}
