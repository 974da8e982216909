/**
 * Legacy `refund-process`: `POST {paymentKey, cancelReason, cancelAmount?, refundReceiveAccount?}`
 * by the payment's owner (or ops) → reserve in the database, Toss cancel with the refund's own
 * Idempotency-Key, settle → 200 `{refundId, paymentKey, status, amount, balanceAmount,
 * paymentStatus, transactionKey}`. A repeat with the same `Idempotency-Key` answers the same
 * refund with `idempotent-replayed: true`. `{refundId}` (resend a pending refund) is for ops only.
 */
import { z } from 'zod'
import {
  fieldsOf,
  json,
  type LegacyContract,
  problem,
  readJson,
  validationFailed,
} from '../legacy-kit.js'
import { dbErrorResponse, idempotencyKeyOf, userIdOf } from '../payments-contract.js'

const Account = z.object({
  bank: z.string().trim().min(1).max(20),
  accountNumber: z.string().regex(/^\d{1,20}$/),
  holderName: z.string().trim().min(1).max(60),
})
const Body = z.object({
  paymentKey: z.string().min(1).max(200),
  cancelReason: z.string().trim().min(1).max(200),
  cancelAmount: z.number().int().positive().max(2_147_483_647).optional(),
  refundReceiveAccount: Account.optional(),
})

interface Refund {
  refundId: string
  idempotencyKey: string
  paymentKey: string
  amount: number
  fullCancel: boolean
  refundableAmount: number
  reason: string
  status: string
  transactionKey: string | null
  balanceAmount: number | null
  paymentStatus: string | null
  replayed: boolean
}

const view = (r: Refund) => ({
  refundId: r.refundId,
  paymentKey: r.paymentKey,
  status: r.status,
  amount: r.amount,
  balanceAmount: r.balanceAmount,
  paymentStatus: r.paymentStatus,
  transactionKey: r.transactionKey,
})

export const contract: LegacyContract = async (req, env) => {
  const user = await env.user(req)
  const ops =
    user?.role === 'service_role' ||
    (user?.claims.app_metadata as { role?: unknown } | undefined)?.role === 'ops'
  const read = await readJson(req)
  if (!read.ok) return read.response
  if (read.body && typeof read.body === 'object' && 'refundId' in read.body && !ops) {
    return problem(403, 'ops-only', 'Only ops may resend a refund by id')
  }
  let userId: string | undefined
  if (!ops) {
    const owner = await userIdOf(req, env)
    if (owner.refused) return owner.refused
    userId = owner.userId
  }
  const key = idempotencyKeyOf(req)
  if (key.refused) return key.refused
  const parsed = Body.safeParse(read.body)
  if (!parsed.success) return validationFailed(fieldsOf(parsed.error.issues))
  const input = parsed.data
  try {
    let refund = await env.db.call<Refund>('refund_reserve', {
      p_payment_key: input.paymentKey,
      p_user_id: userId ?? null,
      p_amount: input.cancelAmount ?? null,
      p_reason: input.cancelReason,
      p_is_ops: ops,
      p_client_key: key.key ?? null,
      p_refund_account: input.refundReceiveAccount ?? null,
      p_now: new Date().toISOString(),
    })
    const replayed: Record<string, string> = refund.replayed
      ? { 'idempotent-replayed': 'true' }
      : {}
    if (refund.replayed && refund.status === 'done') return json(view(refund), 200, replayed)
    const res = await fetch(
      `${env.toss.url}/v1/payments/${encodeURIComponent(refund.paymentKey)}/cancel`,
      {
        method: 'POST',
        headers: {
          authorization: `Basic ${btoa(`${env.toss.secretKey}:`)}`,
          'content-type': 'application/json',
          'idempotency-key': refund.idempotencyKey,
        },
        body: JSON.stringify({
          cancelReason: refund.reason,
          ...(refund.fullCancel ? {} : { cancelAmount: refund.amount }),
          refundableAmount: refund.refundableAmount,
          ...(input.refundReceiveAccount
            ? { refundReceiveAccount: input.refundReceiveAccount }
            : {}),
        }),
      },
    )
    const payment = (await res.json()) as { code?: string }
    if (!res.ok) {
      await env.db.call('refund_settle', {
        p_refund_id: refund.refundId,
        p_outcome: 'failed',
        p_failure_code: payment.code ?? 'UNKNOWN',
        p_release_client_key: res.status >= 500,
      })
      return problem(
        res.status >= 500 ? 502 : res.status,
        `toss-${payment.code}`,
        'Toss refused the refund',
      )
    }
    refund = await env.db.call<Refund>('refund_settle', {
      p_refund_id: refund.refundId,
      p_outcome: 'done',
      p_payment: payment,
    })
    return json(view(refund), 200, replayed)
  } catch (error) {
    return dbErrorResponse(error)
  }
}
