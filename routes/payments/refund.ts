import type { z } from 'zod'
import type { GatewayError } from '../../src/errors.js'
import { isOps, optionalUserId, requireUserId } from '../../src/kit/caller.js'
import { parseInput, readIdempotencyKey, readJson } from '../../src/kit/request.js'
import { markEffect, withEffect } from '../../src/platform/effect.js'
import type { AppContext, NativeHandler } from '../../src/types.js'
import { dbCall } from './db-problems.js'
import type { PaymentDeps } from './deps.js'
import { PAYMENT_PROBLEMS } from './problems.js'
import { type RefundRow, type RefundRunResult, runRefund } from './refund-run.js'
import { RefundBody, type RefundResponse, RefundRetryBody } from './schemas.js'
import { tossCodeProblem, tossProblem } from './toss/client.js'

const RETRY_HINT =
  'Repeat the same request with the same Idempotency-Key header (or, for ops, POST {"refundId"}) to finish it; the refund-retry job also finishes it.'

/**
 * `refund-process`: full or partial refund through Toss cancel, in steps that can each be
 * repeated: reserve in the database (`refund_reserve`, which enforces ownership, the 7-day
 * owner window and the balance) → take the refund's sender lease (`refund_claim`) → Toss
 * cancel with the refund's own Idempotency-Key → settle by the cancel's transaction key.
 * Only a definitive Toss refusal fails a refund; when the outcome is unknown the refund stays
 * `pending` and the answer is 202; a request for a refund another sender is working on is
 * answered 202 without calling Toss (docs/data-model.md, "Refund states").
 *
 * Body `{paymentKey, cancelReason, cancelAmount?, refundReceiveAccount?}`, or for ops
 * `{refundId, refundReceiveAccount?}` to resend a pending refund.
 */
export function createRefundProcess(deps: PaymentDeps): NativeHandler {
  const { db, toss, clock = Date.now } = deps
  return async function refundProcess(c) {
    const body = await readJson(c)
    const ops = isOps(c.var.identity)

    if (body && typeof body === 'object' && 'refundId' in body) {
      if (!ops) {
        throw PAYMENT_PROBLEMS.error('ops-only')
      }
      const input = parseInput(RefundRetryBody, body)
      const refund = await dbCall(db.call<RefundRow>('refund_get', { p_refund_id: input.refundId }))
      if (refund.status !== 'pending') return settledAnswer(c, refund)
      failFastWhenTossIsDown(toss)
      markEffect(c, 'refund-send')
      return runAnswer(c, await runRefund(deps, refund, input.refundReceiveAccount, c.get('trace')))
    }

    const userId = ops ? optionalUserId(c) : requireUserId(c)
    const idempotencyKey = readIdempotencyKey(c)
    const input = parseInput(RefundBody, body)
    // Nothing is written while Toss is known to be down: the caller retries later.
    failFastWhenTossIsDown(toss)
    const refund = await dbCall(
      withEffect(c, 'refund-reserve', () =>
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
      ),
    )
    if (refund.replayed) {
      c.header('idempotent-replayed', 'true')
      if (refund.status !== 'pending') return settledAnswer(c, refund)
    }
    return runAnswer(
      c,
      await dbCall(runRefund(deps, refund, input.refundReceiveAccount, c.get('trace'))),
    )
  }
}

function failFastWhenTossIsDown(toss: PaymentDeps['toss']): void {
  try {
    toss.assertAvailable()
  } catch (error) {
    throw tossProblem(error)
  }
}

/** A refund as answered; `RefundResponse` is what /openapi.json and the typed client describe. */
function view(refund: RefundRow): z.input<typeof RefundResponse> {
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

function pendingAnswer(c: AppContext, refund: RefundRow, retryAfterSeconds: number): Response {
  c.header('retry-after', String(retryAfterSeconds))
  return c.json({ ...view(refund), status: 'pending', retry: RETRY_HINT }, 202)
}

/** The answer always follows the row as read back: 200 only for a refund that is done. */
function runAnswer(c: AppContext, result: RefundRunResult): Response {
  if (result.state === 'done' && result.refund.status === 'done') {
    return c.json(view(result.refund), 200)
  }
  if (result.state === 'failed') throw withRefund(tossProblem(result.error), result.refund)
  if (result.state === 'temporary') {
    const problem = withRefund(tossProblem(result.error), result.refund)
    problem.headers['retry-after'] = String(result.retryAfterSeconds)
    throw problem
  }
  if (result.refund.status !== 'pending') return settledAnswer(c, result.refund)
  return pendingAnswer(c, result.refund, result.state === 'pending' ? result.retryAfterSeconds : 5)
}

/** A refund settled earlier (an idempotent replay or an ops resend of a finished refund). */
function settledAnswer(c: AppContext, refund: RefundRow): Response {
  if (refund.status === 'done') return c.json(view(refund), 200)
  if (refund.status === 'failed') {
    throw withRefund(tossCodeProblem(refund.failureCode ?? 'UNKNOWN'), refund)
  }
  return pendingAnswer(c, refund, 5)
}

/** Say which refund a problem is about and what state it is in. */
function withRefund(problem: GatewayError, refund: RefundRow): GatewayError {
  return problem.with({
    extra: { ...problem.extra, refundId: refund.refundId, refundStatus: refund.status },
  })
}
