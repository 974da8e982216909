import { KiB, open, type RoutePolicy } from '../../src/route-table.js'

/** Toss sends the order id in `data.orderId` (PAYMENT_STATUS_CHANGED) or flat (DEPOSIT_CALLBACK). */
const tossOrderId: RoutePolicy['subjectKey'] = async ({ json }) => {
  const body = (await json()) as { orderId?: unknown; data?: { orderId?: unknown } } | undefined
  const orderId = body?.data?.orderId ?? body?.orderId
  return typeof orderId === 'string' && orderId.length <= 64 ? `order:${orderId}` : undefined
}

/**
 * TossPayments webhooks prove themselves (no JWT), are deduplicated in the database (so a
 * replay to legacy is safe), and stay sticky per order.
 */
export const tossWebhookPolicy: Partial<RoutePolicy> = {
  auth: 'none',
  // Toss retries only 7 times over days; a limiter outage must not drop deliveries.
  rateLimit: open(600),
  bodyLimitBytes: 64 * KiB,
  replaySafe: true,
  subjectKey: tossOrderId,
}
