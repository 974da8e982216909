import {
  createRemoteJWKSet,
  customFetch,
  decodeJwt,
  errors,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose'
import { AppError, GatewayError } from '../../src/errors.js'
import { bearerToken } from '../../src/platform/credentials.js'
import { authenticationRequired, bearerProblem } from '../../src/problems.js'
import { JOBS_PROBLEMS } from './problems.js'

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

const invalidToken = (detail: string) =>
  bearerProblem(JOBS_PROBLEMS.get('invalid-token'), detail, { error: 'invalid_token' })
const expired = () =>
  bearerProblem(JOBS_PROBLEMS.get('token-expired'), 'The token has expired', {
    error: 'invalid_token',
  })

/** Google's key set could not be fetched: the caller retries (Cloud Scheduler does). */
export class GoogleKeysUnavailableError extends AppError {
  constructor(options?: { cause?: unknown }) {
    super('Google signing keys are unavailable', options)
    this.name = 'GoogleKeysUnavailableError'
  }
}

/**
 * Authenticates Cloud Scheduler's `Authorization: Bearer <Google ID token>`: issuer, audience,
 * expiry, the configured service-account `email` and `email_verified`.
 * @throws GatewayError 401 for a missing or unacceptable token, 403 for another account;
 *   GoogleKeysUnavailableError when the key set cannot be fetched.
 */
export function schedulerAuth(options: SchedulerAuthOptions): SchedulerAuth {
  const { mode, audience, serviceAccount, clock = Date.now } = options
  // jose caches the set (10 minutes), refetches on an unknown `kid` at most every 30 s.
  const keys: JWTVerifyGetKey | undefined =
    mode === 'oidc'
      ? createRemoteJWKSet(new URL(options.jwksUrl ?? GOOGLE_JWKS_URL), {
          timeoutDuration: 5_000,
          ...(options.fetchImpl ? { [customFetch]: options.fetchImpl } : {}),
        })
      : undefined
  const expectedEmail = serviceAccount.toLowerCase()

  async function claimsOf(token: string): Promise<JWTPayload> {
    if (mode === 'iam') {
      // Cloud Run already verified the signature; a token without its marker did not pass
      // through Cloud Run's check.
      if (token.split('.')[2] !== SIGNATURE_REMOVED) {
        throw invalidToken('Expected a token forwarded by IAM-enforced Cloud Run')
      }
      const claims = decodeJwt(token)
      const nowSeconds = Math.floor(clock() / 1000)
      if (typeof claims.exp !== 'number' || claims.exp + 60 < nowSeconds) throw expired()
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
    const token = bearerToken(authorization)
    if (!token) throw authenticationRequired('Cloud Scheduler must send an OIDC token')
    let claims: JWTPayload
    try {
      claims = await claimsOf(token)
    } catch (error) {
      if (error instanceof GatewayError) throw error
      if (error instanceof errors.JWTExpired) throw expired()
      if (keySetUnavailable(error)) throw new GoogleKeysUnavailableError({ cause: error })
      if (error instanceof errors.JOSEError) {
        throw invalidToken(`The token did not verify (${error.code})`)
      }
      if (error instanceof TypeError || error instanceof SyntaxError) {
        throw invalidToken('The token is malformed')
      }
      throw error
    }
    const email = typeof claims.email === 'string' ? claims.email.toLowerCase() : undefined
    if (email !== expectedEmail || claims.email_verified !== true) {
      throw JOBS_PROBLEMS.error('forbidden-role', {
        detail: 'The token is not from the configured scheduler service account',
      })
    }
    return { email, via: mode === 'iam' ? 'iam' : 'verified' }
  }
}

/** The key set could not be fetched: a timeout, a network failure or a non-200 answer. */
function keySetUnavailable(error: unknown): boolean {
  if (error instanceof errors.JWKSTimeout) return true
  if (error instanceof errors.JOSEError) {
    return error.code === 'ERR_JOSE_GENERIC' && /JSON Web Key Set/.test(error.message)
  }
  // fetch rejects with a TypeError ("fetch failed") when the endpoint is unreachable.
  return error instanceof TypeError && /fetch/i.test(error.message)
}
