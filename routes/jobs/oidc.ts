import { decodeJwt, errors, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose'
import {
  authenticationRequired,
  forbiddenRole,
  invalidToken,
} from '../../src/security/auth-errors.js'
import { cachedJwks } from '../../src/security/jwks.js'

/** Google's OIDC signing keys (the `jwks_uri` of accounts.google.com). */
export const GOOGLE_JWKS_URL = 'https://www.googleapis.com/oauth2/v3/certs'
/** Google ID tokens carry either issuer form. */
export const GOOGLE_ISSUERS = ['https://accounts.google.com', 'accounts.google.com']
/**
 * What Cloud Run puts in place of the signature when it has checked the token itself
 * (IAM-enforced invocation, cloud.google.com/run/docs/troubleshooting#signature-removed).
 */
export const SIGNATURE_REMOVED = 'SIGNATURE_REMOVED_BY_GOOGLE'

export interface SchedulerAuthOptions {
  /**
   * `oidc`: the service is public (Toss webhooks need that) and the gateway verifies the token
   * against Google's keys. `iam`: Cloud Run admits only callers with `roles/run.invoker`,
   * checks the token itself and forwards it with its signature removed; the gateway then checks
   * the claims only, so this mode must never be used on a public service.
   */
  mode: 'oidc' | 'iam'
  /** The `aud` Cloud Scheduler was configured with (by default the target URL). */
  audience: string
  /** The service account Cloud Scheduler signs as (`oidcToken.serviceAccountEmail`). */
  serviceAccount: string
  jwksUrl?: string
  fetchImpl?: typeof fetch
  clock?: () => number
}

export interface SchedulerCaller {
  email: string
  /** `verified` (signature checked here) or `iam` (checked by Cloud Run). */
  via: 'verified' | 'iam'
}

export type SchedulerAuth = (authorization: string | undefined) => Promise<SchedulerCaller>

/**
 * Authenticates Cloud Scheduler's `Authorization: Bearer <Google ID token>`: issuer, audience,
 * expiry, the configured service-account `email` and `email_verified`.
 * @throws GatewayError 401 for a missing or unacceptable token, 403 for another account.
 */
export function schedulerAuth(options: SchedulerAuthOptions): SchedulerAuth {
  const { mode, audience, serviceAccount, clock = Date.now } = options
  const keys: JWTVerifyGetKey | undefined =
    mode === 'oidc'
      ? cachedJwks({
          url: options.jwksUrl ?? GOOGLE_JWKS_URL,
          ...(options.fetchImpl ? { fetchImpl: options.fetchImpl } : {}),
          clock,
        })
      : undefined
  const expectedEmail = serviceAccount.toLowerCase()

  async function claimsOf(token: string): Promise<JWTPayload> {
    if (mode === 'iam') {
      // Cloud Run already verified the signature; anything else than its marker did not pass
      // through Cloud Run's check.
      if (token.split('.')[2] !== SIGNATURE_REMOVED) {
        throw invalidToken('Expected a token forwarded by IAM-enforced Cloud Run')
      }
      const claims = decodeJwt(token)
      const nowSeconds = Math.floor(clock() / 1000)
      if (typeof claims.exp !== 'number' || claims.exp + 60 < nowSeconds) {
        throw invalidToken('The token has expired', 'token-expired')
      }
      if (typeof claims.iss !== 'string' || !GOOGLE_ISSUERS.includes(claims.iss)) {
        throw invalidToken('The token was not issued by Google')
      }
      const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud]
      if (!aud.includes(audience)) throw invalidToken('The token is for another audience')
      return claims
    }
    const { payload } = await jwtVerify(token, keys as JWTVerifyGetKey, {
      issuer: GOOGLE_ISSUERS,
      audience,
      algorithms: ['RS256'],
      clockTolerance: 60,
      currentDate: new Date(clock()),
    })
    return payload
  }

  return async function authenticate(authorization) {
    const token = /^Bearer +(\S+)\s*$/i.exec(authorization ?? '')?.[1]
    if (!token) throw authenticationRequired('Cloud Scheduler must send an OIDC token')
    let claims: JWTPayload
    try {
      claims = await claimsOf(token)
    } catch (error) {
      if (error instanceof errors.JWTExpired) {
        throw invalidToken('The token has expired', 'token-expired')
      }
      if (error instanceof errors.JOSEError || error instanceof TypeError) {
        throw invalidToken(
          `The token did not verify (${(error as { code?: string }).code ?? 'malformed'})`,
        )
      }
      throw error
    }
    const email = typeof claims.email === 'string' ? claims.email.toLowerCase() : undefined
    if (email !== expectedEmail || claims.email_verified !== true) {
      throw forbiddenRole('The token is not from the configured scheduler service account')
    }
    return { email, via: mode === 'iam' ? 'iam' : 'verified' }
  }
}
