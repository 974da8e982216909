/**
 * Signed canary tokens: `v2.<environment>.<expiry unix seconds>.<base64url HMAC-SHA256>` over
 * `bff-canary:v2:<environment>:<expiry>` with `BFF_CANARY_SECRET`. A valid token lets its
 * bearer force a backend with `x-bff-backend` (or the `bff_backend` cookie) in the environment
 * it names (`APP_ENV`), for at most 30 days from the moment it is checked. WebCrypto only, so
 * the same code verifies on Node and Workers. See docs/decisions/002-canary-tokens.md.
 */
import { hmacSign, hmacVerify } from '../platform/credentials.js'

/** The longest a token may live, checked when it is verified, not only when it is minted. */
export const CANARY_MAX_TTL_SECONDS = 30 * 86_400
/** Clock skew between the machine that minted a token and the gateway. */
const SKEW_SECONDS = 60

export type CanaryEnvironment = 'development' | 'staging' | 'production'

const payload = (environment: string, expiry: number) => `bff-canary:v2:${environment}:${expiry}`

/** Mint a token for `environment`, valid for `ttlSeconds` (at most 30 days) from `nowMs`. */
export async function mintCanaryToken(
  secret: string,
  ttlSeconds: number,
  nowMs = Date.now(),
  environment: CanaryEnvironment = 'staging',
): Promise<string> {
  const ttl = Math.min(CANARY_MAX_TTL_SECONDS, Math.max(1, Math.floor(ttlSeconds)))
  const expiry = Math.floor(nowMs / 1000) + ttl
  return `v2.${environment}.${expiry}.${await hmacSign(secret, payload(environment, expiry))}`
}

export type CanaryVerdict =
  | { valid: true; expiresAt: number }
  | {
      valid: false
      reason: 'malformed' | 'expired' | 'bad-signature' | 'wrong-environment' | 'lifetime-too-long'
    }

/**
 * Check a token: format, signature (constant time, by WebCrypto's verify), environment, then
 * expiry and the 30-day maximum lifetime. A `v1` token (no environment) is malformed.
 */
export async function verifyCanaryToken(
  secret: string,
  token: string,
  nowMs = Date.now(),
  environment: CanaryEnvironment = 'staging',
): Promise<CanaryVerdict> {
  const match = /^v2\.(development|staging|production)\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(
    token,
  )
  if (!match) return { valid: false, reason: 'malformed' }
  const minted = match[1] as string
  const expiry = Number(match[2])
  const ok = await hmacVerify(secret, payload(minted, expiry), match[3] as string)
  if (!ok) return { valid: false, reason: 'bad-signature' }
  if (minted !== environment) return { valid: false, reason: 'wrong-environment' }
  if (expiry * 1000 <= nowMs) return { valid: false, reason: 'expired' }
  if (expiry * 1000 - nowMs > (CANARY_MAX_TTL_SECONDS + SKEW_SECONDS) * 1000)
    return { valid: false, reason: 'lifetime-too-long' }
  return { valid: true, expiresAt: expiry * 1000 }
}

/** Parse a TTL such as `90s`, `15m`, `1h`, `2d` (or bare seconds) into seconds. */
export function parseTtl(text: string): number {
  const match = /^(\d+)([smhd]?)$/.exec(text.trim())
  if (!match) throw new Error(`invalid TTL "${text}": use e.g. 90s, 15m, 1h or 2d`)
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 }[match[2] as '' | 's' | 'm' | 'h' | 'd']
  const seconds = Number(match[1]) * unit
  if (seconds < 1 || seconds > CANARY_MAX_TTL_SECONDS)
    throw new Error(`TTL must be from 1s to 30d, got "${text}"`)
  return seconds
}
