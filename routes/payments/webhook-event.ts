/**
 * Webhook identity and timestamps. Toss sends `tosspayments-webhook-transmission-id` on every
 * delivery and keeps it across its retries, so it is the dedupe key; without it, a hash of the
 * event's own identity stands in.
 */

const TRANSMISSION_ID = /^[\x21-\x7e]{1,200}$/

export async function webhookEventId(
  transmissionId: string | undefined,
  identity: ReadonlyArray<string | undefined>,
): Promise<string> {
  if (transmissionId && TRANSMISSION_ID.test(transmissionId)) return transmissionId
  const bytes = new TextEncoder().encode(JSON.stringify(identity))
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))
  return `sha256:${Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('')}`
}

/**
 * Toss times carry a +09:00 offset, but DEPOSIT_CALLBACK's `createdAt` may come without one;
 * read a bare time as KST rather than as the database session's zone.
 */
export function tossTimestamp(value: string): string | undefined {
  const withZone = /(Z|[+-]\d\d:?\d\d)$/i.test(value) ? value : `${value}+09:00`
  return Number.isNaN(Date.parse(withZone)) ? undefined : withZone
}
