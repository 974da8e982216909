import { KiB, open, type RoutePolicy } from '../../src/route-table.js'

/** Toss sends the order id in `data.orderId` (PAYMENT_STATUS_CHANGED) or flat (DEPOSIT_CALLBACK). */
const tossOrderId: RoutePolicy['subjectKey'] = async ({ json }) => {
  const body = (await json()) as { orderId?: unknown; data?: { orderId?: unknown } } | undefined
  const orderId = body?.data?.orderId ?? body?.orderId
  return typeof orderId === 'string' && orderId.length <= 64 ? `order:${orderId}` : undefined
}

/**
 * TossPayments webhooks prove themselves (no JWT), are deduplicated in the database, and stay
 * sticky per order. Replayed to legacy only before the handler marks its first effect (the
 * delivery's claim): Toss redelivers anything that is not a 200, so a failure after that is
 * left to the redelivery.
 */
export const tossWebhookPolicy: Partial<RoutePolicy> & Pick<RoutePolicy, 'replay'> = {
  auth: 'none',
  // Toss retries only 7 times over days; a limiter outage must not drop deliveries.
  rateLimit: open(600),
  bodyLimitBytes: 64 * KiB,
  replay: 'before-effect',
  subjectKey: tossOrderId,
}
