import type { Context, MiddlewareHandler, Next } from 'hono'
import { gatewayProblem } from '../problems.js'
import { clientAddress } from '../security/client-ip.js'
import type { AppEnv } from '../types.js'

export interface AdminGuardOptions {
  /** The platform's client-IP header, as for the rate limits of the routes. */
  trustedIpHeader?: string
  /** Failed logins or bearer checks (401) from one address before it is locked out. */
  maxFailures?: number
  /** How long failures are remembered, and how long a lockout lasts. */
  lockoutMs?: number
  /** Requests per minute one address may make to /admin at all. */
  perMinute?: number
  clock?: () => number
}

interface Failures {
  count: number
  since: number
  lockedUntil: number
}

const refused = (
  code: 'admin-locked-out' | 'admin-rate-limited',
  detail: string,
  retryAfterMs: number,
) =>
  gatewayProblem(code, {
    detail,
    retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)),
  })

/**
 * Rate limit and lockout for `/admin` (login form and API): `perMinute` requests per client
 * address, and after `maxFailures` answers of 401 (a wrong admin token, at the form or as a
 * bearer) within `lockoutMs`, every admin request from that address is refused with 429 for
 * `lockoutMs`. Counted per instance: an attacker spread over instances still meets the token's
 * entropy (`BFF_ADMIN_TOKEN` is refused at start-up when it does not look random).
 */
export function adminGuard({
  trustedIpHeader,
  maxFailures = 5,
  lockoutMs = 15 * 60_000,
  perMinute = 120,
  clock = Date.now,
}: AdminGuardOptions = {}): MiddlewareHandler<AppEnv> {
  const failures = new Map<string, Failures>()
  const windows = new Map<string, { start: number; count: number }>()

  const prune = (now: number) => {
    if (failures.size > 10_000)
      for (const [k, f] of failures)
        if (f.lockedUntil <= now && now - f.since > lockoutMs) failures.delete(k)
    if (windows.size > 10_000)
      for (const [k, w] of windows) if (now - w.start >= 60_000) windows.delete(k)
  }

  return async function adminGuard(c: Context<AppEnv>, next: Next) {
    const address = clientAddress(c, { trustedIpHeader }) ?? 'unknown'
    const now = clock()
    prune(now)
    const f = failures.get(address)
    if (f && f.lockedUntil > now)
      throw refused(
        'admin-locked-out',
        'Too many failed admin logins from this address; wait before trying again',
        f.lockedUntil - now,
      )
    let w = windows.get(address)
    if (!w || now - w.start >= 60_000) {
      w = { start: now, count: 0 }
      windows.set(address, w)
    }
    if (++w.count > perMinute)
      throw refused('admin-rate-limited', 'Too many admin requests', w.start + 60_000 - now)

    await next()

    if (c.res.status !== 401) return
    const current = f && now - f.since < lockoutMs ? f : { count: 0, since: now, lockedUntil: 0 }
    current.count += 1
    if (current.count >= maxFailures) current.lockedUntil = now + lockoutMs
    failures.set(address, current)
  }
}
