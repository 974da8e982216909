import { base64url } from 'jose'

/**
 * The credential primitives every layer shares: bearer parsing, constant-time comparison,
 * HMAC-SHA256 keys and base64url (jose's). WebCrypto only, so Node and workerd run the same code.
 */

export { base64url }

const encoder = new TextEncoder()

/**
 * Compare two secrets without an early exit on the first differing byte. Length differences
 * still return false, after a comparison of the same cost.
 */
export function timingSafeEqual(given: string, expected: string): boolean {
  const a = encoder.encode(given)
  const b = encoder.encode(expected)
  let diff = a.length ^ b.length
  for (let i = 0; i < b.length; i++) diff |= (a[i % (a.length || 1)] ?? 0) ^ (b[i] as number)
  return diff === 0
}

/**
 * The token of an `Authorization: Bearer <token>` header, or undefined. RFC 6750 section 2.1:
 * the scheme is case-insensitive, the token follows one or more spaces.
 */
export function bearerToken(header: string | null | undefined): string | undefined {
  if (!header) return undefined
  const match = /^Bearer +([^\s]+)\s*$/i.exec(header)
  return match?.[1]
}

const keys = new Map<string, Promise<CryptoKey>>()

/** An HMAC-SHA256 key (sign and verify) for `secret`, imported once per secret. */
export function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret)
  if (!key) {
    key = crypto.subtle.importKey(
      'raw',
      encoder.encode(secret),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign', 'verify'],
    )
    // Bounded: the gateway holds a handful of secrets, rotated rarely.
    if (keys.size >= 32) keys.clear()
    keys.set(secret, key)
  }
  return key
}

/** base64url HMAC-SHA256 of `text` under `secret`. */
export async function hmacSign(secret: string, text: string): Promise<string> {
  const signature = await crypto.subtle.sign('HMAC', await hmacKey(secret), encoder.encode(text))
  return base64url.encode(new Uint8Array(signature))
}

/** Whether `signature` (base64url) is the HMAC-SHA256 of `text` under `secret` (constant time). */
export async function hmacVerify(
  secret: string,
  text: string,
  signature: string,
): Promise<boolean> {
  let bytes: Uint8Array<ArrayBuffer>
  try {
    bytes = base64url.decode(signature) as Uint8Array<ArrayBuffer>
  } catch {
    return false
  }
  return crypto.subtle.verify('HMAC', await hmacKey(secret), bytes, encoder.encode(text))
}
