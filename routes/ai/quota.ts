import { DependencyUnavailableError, type GatewayError } from '../../src/errors.js'
import { type Db, DbFunctionError, DbUnavailableError } from '../../src/platform/db/port.js'
import { AI_PROBLEMS } from './problems.js'

/** Quota features, as keyed in `ai_quota_settings`. */
export type AiFeature = 'reply-suggest' | 'poll-suggest'

/**
 * Take `cost` units of the user's quota before the model is called (`ai_quota_consume`, atomic:
 * concurrent requests never overspend). Returns what is left.
 *
 * @throws GatewayError 429 `ai-quota-exhausted`, with `Retry-After` until the next refill when
 *   the database knows it.
 * @throws DependencyUnavailableError when the database is unreachable (nothing happened yet, so
 *   the gateway may still send the request to the legacy function).
 */
export async function consumeQuota(
  db: Db,
  { userId, feature, cost, now }: { userId: string; feature: AiFeature; cost: number; now: number },
): Promise<number> {
  try {
    return Number(
      await db.call<number>('ai_quota_consume', {
        p_user_id: userId,
        p_feature: feature,
        p_cost: cost,
      }),
    )
  } catch (error) {
    if (error instanceof DbFunctionError && error.code === 'quota-exhausted') {
      throw quotaExhausted(feature, error.detail, now, error)
    }
    if (error instanceof DbUnavailableError)
      throw new DependencyUnavailableError('database', { cause: error })
    throw error
  }
}

/** `detail` is `<feature>; resets_at=<ISO time | unknown>` (see the SQL function). */
function quotaExhausted(
  feature: AiFeature,
  detail: string,
  now: number,
  cause: unknown,
): GatewayError {
  const resetsAt = /resets_at=(\S+)/.exec(detail)?.[1]
  const at = resetsAt ? Date.parse(resetsAt) : Number.NaN
  const seconds = Number.isFinite(at) ? Math.ceil((at - now) / 1000) : undefined
  const known = seconds !== undefined && seconds > 0
  return AI_PROBLEMS.error('ai-quota-exhausted', {
    cause,
    detail: known
      ? `Your ${feature} quota is used up; it is refilled at ${new Date(at).toISOString()}.`
      : `Your ${feature} quota is used up; it is refilled daily.`,
    retryAfterSeconds: known ? seconds : undefined,
    extra: { feature, ...(known ? { resetsAt: new Date(at).toISOString() } : {}) },
  })
}
