import { GatewayError } from '../../src/errors.js'
import { parseInput, readJson } from '../../src/kit/request.js'
import { withEffect } from '../../src/platform/effect.js'
import { validationFailed } from '../../src/problems.js'
import type { NativeHandler } from '../../src/types.js'
import { PaymentStatusChangedEvent, tossProblem, webhookEventId } from '../payments/index.js'
import type { FundingDeps } from './deps.js'
import { FUNDING_PROBLEMS, fundingCall } from './problems.js'
import { BillingDeletedEvent } from './schemas.js'

interface AttemptRef {
  pledgeId: string
  attempt: number
  status: string
  attemptOpen: boolean
  leaseOwner: string | null
}

/**
 * `funding-payment-webhook`: Toss notifications for funding payments, answered 200 once handled
 * (Toss retries anything else 7 times). Each delivery is deduplicated by its transmission id
 * before anything else happens, Toss included; a delivery whose processing fails is released so
 * Toss's retry is processed again.
 *
 * - `BILLING_DELETED` (`data.billingKey`): the card was removed at Toss. Unsigned, but only Toss
 *   and we know a billing key: an unknown key changes nothing.
 * - `PAYMENT_STATUS_CHANGED` for a funding charge (refunds through refund-process, cancels): the
 *   payment is fetched again and only Toss's answer is applied; a charge whose answer was lost is
 *   settled from it.
 */
export function createFundingPaymentWebhook(deps: FundingDeps): NativeHandler {
  const { db, logger } = deps
  return async function fundingPaymentWebhook(c) {
    const body = await readJson(c)
    if (!body || typeof body !== 'object' || Array.isArray(body)) {
      throw validationFailed([{ field: '(body)', message: 'a JSON object' }])
    }
    const eventType = (body as { eventType?: unknown }).eventType
    if (typeof eventType !== 'string' || !/^[A-Z_]{1,64}$/.test(eventType)) {
      throw validationFailed([{ field: 'eventType', message: 'a Toss event type' }])
    }
    const transmissionId = c.req.header('tosspayments-webhook-transmission-id')
    const log = logger.child({ requestId: c.var.requestId, transmissionId, eventType })
    if (eventType !== 'BILLING_DELETED' && eventType !== 'PAYMENT_STATUS_CHANGED') {
      log.info('funding webhook event type ignored')
      return c.json({ ok: true, outcome: 'ignored' }, 200)
    }
    const billing =
      eventType === 'BILLING_DELETED' ? parseInput(BillingDeletedEvent, body) : undefined
    const status = billing ? undefined : parseInput(PaymentStatusChangedEvent, body)
    const eventId = await webhookEventId(
      transmissionId,
      billing
        ? [eventType, await digest(billing.data.billingKey), billing.createdAt]
        : [eventType, status?.data.paymentKey, status?.data.status, status?.createdAt],
    )

    const begun = await fundingCall(
      withEffect(c, 'webhook-claim', () =>
        db.call<'new' | 'duplicate' | 'in-progress'>('funding_webhook_begin', {
          p_event_id: eventId,
          p_event_type: eventType,
        }),
      ),
    )
    if (begun === 'duplicate') return c.json({ ok: true, outcome: 'duplicate' }, 200)
    if (begun === 'in-progress') {
      throw FUNDING_PROBLEMS.error('webhook-in-progress')
    }
    let outcome: string
    try {
      if (billing) {
        outcome = await db.call<string>('funding_billing_key_deleted', {
          p_billing_key: billing.data.billingKey,
          p_reason: billing.data.reason ?? 'BILLING_DELETED',
        })
      } else {
        outcome = await paymentChanged(deps, eventId, status as NonNullable<typeof status>, log)
      }
    } catch (error) {
      await db
        .call('funding_webhook_finish', { p_event_id: eventId, p_outcome: 'failed' })
        .catch(() => {})
      if (error instanceof GatewayError) throw error
      throw error instanceof Error && error.name.startsWith('Toss') ? tossProblem(error) : error
    }
    await db.call('funding_webhook_finish', { p_event_id: eventId, p_outcome: outcome })
    log.info('funding webhook', { outcome })
    return c.json({ ok: true, outcome }, 200)
  }
}

async function paymentChanged(
  { db, getPayment, clock = Date.now }: FundingDeps,
  eventId: string,
  event: { eventType: string; data: { paymentKey: string; orderId: string } },
  log: FundingDeps['logger'],
): Promise<string> {
  const attempt = await db.call<AttemptRef | null>('funding_charge_attempt_get', {
    p_order_id: event.data.orderId,
  })
  if (!attempt) return 'unknown-order'
  const payment = await getPayment(event.data.paymentKey)
  if (payment.orderId !== event.data.orderId) {
    log.warn('funding webhook body disagrees with Toss', { orderId: event.data.orderId })
    throw validationFailed([
      { field: 'data.orderId', message: 'does not match the payment at Toss' },
    ])
  }
  if (attempt.status === 'sent' && payment.status === 'DONE') {
    // The charge's own answer was lost: Toss's record settles it.
    await db.call('funding_charge_settle', {
      p_pledge_id: attempt.pledgeId,
      p_attempt: attempt.attempt,
      p_owner: attempt.leaseOwner ?? 'webhook',
      p_outcome: 'done',
      p_payment: payment,
      p_now: new Date(clock()).toISOString(),
    })
    return 'charge-reconciled'
  }
  return db.call<string>('webhook_apply_payment_event', {
    p_event_id: eventId,
    p_event_type: event.eventType,
    p_payment: payment,
  })
}

async function digest(value: string): Promise<string> {
  const bytes = new Uint8Array(
    await crypto.subtle.digest('SHA-256', new TextEncoder().encode(value)),
  )
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}
