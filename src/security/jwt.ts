import { decodeProtectedHeader, errors, type JWTPayload, jwtVerify } from 'jose'
import { invalidToken } from '../problems.js'
import type { IdentityVerifier } from '../types.js'
import { cachedJwks, JwksUnavailableError } from './jwks.js'
import { VerifiedTokenCache } from './token-cache.js'

export interface JwtVerifierOptions {
  /** Supabase's asymmetric signing keys (ES256/RS256, selected by `kid`). */
  jwksUrl?: string
  /** Supabase's legacy shared JWT secret, for HS256 tokens. */
  hs256Secret?: string
  /** Expected `iss` of user access tokens: `${SUPABASE_URL}/auth/v1`. Unchecked when unset. */
  issuer?: string
  /** Accepted `aud` values of user access tokens. */
  audience?: readonly string[]
  /**
   * `iss` of Supabase's legacy API-key JWTs (`anon`, `service_role`), which carry no `aud`.
   * supabase-js sends the anon key as the bearer token when nobody is signed in, and jobs call
   * with the service-role key, so those must verify. `null` refuses them.
   */
  apiKeyIssuer?: string | null
  clockToleranceSec?: number
  fetchImpl?: typeof fetch
  jwksCacheMaxAgeMs?: number
  jwksCooldownMs?: number
  jwksTimeoutMs?: number
  /** Verified tokens remembered until their `exp`; 0 turns the cache off. */
  cacheSize?: number
  clock?: () => number
}

// Pinned per key source: a JWKS never yields an HMAC key and the secret never verifies an
// asymmetric algorithm, so a token signed with HS256 over the public key (algorithm confusion)
// or with `none` has nothing to verify against.
const ASYMMETRIC = ['ES256', 'RS256']
const SYMMETRIC = ['HS256']
const API_KEY_ROLES = new Set(['anon', 'service_role'])

/**
 * Verify Supabase JWTs with jose.
 * @example
 * const verifier = createJwtVerifier({
 *   jwksUrl: config.jwksUrl,
 *   hs256Secret: config.SUPABASE_JWT_SECRET,
 *   issuer: config.jwtIssuer,
 * })
 */
export function createJwtVerifier({
  jwksUrl,
  hs256Secret,
  issuer,
  audience = ['authenticated', 'anon', 'service_role'],
  apiKeyIssuer = 'supabase',
  clockToleranceSec = 30,
  fetchImpl,
  jwksCacheMaxAgeMs,
  jwksCooldownMs,
  jwksTimeoutMs,
  cacheSize = 10_000,
  clock = Date.now,
}: JwtVerifierOptions): IdentityVerifier {
  if (!jwksUrl && !hs256Secret) {
    throw new TypeError('createJwtVerifier needs jwksUrl, hs256Secret or both')
  }
  const jwks = jwksUrl
    ? cachedJwks({
        url: jwksUrl,
        cacheMaxAgeMs: jwksCacheMaxAgeMs,
        cooldownMs: jwksCooldownMs,
        timeoutMs: jwksTimeoutMs,
        fetchImpl,
        clock,
      })
    : undefined
  const secret = hs256Secret ? new TextEncoder().encode(hs256Secret) : undefined
  const cache = new VerifiedTokenCache(cacheSize, undefined, clock)

  async function check(token: string): Promise<JWTPayload> {
    let alg: unknown
    try {
      alg = decodeProtectedHeader(token).alg
    } catch {
      throw invalidToken('The access token is malformed')
    }
    const options = {
      clockTolerance: clockToleranceSec,
      requiredClaims: ['exp'],
      currentDate: new Date(clock()),
    }
    const { payload } =
      alg === 'HS256' && secret
        ? await jwtVerify(token, secret, { ...options, algorithms: SYMMETRIC })
        : typeof alg === 'string' && ASYMMETRIC.includes(alg) && jwks
          ? await jwtVerify(token, jwks, { ...options, algorithms: ASYMMETRIC })
          : rejectAlgorithm(alg)
    const isApiKey =
      apiKeyIssuer !== null &&
      alg === 'HS256' &&
      payload.iss === apiKeyIssuer &&
      API_KEY_ROLES.has(String(payload.role))
    if (!isApiKey) {
      if (issuer !== undefined && payload.iss !== issuer) {
        throw invalidToken('The access token was issued by another issuer')
      }
      const auds = Array.isArray(payload.aud) ? payload.aud : [payload.aud]
      if (!auds.some((aud) => typeof aud === 'string' && audience.includes(aud))) {
        throw invalidToken('The access token is meant for another audience')
      }
    }
    return payload
  }

  return {
    async verify(token) {
      const key = cacheSize > 0 ? VerifiedTokenCache.keyOf(token) : ''
      const cached = cacheSize > 0 ? cache.get(key) : undefined
      if (cached) return cached
      try {
        const payload = await check(token)
        cache.set(key, payload, payload.exp as number)
        return payload
      } catch (error) {
        throw toAuthError(error)
      }
    },
  }
}

function rejectAlgorithm(alg: unknown): never {
  throw invalidToken(`The signing algorithm ${String(alg).slice(0, 16)} is not accepted`)
}

/** jose's error codes become RFC 6750 descriptions; nothing from the token is echoed. */
function toAuthError(error: unknown) {
  if (error instanceof errors.JWTExpired) {
    return invalidToken('The access token expired', 'token-expired')
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    return invalidToken(`The access token claim ${error.claim} is not valid`)
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return invalidToken('The access token signature is not valid')
  }
  if (error instanceof errors.JWKSNoMatchingKey) {
    return invalidToken('The access token was signed by an unknown key')
  }
  if (error instanceof JwksUnavailableError) {
    return invalidToken('The signing key of the access token could not be loaded')
  }
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return invalidToken('The signing algorithm is not accepted')
  }
  if (error instanceof errors.JOSEError) {
    return invalidToken('The access token is malformed')
  }
  // Our own 401s pass through; anything else is a bug and must surface as one (500).
  return error
}
