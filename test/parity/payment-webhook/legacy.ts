/**
 * Legacy `payment-webhook`: TossPayments deliveries. 200 `{ok: true, outcome}` for everything
 * Toss should stop retrying (applied, duplicate, stale, unknown order, event types not handled);
 * PAYMENT_STATUS_CHANGED is re-fetched from Toss and only that answer is applied;
 * DEPOSIT_CALLBACK must carry the payment's `secret` (401 otherwise); 4xx for malformed bodies.
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
import { dbErrorResponse } from '../payments-contract.js'

const ORDER_ID = /^[A-Za-z0-9_-]{6,64}$/
const STATUS = z.enum([
  'READY',
  'IN_PROGRESS',
  'WAITING_FOR_DEPOSIT',
  'DONE',
  'CANCELED',
  'PARTIAL_CANCELED',
  'ABORTED',
  'EXPIRED',
])
const StatusChanged = z.object({
  eventType: z.literal('PAYMENT_STATUS_CHANGED'),
  createdAt: z.string().min(1).max(64),
  data: z.looseObject({
    paymentKey: z.string().min(1).max(200),
    orderId: z.string().regex(ORDER_ID),
    status: STATUS,
  }),
})
const DepositCallback = z.object({
  createdAt: z.string().min(1).max(64),
  secret: z.string().min(1).max(200),
  status: STATUS,
  transactionKey: z.string().min(1).max(200).optional(),
  orderId: z.string().regex(ORDER_ID),
})

async function eventId(req: Request, parts: unknown[]): Promise<string> {
  const transmission = req.headers.get('tosspayments-webhook-transmission-id')
  if (transmission && /^[\x21-\x7e]{1,200}$/.test(transmission)) return transmission
  const digest = await crypto.subtle.digest(
    'SHA-256',
    new TextEncoder().encode(JSON.stringify(parts)),
  )
  return `sha256:${Buffer.from(digest).toString('hex')}`
}

const withZone = (value: string) => (/(Z|[+-]\d\d:?\d\d)$/i.test(value) ? value : `${value}+09:00`)

export const contract: LegacyContract = async (req, env) => {
  const read = await readJson(req)
  if (!read.ok) return read.response
  const body = read.body
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    return validationFailed([{ field: '(body)', message: 'a JSON object' }])
  }
  const eventType = (body as { eventType?: unknown }).eventType
  try {
    if (eventType === undefined) {
      const parsed = DepositCallback.safeParse(body)
      if (!parsed.success) return validationFailed(fieldsOf(parsed.error.issues))
      const event = parsed.data
      const createdAt = withZone(event.createdAt)
      if (Number.isNaN(Date.parse(createdAt))) {
        return validationFailed([{ field: 'createdAt', message: 'a timestamp' }])
      }
      const outcome = await env.db.call<string>('webhook_apply_deposit_callback', {
        p_event_id: await eventId(req, [
          'DEPOSIT_CALLBACK',
          event.orderId,
          event.status,
          event.transactionKey,
          event.createdAt,
        ]),
        p_order_id: event.orderId,
        p_secret: event.secret,
        p_status: event.status,
        p_transaction_key: event.transactionKey ?? null,
        p_created_at: createdAt,
      })
      if (outcome === 'secret-mismatch') {
        return problem(401, 'webhook-not-authentic', 'The webhook could not be authenticated')
      }
      return json({ ok: true, outcome })
    }
    if (eventType !== 'PAYMENT_STATUS_CHANGED') {
      if (typeof eventType !== 'string' || eventType.length > 64) {
        return validationFailed([{ field: 'eventType', message: 'a Toss event type' }])
      }
      return json({ ok: true, outcome: 'ignored' })
    }
    const parsed = StatusChanged.safeParse(body)
    if (!parsed.success) return validationFailed(fieldsOf(parsed.error.issues))
    const event = parsed.data
    const res = await fetch(
      `${env.toss.url}/v1/payments/${encodeURIComponent(event.data.paymentKey)}`,
      {
        headers: { authorization: `Basic ${btoa(`${env.toss.secretKey}:`)}` },
      },
    )
    const payment = (await res.json()) as Record<string, unknown>
    if (!res.ok) {
      return problem(
        res.status >= 500 ? 503 : 404,
        `toss-${String(payment.code).toLowerCase()}`,
        'Toss refused',
      )
    }
    if (payment.orderId !== event.data.orderId) {
      return validationFailed([
        { field: 'data.orderId', message: 'does not match the payment at Toss' },
      ])
    }
    const outcome = await env.db.call<string>('webhook_apply_payment_event', {
      p_event_id: await eventId(req, [
        eventType,
        event.data.paymentKey,
        event.data.status,
        event.createdAt,
        typeof event.data.lastTransactionKey === 'string'
          ? event.data.lastTransactionKey
          : undefined,
      ]),
      p_event_type: eventType,
      p_payment: payment,
    })
    return json({ ok: true, outcome })
  } catch (error) {
    return dbErrorResponse(error)
  }
}
