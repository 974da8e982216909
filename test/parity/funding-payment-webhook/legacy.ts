/**
 * Legacy `funding-payment-webhook`: Toss deliveries for funding payments, deduplicated by
 * `tosspayments-webhook-transmission-id` before anything else. `BILLING_DELETED` marks the
 * billing key deleted (an unknown key changes nothing); other event types are acknowledged.
 * 200 `{ok: true, outcome}` once handled; 422 naming the field for a malformed body.
 */
import { z } from 'zod'
import { fieldsOf, json, type LegacyContract, readJson, validationFailed } from '../legacy-kit.js'

const BillingDeleted = z.object({
  eventType: z.literal('BILLING_DELETED'),
  createdAt: z.string().max(64).optional(),
  data: z.looseObject({
    billingKey: z.string().min(1).max(200),
    reason: z.string().max(200).optional(),
  }),
})

export const contract: LegacyContract = async (req, env) => {
  const read = await readJson(req)
  if (!read.ok) return read.response
  const body = read.body as { eventType?: unknown } | null
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    return validationFailed([{ field: '(body)', message: 'a JSON object' }])
  }
  if (typeof body.eventType !== 'string' || !/^[A-Z_]{1,64}$/.test(body.eventType)) {
    return validationFailed([{ field: 'eventType', message: 'a Toss event type' }])
  }
  if (body.eventType !== 'BILLING_DELETED' && body.eventType !== 'PAYMENT_STATUS_CHANGED') {
    return json({ ok: true, outcome: 'ignored' })
  }
  if (body.eventType !== 'BILLING_DELETED') return json({ ok: true, outcome: 'ignored' })
  const parsed = BillingDeleted.safeParse(body)
  if (!parsed.success) return validationFailed(fieldsOf(parsed.error.issues))
  const eventId = req.headers.get('tosspayments-webhook-transmission-id') ?? crypto.randomUUID()
  const begun = await env.db.call<string>('funding_webhook_begin', {
    p_event_id: eventId,
    p_event_type: 'BILLING_DELETED',
  })
  if (begun === 'duplicate') return json({ ok: true, outcome: 'duplicate' })
  const outcome = await env.db.call<string>('funding_billing_key_deleted', {
    p_billing_key: parsed.data.data.billingKey,
    p_reason: parsed.data.data.reason ?? 'BILLING_DELETED',
  })
  await env.db.call('funding_webhook_finish', { p_event_id: eventId, p_outcome: outcome })
  return json({ ok: true, outcome })
}
