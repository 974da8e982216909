/**
 * Signed canary tokens: `v1.<expiry unix seconds>.<base64url HMAC-SHA256>` over
 * `bff-canary:v1:<expiry>` with `BFF_CANARY_SECRET`. A valid token lets its bearer force a
 * backend with `x-bff-backend` (or the `bff_backend` cookie). WebCrypto only, so the same
 * code verifies on Node and Workers.
 */
import { hmacSign, hmacVerify } from '../platform/credentials.js'

const payload = (expiry: number) => `bff-canary:v1:${expiry}`

/** Mint a token valid for `ttlSeconds` from `nowMs`. */
export async function mintCanaryToken(
  secret: string,
  ttlSeconds: number,
  nowMs = Date.now(),
): Promise<string> {
  const expiry = Math.floor(nowMs / 1000) + Math.max(1, Math.floor(ttlSeconds))
  return `v1.${expiry}.${await hmacSign(secret, payload(expiry))}`
}

export type CanaryVerdict =
  | { valid: true; expiresAt: number }
  | { valid: false; reason: 'malformed' | 'expired' | 'bad-signature' }

/** Check a token: format, expiry, then the signature (constant time, by WebCrypto's verify). */
export async function verifyCanaryToken(
  secret: string,
  token: string,
  nowMs = Date.now(),
): Promise<CanaryVerdict> {
  const match = /^v1\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(token)
  if (!match) return { valid: false, reason: 'malformed' }
  const expiry = Number(match[1])
  const ok = await hmacVerify(secret, payload(expiry), match[2] as string)
  if (!ok) return { valid: false, reason: 'bad-signature' }
  if (expiry * 1000 <= nowMs) return { valid: false, reason: 'expired' }
  return { valid: true, expiresAt: expiry * 1000 }
}

/** Parse a TTL such as `90s`, `15m`, `1h`, `2d` (or bare seconds) into seconds. */
export function parseTtl(text: string): number {
  const match = /^(\d+)([smhd]?)$/.exec(text.trim())
  if (!match) throw new Error(`invalid TTL "${text}": use e.g. 90s, 15m, 1h or 2d`)
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 }[match[2] as '' | 's' | 'm' | 'h' | 'd']
  const seconds = Number(match[1]) * unit
  if (seconds < 1 || seconds > 30 * 86_400)
    throw new Error(`TTL must be from 1s to 30d, got "${text}"`)
  return seconds
}
