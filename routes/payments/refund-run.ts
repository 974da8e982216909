import type { TraceContext } from '../../src/observability/trace-context.js'
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
  /** The Idempotency-Key of the next cancel (the refund's key, or a fresh one after a refusal). */
  tossIdempotencyKey?: string
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
  createdAt?: string
  /** Sends started for this refund (claims taken). */
  attempts?: number
  /** Why the last attempt left the refund pending (TIMEOUT, a Toss code, ...). */
  lastError?: string | null
}

/**
 * What one run of a refund ended in:
 * - `done`: Toss cancelled and the row says so (read back).
 * - `pending`: the outcome is unknown (timeout, Toss 5xx, lost connection, not recorded) or
 *   another sender is on it; the refund stays pending and is finished by a retry.
 * - `temporary`: Toss refused for now (FORBIDDEN_CONSECUTIVE_REQUEST, PROVIDER_ERROR, circuit
 *   open); the refund stays pending and may be retried after `retryAfterSeconds`.
 * - `failed`: Toss refused definitively; the row is failed.
 */
export type RefundRunResult =
  | { state: 'done'; refund: RefundRow }
  | { state: 'pending'; refund: RefundRow; reason: string; retryAfterSeconds: number }
  | {
      state: 'temporary'
      refund: RefundRow
      error: TossError | TossUnavailableError
      retryAfterSeconds: number
    }
  | { state: 'failed'; refund: RefundRow; error: TossError }

/** Seconds a client is told to wait before repeating a refund whose outcome is unknown. */
export const UNKNOWN_RETRY_AFTER_SECONDS = 5

/**
 * Default lease: longer than the slowest send (Toss client deadline x attempts plus backoff,
 * for the check and the cancel), so a lease never expires under a live sender.
 */
export const DEFAULT_REFUND_LEASE_SECONDS = 120

/**
 * Toss's Idempotency-Key is kept 15 days: within that window a repeat of our cancel answers
 * with its first response, so resending is how we learn what happened. Past it (with a margin)
 * a resend could not tell us, and the refund is left for ops.
 */
const IDEMPOTENCY_WINDOW_MS = 14 * 24 * 3600_000

/** Toss refusals that say "not now" rather than "no". */
const TEMPORARY_CODES: Record<string, number> = {
  FORBIDDEN_CONSECUTIVE_REQUEST: 2,
  PROVIDER_ERROR: 10,
}

interface Claim {
  claimed: boolean
  token?: string
  retryAfterSeconds?: number
  refund: RefundRow
}

type RunDeps = Pick<PaymentDeps, 'db' | 'toss' | 'logger' | 'refundLeaseSeconds' | 'clock'>

/**
 * Send the Toss cancel for a reserved refund and settle it, as its only sender: the lease on
 * the row (`refund_claim`) lets one caller at a time talk to Toss for this refund; anyone else
 * gets `pending` and sends nothing. The body is rebuilt from the row and the Idempotency-Key is
 * the row's, so a resend is the same request. After an attempt whose outcome was not learnt,
 * Toss is asked first (GET payment): if its balance is still the one the refund was reserved
 * against, our cancel provably did not happen; otherwise the resend with the refund's own key
 * is answered with the first response (which names our cancel by `lastTransactionKey`) or
 * refused because the balance moved. The refund is settled by that transaction key.
 */
export async function runRefund(
  deps: RunDeps,
  reserved: RefundRow,
  account: TossRefundReceiveAccount | undefined,
  /** The trace of the request that runs it (none for the pending-refund sweep). */
  trace?: TraceContext,
): Promise<RefundRunResult> {
  const { db, toss, logger } = deps
  const log = logger.child({ refundId: reserved.refundId, paymentKey: reserved.paymentKey })
  const claim = await db.call<Claim>('refund_claim', {
    p_refund_id: reserved.refundId,
    p_lease_seconds: deps.refundLeaseSeconds ?? DEFAULT_REFUND_LEASE_SECONDS,
  })
  if (!claim.claimed || !claim.token) return unclaimed(claim)
  const token = claim.token
  const refund = claim.refund

  const release = async (
    error: string,
    retryAfterSeconds: number,
    remember = 0,
    freshKey = false,
  ): Promise<RefundRow> => {
    try {
      return await db.call<RefundRow>('refund_release', {
        p_refund_id: refund.refundId,
        p_token: token,
        p_error: error,
        p_retry_after_seconds: remember,
        p_fresh_key: freshKey,
      })
    } catch (releaseError) {
      // The lease runs out by itself; the refund stays pending either way.
      log.error('refund lease not released', { error: String(releaseError), retryAfterSeconds })
      return refund
    }
  }

  if ((refund.attempts ?? 1) > 1) {
    let atToss: TossPayment
    try {
      atToss = await toss.getPayment(refund.paymentKey, { trace })
    } catch (error) {
      log.warn('refund check at Toss failed; left pending', { error: String(error) })
      const pending = await release(errorCode(error), UNKNOWN_RETRY_AFTER_SECONDS)
      return {
        state: 'pending',
        refund: pending,
        reason: 'check-failed',
        retryAfterSeconds: UNKNOWN_RETRY_AFTER_SECONDS,
      }
    }
    const untouched = atToss.balanceAmount === refund.refundableAmount
    const clock = deps.clock ?? Date.now
    const createdAt = refund.createdAt ? Date.parse(refund.createdAt) : clock()
    if (!untouched && clock() - createdAt > IDEMPOTENCY_WINDOW_MS) {
      log.error('pending refund older than the Toss idempotency window; ops must settle it', {
        balanceAtToss: atToss.balanceAmount,
      })
      const pending = await release('NEEDS_REVIEW', UNKNOWN_RETRY_AFTER_SECONDS, 3600)
      return {
        state: 'pending',
        refund: pending,
        reason: 'needs-review',
        retryAfterSeconds: UNKNOWN_RETRY_AFTER_SECONDS,
      }
    }
  }

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
      refund.tossIdempotencyKey ?? refund.idempotencyKey,
      { trace },
    )
  } catch (error) {
    if (error instanceof TossError && TEMPORARY_CODES[error.code] !== undefined) {
      const wait = TEMPORARY_CODES[error.code] as number
      log.warn('refund refused for now by Toss; left pending', { code: error.code })
      // A refusal: nothing was cancelled, so the next send may (and must) carry a new key.
      const pending = await release(error.code, wait, wait, true)
      return { state: 'temporary', refund: pending, error, retryAfterSeconds: wait }
    }
    if (error instanceof TossUnavailableError && error.reason === 'circuit-open') {
      const pending = await release('UNAVAILABLE', error.retryAfterSeconds)
      return {
        state: 'temporary',
        refund: pending,
        error,
        retryAfterSeconds: error.retryAfterSeconds,
      }
    }
    if (error instanceof TossError && error.status < 500) {
      const settled = await db.call<RefundRow>('refund_settle_failed', {
        p_refund_id: refund.refundId,
        p_token: token,
        p_failure_code: error.code,
      })
      log.warn('refund refused by Toss', { code: error.code, status: error.status })
      if (settled.status === 'failed') return { state: 'failed', refund: settled, error }
      return fromRow(settled, 'lease-lost')
    }
    if (
      !(
        error instanceof TossError ||
        error instanceof TossTimeoutError ||
        error instanceof TossUnavailableError
      )
    ) {
      await release('ERROR', UNKNOWN_RETRY_AFTER_SECONDS)
      throw error
    }
    // A timeout, a lost connection or a Toss 5xx: Toss may or may not have cancelled.
    log.warn('refund outcome unknown; left pending', { error: errorCode(error) })
    const pending = await release(errorCode(error), UNKNOWN_RETRY_AFTER_SECONDS)
    return {
      state: 'pending',
      refund: pending,
      reason: 'outcome-unknown',
      retryAfterSeconds: UNKNOWN_RETRY_AFTER_SECONDS,
    }
  }

  const transactionKey = payment.lastTransactionKey
  try {
    const settled = await db.call<RefundRow>('refund_settle_done', {
      p_refund_id: refund.refundId,
      p_payment: payment,
      p_transaction_key: transactionKey ?? null,
    })
    if (settled.status !== 'done') return fromRow(settled, 'not-recorded')
    log.info('refund done', { amount: settled.amount, balanceAmount: settled.balanceAmount })
    return { state: 'done', refund: settled }
  } catch (error) {
    if (error instanceof DbFunctionError && error.code === 'refund-already-settled') {
      // Another writer settled it meanwhile: answer what the row says, never what we hoped.
      const row = await db.call<RefundRow>('refund_get', { p_refund_id: refund.refundId })
      log.error('refund settled by someone else while Toss answered', { status: row.status })
      return row.status === 'done' ? { state: 'done', refund: row } : fromRow(row, 'conflict')
    }
    // Toss cancelled but we could not record it (or its answer does not name our cancel): the
    // retry replays Toss's answer for our key and settles it.
    log.error('refund done at Toss but not recorded; left pending', {
      error: error instanceof DbFunctionError ? error.code : String(error),
    })
    const pending = await release('NOT_RECORDED', UNKNOWN_RETRY_AFTER_SECONDS)
    return {
      state: 'pending',
      refund: pending,
      reason: 'settle-failed',
      retryAfterSeconds: UNKNOWN_RETRY_AFTER_SECONDS,
    }
  }
}

function errorCode(error: unknown): string {
  if (error instanceof TossError) return error.code
  if (error instanceof TossTimeoutError) return 'TIMEOUT'
  if (error instanceof TossUnavailableError) return 'UNAVAILABLE'
  return 'ERROR'
}

/** A refund this caller could not claim: settled already, or someone else is sending it. */
function unclaimed(claim: Claim): RefundRunResult {
  const wait = Math.max(1, claim.retryAfterSeconds ?? UNKNOWN_RETRY_AFTER_SECONDS)
  if (claim.refund.status === 'pending') {
    return { state: 'pending', refund: claim.refund, reason: 'in-flight', retryAfterSeconds: wait }
  }
  return fromRow(claim.refund, 'settled')
}

/** The result a row's own status implies (done, failed with its code, or pending). */
function fromRow(row: RefundRow, reason: string): RefundRunResult {
  if (row.status === 'done') return { state: 'done', refund: row }
  if (row.status === 'failed') {
    return {
      state: 'failed',
      refund: row,
      error: new TossError(row.failureCode ?? 'UNKNOWN', 400, row.failureCode ?? 'UNKNOWN'),
    }
  }
  return {
    state: 'pending',
    refund: row,
    reason,
    retryAfterSeconds: UNKNOWN_RETRY_AFTER_SECONDS,
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
 * Resend every refund pending longer than `olderThanSeconds` whose lease is free and whose
 * wait Toss asked for is over (the refund-retry job, an ops command). Bounded by `limit`;
 * each refund keeps its own Idempotency-Key and goes through the same lease as a request.
 */
export async function retryPendingRefunds(
  deps: RunDeps,
  {
    olderThanSeconds = 60,
    limit = 50,
    shouldStop = () => false,
  }: { olderThanSeconds?: number; limit?: number; shouldStop?: () => boolean } = {},
): Promise<PendingRefundSweep> {
  const pending = await deps.db.call<RefundRow[]>('refund_pending_list', {
    p_older_than_seconds: olderThanSeconds,
    p_limit: limit,
  })
  const sweep: PendingRefundSweep = { done: 0, failed: 0, stillPending: 0, needsAccount: 0 }
  for (const [index, refund] of pending.entries()) {
    if (shouldStop()) {
      sweep.stillPending += pending.length - index
      break
    }
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
