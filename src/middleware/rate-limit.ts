import type { Context, MiddlewareHandler, Next } from 'hono'
import { errorFields, type Logger } from '../observability/log.js'
import { gatewayHeaders } from '../platform/request-headers.js'
import { gatewayProblem } from '../problems.js'
import { type ClientIpOptions, clientIp } from '../security/client-ip.js'
import type { AppEnv, RateLimiter, RateLimitOutcome } from '../types.js'

export type RateLimitDecision = 'allowed' | 'limited' | 'failed-open' | 'failed-closed'

export interface RateLimitOptions extends ClientIpOptions {
  limiter: RateLimiter
  logger: Logger
  /** Metric hook, called once per limited request. */
  onOutcome?: (routeId: string, outcome: RateLimitDecision) => void
  clock?: () => number
  random?: () => number
}

/**
 * Rate limit by the route policy, per verified subject (`sub:<id>`) or else per client IP.
 *
 * Every answer carries `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` (seconds
 * until the window resets) as in draft-ietf-httpapi-ratelimit-headers; over the limit the
 * answer is 429 `rate-limited` with `Retry-After` (RFC 9110 section 10.2.3). When the limiter
 * fails or misses its deadline, a `closed` route answers 503 `rate-limiter-unavailable` with a
 * `Retry-After` of 1–5 s (spread so clients do not return together) and an `open` route passes,
 * logged as a warning every time.
 */
export function rateLimit({
  limiter,
  logger,
  onOutcome,
  trustedIpHeader,
  forwardedHops,
  clock = Date.now,
  random = Math.random,
}: RateLimitOptions): MiddlewareHandler<AppEnv> {
  const log = logger.child({ component: 'rate-limit', limiter: limiter.kind })

  return async function rateLimit(c: Context<AppEnv>, next: Next) {
    const route = c.get('route')
    const policy = route?.def.policy.rateLimit
    if (!route || !policy) return next()
    const routeId = route.def.id
    const identity = c.get('identity')
    const identifier =
      identity?.verified && identity.subject
        ? `sub:${identity.subject}`
        : `ip:${clientIp(c, { trustedIpHeader, forwardedHops }) ?? 'unknown'}`

    let outcome: RateLimitOutcome
    try {
      outcome = await limiter.limit(routeId, identifier, policy)
    } catch (error) {
      if (policy.failMode === 'open') {
        onOutcome?.(routeId, 'failed-open')
        log.warn('rate limiter failed open', { route: routeId, ...errorFields(error) })
        return next()
      }
      onOutcome?.(routeId, 'failed-closed')
      log.error('rate limiter failed closed', { route: routeId, ...errorFields(error) })
      throw gatewayProblem('rate-limiter-unavailable', {
        detail: 'The rate limiter is unavailable; retry shortly',
        retryAfterSeconds: 1 + Math.floor(random() * 5),
      })
    }

    const resetSeconds = Math.max(0, Math.ceil((outcome.reset - clock()) / 1000))
    const headers = {
      'ratelimit-limit': String(outcome.limit),
      'ratelimit-remaining': String(outcome.remaining),
      'ratelimit-reset': String(resetSeconds),
    }
    if (!outcome.allowed) {
      onOutcome?.(routeId, 'limited')
      throw gatewayProblem('rate-limited', {
        detail: `At most ${policy.limit} requests per ${policy.windowSeconds} s on this route`,
        headers,
        retryAfterSeconds: Math.max(1, resetSeconds),
      })
    }
    onOutcome?.(routeId, 'allowed')
    // Set before `next()`: on Node the legacy transport writes the response itself, taking the
    // headers prepared so far (docs/decisions/001).
    Object.assign(gatewayHeaders(c), headers)
    await next()
  }
}
