import { parseInput, readJson } from '../../src/kit/request.js'
import { withEffect } from '../../src/platform/effect.js'
import { validationFailed } from '../../src/problems.js'
import type { AppContext, NativeHandler } from '../../src/types.js'
import { dbCall } from './db-problems.js'
import type { PaymentDeps } from './deps.js'
import { PAYMENT_PROBLEMS } from './problems.js'
import { DepositCallbackEvent, PaymentStatusChangedEvent } from './schemas.js'
import { type TossPayment, tossProblem } from './toss/client.js'
import { tossTimestamp, webhookEventId } from './webhook-event.js'

/** How long a delivery's claim lasts: longer than the Toss re-fetch can take with its retries. */
const CLAIM_SECONDS = 60

/** What the SQL functions answer; `secret-mismatch` only for DEPOSIT_CALLBACK. */
export type WebhookOutcome =
  | 'applied'
  | 'duplicate'
  | 'stale'
  | 'unknown-order'
  | 'amount-mismatch'
  | 'order-mismatch'
  | 'secret-mismatch'

/**
 * `payment-webhook`: TossPayments deliveries. Toss counts only HTTP 200 as delivered and
 * retries anything else 7 times (docs.tosspayments.com/reference/using-api/webhook-events), so:
 * 200 for applied, duplicate, stale, unknown orders and event types we do not handle; 4xx for
 * bodies that are malformed or fail authenticity; 503 when Toss or the database is down, so
 * the delivery comes back later.
 *
 * Authenticity: PAYMENT_STATUS_CHANGED is not signed, so its body is only a hint — the payment
 * is fetched again from Toss and only that answer is applied. DEPOSIT_CALLBACK must carry the
 * `secret` stored when the payment was confirmed (compared in the database by digest).
 */
export function createPaymentWebhook({ db, toss, logger }: PaymentDeps): NativeHandler {
  return async function paymentWebhook(c) {
    const body = await readJson(c)
    if (!body || typeof body !== 'object' || Array.isArray(body)) {
      throw validationFailed([{ field: '(body)', message: 'a JSON object' }])
    }
    const transmissionId = c.req.header('tosspayments-webhook-transmission-id')
    const log = logger.child({ requestId: c.var.requestId, transmissionId })
    const eventType = (body as { eventType?: unknown }).eventType

    if (eventType === undefined) {
      const event = parseInput(DepositCallbackEvent, body)
      const createdAt = tossTimestamp(event.createdAt)
      if (!createdAt) throw validationFailed([{ field: 'createdAt', message: 'a timestamp' }])
      const eventId = await webhookEventId(transmissionId, [
        'DEPOSIT_CALLBACK',
        event.orderId,
        event.status,
        event.transactionKey,
        event.createdAt,
      ])
      const outcome = await dbCall(
        withEffect(c, 'webhook-apply', () =>
          db.call<WebhookOutcome>('webhook_apply_deposit_callback', {
            p_event_id: eventId,
            p_order_id: event.orderId,
            p_secret: event.secret,
            p_status: event.status,
            p_transaction_key: event.transactionKey ?? null,
            p_created_at: createdAt,
          }),
        ),
      )
      if (outcome === 'secret-mismatch') {
        log.warn('deposit callback with a wrong secret', { orderId: event.orderId })
        throw PAYMENT_PROBLEMS.error('webhook-not-authentic')
      }
      return answer(c, log, outcome, { eventType: 'DEPOSIT_CALLBACK', orderId: event.orderId })
    }

    if (eventType !== 'PAYMENT_STATUS_CHANGED') {
      if (typeof eventType !== 'string' || eventType.length > 64) {
        throw validationFailed([{ field: 'eventType', message: 'a Toss event type' }])
      }
      // Not ours to handle (CANCEL_STATUS_CHANGED, payout events): acknowledge so Toss stops.
      log.info('webhook event type ignored', { eventType })
      return c.json({ ok: true, outcome: 'ignored' }, 200)
    }

    const event = parseInput(PaymentStatusChangedEvent, body)
    const eventId = await webhookEventId(transmissionId, [
      eventType,
      event.data.paymentKey,
      event.data.status,
      event.createdAt,
      typeof event.data.lastTransactionKey === 'string' ? event.data.lastTransactionKey : undefined,
    ])
    // Claim the delivery before Toss is asked: a duplicate costs one database call, not a
    // Toss call, and only one request at a time processes a delivery.
    const claim = await dbCall(
      withEffect(c, 'webhook-claim', () =>
        db.call<'claimed' | 'duplicate' | 'in-flight'>('webhook_claim_event', {
          p_event_id: eventId,
          p_event_type: eventType,
          p_payment_key: event.data.paymentKey,
          p_order_id: event.data.orderId,
          p_lease_seconds: CLAIM_SECONDS,
        }),
      ),
    )
    if (claim === 'duplicate') {
      return answer(c, log, 'duplicate', { eventType, paymentKey: event.data.paymentKey })
    }
    if (claim === 'in-flight') {
      // Not a 200: if the request holding the claim fails, Toss's redelivery must still come.
      throw PAYMENT_PROBLEMS.error('webhook-in-progress', { retryAfterSeconds: CLAIM_SECONDS })
    }
    const release = () =>
      db.call('webhook_release_event', { p_event_id: eventId }).catch((error: unknown) => {
        // The claim expires by itself after CLAIM_SECONDS.
        log.warn('webhook claim not released', { error: String(error) })
      })
    let payment: TossPayment
    try {
      payment = await toss.getPayment(event.data.paymentKey, { trace: c.get('trace') })
    } catch (error) {
      log.warn('webhook payment re-fetch failed', {
        paymentKey: event.data.paymentKey,
        error: String(error),
      })
      await release()
      throw tossProblem(error)
    }
    if (payment.orderId !== event.data.orderId || payment.paymentKey !== event.data.paymentKey) {
      log.warn('webhook body disagrees with Toss', { paymentKey: event.data.paymentKey })
      await release()
      throw validationFailed([
        { field: 'data.orderId', message: 'does not match the payment at Toss' },
      ])
    }
    const outcome = await dbCall(
      db.call<WebhookOutcome>('webhook_apply_payment_event', {
        p_event_id: eventId,
        p_event_type: eventType,
        p_payment: payment,
      }),
    )
    return answer(c, log, outcome, {
      eventType,
      orderId: payment.orderId,
      paymentKey: payment.paymentKey,
      status: payment.status,
    })
  }
}

function answer(
  c: AppContext,
  log: PaymentDeps['logger'],
  outcome: WebhookOutcome,
  fields: Record<string, unknown>,
): Response {
  if (outcome === 'amount-mismatch' || outcome === 'order-mismatch') {
    // Toss says something our order table contradicts: a human must look, a retry cannot help.
    log.error('webhook contradicts our order', { outcome, ...fields })
  } else if (outcome === 'unknown-order') {
    log.warn('webhook for an order we do not know', { outcome, ...fields })
  } else {
    log.info('webhook', { outcome, ...fields })
  }
  return c.json({ ok: true, outcome }, 200)
}
