import type { Context } from 'hono'
import { getCookie } from 'hono/cookie'
import { hasOpsRole } from '../kit/caller.js'
import { base64url, bearerToken, hmacSign, timingSafeEqual } from '../platform/credentials.js'
import {
  authenticationRequired,
  bearerProblem,
  forbiddenRole,
  GATEWAY_PROBLEMS,
  gatewayProblem,
} from '../problems.js'
import type { IdentityVerifier } from '../types.js'

/**
 * Who may use `/admin`: the holder of `BFF_ADMIN_TOKEN`, or a verified JWT whose
 * `app_metadata.role` is `ops` (Supabase lets only the service role write `app_metadata`;
 * `user_metadata` is the user's own and never counts). The dashboard keeps a signed session
 * cookie after a login with the token.
 */

export interface AdminPrincipal {
  /** For the audit trail: `token`, `token:<name>`, `jwt:<sub>`. */
  actor: string
  via: 'token' | 'jwt' | 'session'
}

export interface AdminAuthOptions {
  token: string | undefined
  verifier?: IdentityVerifier
  /** Session cookie lifetime. */
  sessionSeconds?: number
  clock?: () => number
}

export const SESSION_COOKIE = 'bff_admin_session'

/** Names an operator may give with `x-bff-actor` or at login (they end up in the trail). */
const ACTOR_NAME = /^[A-Za-z0-9._@-]{1,64}$/

/** The actor name an operator gave, when it is acceptable. */
export function actorName(name: string | undefined): string | undefined {
  const trimmed = name?.trim()
  return trimmed && ACTOR_NAME.test(trimmed) ? trimmed : undefined
}

export function adminAuth({
  token,
  verifier,
  sessionSeconds = 8 * 3600,
  clock = Date.now,
}: AdminAuthOptions) {
  // The session key derives from the admin token: rotating the token ends every session.
  const sign = (purpose: string, value: string) =>
    hmacSign(`bff-admin-session:${token ?? ''}`, `${purpose}:${value}`)

  // Sessions ended by a logout, until they would have expired anyway (per instance).
  const revoked = new Map<string, number>()
  const revoke = (id: string, expiresAt: number) => {
    const now = clock()
    if (revoked.size > 10_000) for (const [k, e] of revoked) if (e <= now) revoked.delete(k)
    revoked.set(id, expiresAt)
  }

  const disabled = () =>
    gatewayProblem('admin-disabled', {
      detail: 'Set BFF_ADMIN_TOKEN (or configure JWT verification for ops users)',
    })

  return {
    /** True when the token matches `BFF_ADMIN_TOKEN` (constant time). */
    checkToken(given: string): boolean {
      return token !== undefined && timingSafeEqual(given, token)
    },

    /**
     * The caller of the admin API from its bearer credentials.
     * @throws GatewayError 401 without valid credentials, 403 for a JWT without the ops role.
     */
    async fromBearer(c: Context): Promise<AdminPrincipal> {
      if (!token && !verifier) throw disabled()
      const given = bearerToken(c.req.header('authorization'))
      if (!given)
        throw authenticationRequired(
          'The admin API needs a bearer token (BFF_ADMIN_TOKEN or an ops JWT)',
        )
      if (token && timingSafeEqual(given, token)) {
        const name = actorName(c.req.header('x-bff-actor'))
        return { actor: name ? `token:${name}` : 'token', via: 'token' }
      }
      if (verifier && given.split('.').length === 3) {
        const claims = await verifier.verify(given)
        if (!hasOpsRole(claims)) throw forbiddenRole('The admin API needs app_metadata.role = ops')
        const sub = typeof claims.sub === 'string' ? claims.sub : 'unknown'
        return { actor: `jwt:${sub}`, via: 'jwt' }
      }
      throw bearerProblem(
        GATEWAY_PROBLEMS.get('invalid-admin-token'),
        'The bearer token is not the admin token',
        { error: 'invalid_token' },
      )
    },

    /** A signed session cookie value for `actor`. */
    async issueSession(actor: string): Promise<string> {
      const id = base64url.encode(crypto.getRandomValues(new Uint8Array(16)))
      const payload = base64url.encode(
        JSON.stringify({ a: actor, e: clock() + sessionSeconds * 1000, i: id }),
      )
      return `${payload}.${await sign('session', payload)}`
    },

    /** The dashboard session, when its cookie is present, authentic and unexpired. */
    async fromSession(
      c: Context,
    ): Promise<
      { principal: AdminPrincipal; value: string; id: string; expiresAt: number } | undefined
    > {
      if (!token) return undefined
      const value = getCookie(c, SESSION_COOKIE)
      const [payload, mac] = value?.split('.') ?? []
      if (!value || !payload || !mac || !timingSafeEqual(mac, await sign('session', payload)))
        return undefined
      try {
        const { a, e, i } = JSON.parse(new TextDecoder().decode(base64url.decode(payload))) as {
          a: unknown
          e: unknown
          i: unknown
        }
        if (typeof a !== 'string' || typeof e !== 'number' || typeof i !== 'string')
          return undefined
        if (e <= clock() || revoked.has(i)) return undefined
        return { principal: { actor: a, via: 'session' }, value, id: i, expiresAt: e }
      } catch {
        return undefined
      }
    },

    /** Ends the session of this request, when it has one: its cookie is refused from now on. */
    async endSession(c: Context): Promise<void> {
      const s = await this.fromSession(c)
      if (s) revoke(s.id, s.expiresAt)
    },

    /** The form token tied to a session (CSRF defence besides SameSite=Strict and Origin). */
    csrfToken(sessionValue: string): Promise<string> {
      return sign('csrf', sessionValue)
    },

    checkCsrf(given: string, expected: string): boolean {
      return given.length > 0 && timingSafeEqual(given, expected)
    },

    sessionSeconds,
  }
}

export type AdminAuth = ReturnType<typeof adminAuth>

/**
 * A state-changing browser request must come from the dashboard's own origin: `Origin` names
 * the host the request was made to, or, where a browser sends `Origin: null` (it may under a
 * strict referrer policy), `Sec-Fetch-Site` (which no page script can set) says same-origin.
 * @throws GatewayError 403 otherwise.
 */
export function assertSameOrigin(c: Context): void {
  const origin = c.req.header('origin')
  // The Host the request came with: an `X-Forwarded-Host` is the client's to write.
  const host = c.req.header('host')
  let same = false
  if (origin && origin !== 'null') {
    try {
      same = host !== undefined && new URL(origin).host === host
    } catch {
      same = false
    }
  } else {
    same = c.req.header('sec-fetch-site') === 'same-origin'
  }
  if (!same) {
    throw gatewayProblem('cross-origin-refused', {
      detail: 'Dashboard actions must come from the dashboard itself',
      errors: [{ field: 'header:origin', message: 'must be the dashboard origin' }],
    })
  }
}
