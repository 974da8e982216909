/**
 * What the legacy payment functions share: their user check, their `Idempotency-Key` rule and
 * the statuses of the payment database functions' stable error codes (docs/data-model.md).
 */
import { dbCode, type LegacyEnv, type LegacyUser, problem } from './legacy-kit.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** Status and whether the detail starts with the field at fault, per database error code. */
const STATUS: Record<string, [number, boolean]> = {
  'invalid-items': [422, true],
  'invalid-product-id': [422, true],
  'invalid-quantity': [422, true],
  'duplicate-product': [422, true],
  'unknown-product': [422, true],
  'inactive-product': [422, true],
  'amount-too-large': [422, true],
  'idempotency-key-reused': [422, true],
  'invalid-idempotency-key': [422, true],
  'invalid-amount': [422, true],
  'invalid-reason': [422, true],
  'payment-not-found': [404, true],
  'refund-not-found': [404, true],
  'not-refundable': [409, false],
  'refund-window-closed': [403, false],
  'refund-in-progress': [409, false],
  'exceeds-refundable': [422, true],
  'refund-account-required': [422, true],
}

/** A database error as the client sees it, or rethrow (the function fails with a 500). */
export function dbErrorResponse(error: unknown): Response {
  const known = dbCode(error)
  const spec = known && STATUS[known.code]
  if (!known || !spec) throw error
  const [status, withField] = spec
  const field = withField ? known.detail.split(/\s/)[0] : undefined
  return problem(status, known.code, known.code, {
    detail: known.detail,
    ...(field ? { errors: [{ field, message: known.code }] } : {}),
    ...(known.code === 'refund-in-progress' ? { headers: { 'retry-after': '5' } } : {}),
  })
}

/** The signed-in user's id, or the 403 the payment functions answer without one. */
export async function userIdOf(
  req: Request,
  env: LegacyEnv,
): Promise<{ user: LegacyUser | undefined; userId?: string; refused?: Response }> {
  const user = await env.user(req)
  if (!user?.sub || !UUID.test(user.sub)) {
    return { user, refused: problem(403, 'user-required', 'A signed-in user is required') }
  }
  return { user, userId: user.sub.toLowerCase() }
}

/** `Idempotency-Key`: absent, or 1-300 printable ASCII characters. */
export function idempotencyKeyOf(req: Request): { key?: string; refused?: Response } {
  const value = req.headers.get('idempotency-key')
  if (value === null) return {}
  if (!/^[\x20-\x7e]{1,300}$/.test(value) || value.trim() === '') {
    return {
      refused: problem(422, 'validation-failed', 'The request is not valid', {
        errors: [{ field: 'header:idempotency-key', message: '1-300 printable ASCII characters' }],
      }),
    }
  }
  return { key: value }
}
