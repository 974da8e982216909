import type { Context, MiddlewareHandler, Next } from 'hono'
import { decodeJwt } from 'jose'
import type { Logger } from '../observability/log.js'
import { timingSafeEqual } from '../platform/credentials.js'
import { readHeader, repeatedHeader } from '../platform/request-headers.js'
import { authenticationRequired, forbiddenRole, gatewayProblem, invalidToken } from '../problems.js'
import type { AppEnv, Identity, IdentityVerifier } from '../types.js'

export interface IdentifyOptions {
  /** Verifies bearer JWTs; without it tokens are only decoded, which `allowUnverified` must permit. */
  verifier?: IdentityVerifier
  logger: Logger
  /** Development only: accept decoded, unverified claims when there is no verifier. */
  allowUnverified?: boolean
  /**
   * The project's service-role key when it is not a JWT (new-format `sb_secret_…` keys); a
   * bearer equal to it is the service role. JWT service-role keys verify as tokens.
   */
  serviceRoleKey?: string
}

const JWT_SHAPE = /^eyJ[\w-]*\.[\w-]*\.[\w-]*$/

/**
 * Identify the caller from `Authorization: Bearer <jwt>` and enforce the route's auth policy.
 *
 * - `none`: the header is not even read (webhooks prove themselves otherwise).
 * - `optional`: no token is fine; a token that does not verify is 401, never ignored.
 * - `required`: a signed-in user (a `sub`). The anon key (role `anon`, no `sub`, what
 *   supabase-js sends with no session) is 401 `authentication-required`, as for no token, so
 *   the client signs in; the service role (no `sub`) is 403 `forbidden-role`.
 * - `service`: role `service_role` only (403 `forbidden-role` for any other role).
 *
 * A bearer that is not a JWT (the `sb_publishable_…` API keys) is not a user token.
 * Other schemes (`Basic …`) are left to the legacy function.
 */
export function identify({
  verifier,
  logger,
  allowUnverified = false,
  serviceRoleKey,
}: IdentifyOptions): MiddlewareHandler<AppEnv> {
  if (!verifier && !allowUnverified) {
    throw new TypeError('identify needs a verifier outside development (allowUnverified)')
  }
  const log = logger.child({ component: 'identify' })

  async function identityOf(token: string): Promise<Identity | undefined> {
    if (!JWT_SHAPE.test(token)) {
      return serviceRoleKey && timingSafeEqual(token, serviceRoleKey)
        ? { subject: undefined, role: 'service_role', claims: {}, verified: true }
        : undefined
    }
    let claims: Record<string, unknown>
    if (verifier) {
      claims = await verifier.verify(token)
    } else {
      try {
        claims = decodeJwt(token)
      } catch {
        throw invalidToken('The access token is malformed')
      }
    }
    return {
      subject: typeof claims.sub === 'string' && claims.sub !== '' ? claims.sub : undefined,
      role: typeof claims.role === 'string' ? claims.role : undefined,
      claims,
      verified: verifier !== undefined,
    }
  }

  function rejected(c: Context<AppEnv>, error: unknown): never {
    const code = (error as { code?: unknown }).code
    c.set('logFields', { ...c.get('logFields'), authError: code })
    log.debug('caller rejected', { route: c.get('route')?.def.id, authError: code })
    throw error
  }

  async function verified(c: Context<AppEnv>, next: Next, auth: PolicyAuth, token: string) {
    let identity: Identity | undefined
    try {
      identity = await identityOf(token)
      enforce(auth, identity)
    } catch (error) {
      rejected(c, error)
    }
    c.set('identity', identity)
    return next()
  }

  // Not `async` on the way without a token (most proxied calls): no promise of its own.
  return function identify(c: Context<AppEnv>, next: Next) {
    // Two Authorization headers: the gateway would check one and legacy might use the other.
    if (repeatedHeader(c, 'authorization')) throw duplicateAuthorization()
    const auth = c.get('route')?.def.policy.auth
    if (auth === undefined || auth === 'none') return next()
    const token = strictBearer(readHeader(c, 'authorization'))
    if (token === MALFORMED)
      rejected(
        c,
        invalidToken('The bearer credentials are malformed (Authorization: Bearer <token>)'),
      )
    if (token !== undefined) return verified(c, next, auth, token)
    try {
      enforce(auth, undefined)
    } catch (error) {
      rejected(c, error)
    }
    c.set('identity', undefined)
    return next()
  }
}

type PolicyAuth = 'required' | 'optional' | 'service'

function enforce(auth: PolicyAuth, identity: Identity | undefined) {
  if (auth === 'optional') return
  if (!identity) throw authenticationRequired('This route needs a bearer access token')
  if (auth === 'service') {
    if (identity.role !== 'service_role') throw forbiddenRole('This route is for the service role')
    return
  }
  if (identity.subject) return
  if (identity.role === 'service_role') throw forbiddenRole('This route needs a user access token')
  throw authenticationRequired('This route needs a signed-in user')
}

const MALFORMED = Symbol('malformed')

/**
 * The token of `Authorization: Bearer <token>` (RFC 6750 section 2.1: the scheme is
 * case-insensitive, a `b64token` follows one or more spaces). A `Bearer` header that is not
 * exactly that (a tab, two tokens), or a token that starts like a JWT without being one (a
 * trailing `=`), is `MALFORMED`: a bad token is 401 on every route that reads it, never
 * forwarded unverified. Opaque bearers (API keys) and other schemes are left to the function.
 */
function strictBearer(header: string | undefined): string | typeof MALFORMED | undefined {
  if (!header) return undefined
  if (!/^bearer(?:[^!#$%&'*+\-.^_`|~0-9A-Za-z]|$)/i.test(header)) return undefined
  const token = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header)?.[1]
  if (token === undefined) return MALFORMED
  if (token.startsWith('eyJ') && !JWT_SHAPE.test(token)) return MALFORMED
  return token
}

const duplicateAuthorization = () =>
  gatewayProblem('duplicate-authorization', {
    detail: 'Send one Authorization header',
    errors: [{ field: 'header:authorization', message: 'sent more than once' }],
  })
