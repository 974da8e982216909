import { GatewayError } from '../../src/errors.js'
import type { AppContext, NativeHandler } from '../../src/types.js'
import { dbCall } from './db-problems.js'
import type { PaymentDeps } from './deps.js'
import {
  isOps,
  optionalUserId,
  parseBody,
  readIdempotencyKey,
  readJsonBody,
  requireUserId,
} from './http.js'
import { type RefundRow, type RefundRunResult, runRefund } from './refund-run.js'
import { RefundBody, RefundRetryBody } from './schemas.js'
import { tossCodeProblem, tossProblem } from './toss/client.js'

const RETRY_HINT =
  'Repeat the same request with the same Idempotency-Key header (or, for ops, POST {"refundId"}) to finish it.'

/**
 * `refund-process`: full or partial refund through Toss cancel, in three steps that can each be
 * repeated: reserve in the database (`refund_reserve`, which enforces ownership, the 7-day
 * owner window and the balance) → Toss cancel with the refund's own Idempotency-Key →
 * settle (`refund_settle`). When Toss does not answer in time the refund stays `pending` and
 * the answer is 202; the retry path (docs/data-model.md) completes it without a second cancel.
 *
 * Body `{paymentKey, cancelReason, cancelAmount?, refundReceiveAccount?}`, or for ops
 * `{refundId, refundReceiveAccount?}` to resend a pending refund.
 */
export function createRefundProcess(deps: PaymentDeps): NativeHandler {
  const { db, toss, clock = Date.now } = deps
  return async function refundProcess(c) {
    const body = await readJsonBody(c)
    const ops = isOps(c.var.identity)

    if (body && typeof body === 'object' && 'refundId' in body) {
      if (!ops) {
        throw new GatewayError({
          status: 403,
          code: 'ops-only',
          title: 'Only ops may resend a refund by id',
        })
      }
      const input = parseBody(RefundRetryBody, body)
      const refund = await dbCall(db.call<RefundRow>('refund_get', { p_refund_id: input.refundId }))
      if (refund.status !== 'pending') return settledAnswer(c, refund)
      failFastWhenTossIsDown(toss)
      c.set('sideEffect', true)
      return runAnswer(c, await runRefund(deps, refund, input.refundReceiveAccount))
    }

    const userId = ops ? optionalUserId(c) : requireUserId(c)
    const idempotencyKey = readIdempotencyKey(c)
    const input = parseBody(RefundBody, body)
    // Nothing is written while Toss is known to be down: the caller retries later.
    failFastWhenTossIsDown(toss)
    const refund = await dbCall(
      db.call<RefundRow>('refund_reserve', {
        p_payment_key: input.paymentKey,
        p_user_id: userId ?? null,
        p_amount: input.cancelAmount ?? null,
        p_reason: input.cancelReason,
        p_is_ops: ops,
        p_client_key: idempotencyKey ?? null,
        p_refund_account: input.refundReceiveAccount ?? null,
        p_now: new Date(clock()).toISOString(),
      }),
    )
    if (refund.replayed) {
      c.header('idempotent-replayed', 'true')
      if (refund.status !== 'pending') return settledAnswer(c, refund)
    }
    c.set('sideEffect', true)
    return runAnswer(c, await runRefund(deps, refund, input.refundReceiveAccount))
  }
}

function failFastWhenTossIsDown(toss: PaymentDeps['toss']): void {
  try {
    toss.assertAvailable()
  } catch (error) {
    throw tossProblem(error)
  }
}

function view(refund: RefundRow) {
  return {
    refundId: refund.refundId,
    paymentKey: refund.paymentKey,
    status: refund.status,
    amount: refund.amount,
    balanceAmount: refund.balanceAmount,
    paymentStatus: refund.paymentStatus,
    transactionKey: refund.transactionKey,
  }
}

function runAnswer(c: AppContext, result: RefundRunResult): Response {
  if (result.state === 'done') return c.json(view(result.refund), 200)
  if (result.state === 'pending') {
    return c.json({ ...view(result.refund), status: 'pending', retry: RETRY_HINT }, 202)
  }
  throw tossProblem(result.error)
}

/** A refund settled earlier (an idempotent replay or an ops resend of a finished refund). */
function settledAnswer(c: AppContext, refund: RefundRow): Response {
  if (refund.status === 'done') return c.json(view(refund), 200)
  if (refund.status === 'failed') throw tossCodeProblem(refund.failureCode ?? 'UNKNOWN')
  return c.json({ ...view(refund), retry: RETRY_HINT }, 202)
}
