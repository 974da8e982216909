import { AppError } from '../../src/errors.js'
import { hmacKey } from '../../src/platform/credentials.js'

/**
 * Encryption of identity data at rest and the keyed CI hash, with Web Crypto (Node and
 * workerd alike).
 *
 * `IDENTITY_CI_KEYS` is a key ring `id:base64(32 bytes),id:…`: the first key encrypts, every
 * key decrypts, so a key is rotated by putting a new one first, re-encrypting the records
 * (`npm run identity:rotate`), then dropping the old one. `IDENTITY_CI_HASH_KEY` keys
 * HMAC-SHA256 over the CI for lookups (the same person on two accounts); changing it would
 * orphan every stored hash, so it is not rotated casually (see README).
 */

const encoder = new TextEncoder()
const decoder = new TextDecoder()

const toBase64Url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '')
const fromBase64Url = (text: string) =>
  Uint8Array.from(atob(text.replace(/-/g, '+').replace(/_/g, '/')), (ch) => ch.charCodeAt(0))
const fromBase64 = (text: string) => Uint8Array.from(atob(text), (ch) => ch.charCodeAt(0))

export interface SealedRecord {
  keyId: string
  /** base64url(iv ‖ ciphertext+tag). */
  ciphertext: string
}

export interface IdentityCrypto {
  readonly currentKeyId: string
  seal(data: unknown, aad: string): Promise<SealedRecord>
  open<T>(record: SealedRecord, aad: string): Promise<T>
  /** HMAC-SHA256 of the CI, base64url (43 characters). */
  ciHash(ci: string): Promise<string>
}

export class UnknownKeyError extends AppError {
  constructor(keyId: string) {
    super(`no identity key ${keyId} in IDENTITY_CI_KEYS`)
    this.name = 'UnknownKeyError'
  }
}

export function identityCrypto({
  keys,
  hashKey,
}: {
  keys: string
  hashKey: string
}): IdentityCrypto {
  const ring = keys.split(',').map((entry) => {
    const [id, material] = entry.split(':') as [string, string]
    const raw = fromBase64(material)
    if (raw.byteLength !== 32) throw new TypeError(`identity key ${id} must be 32 bytes`)
    return {
      id,
      key: crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt']),
    }
  })
  const current = ring[0]
  if (!current) throw new TypeError('IDENTITY_CI_KEYS has no key')
  const hmac = hmacKey(hashKey)
  const byId = new Map(ring.map((k) => [k.id, k.key]))

  return {
    currentKeyId: current.id,
    async seal(data, aad) {
      const iv = crypto.getRandomValues(new Uint8Array(12))
      const sealed = new Uint8Array(
        await crypto.subtle.encrypt(
          { name: 'AES-GCM', iv, additionalData: encoder.encode(aad) },
          await current.key,
          encoder.encode(JSON.stringify(data)),
        ),
      )
      const out = new Uint8Array(iv.byteLength + sealed.byteLength)
      out.set(iv)
      out.set(sealed, iv.byteLength)
      return { keyId: current.id, ciphertext: toBase64Url(out) }
    },
    async open<T>(record: SealedRecord, aad: string): Promise<T> {
      const key = byId.get(record.keyId)
      if (!key) throw new UnknownKeyError(record.keyId)
      const bytes = fromBase64Url(record.ciphertext)
      const plain = await crypto.subtle.decrypt(
        { name: 'AES-GCM', iv: bytes.subarray(0, 12), additionalData: encoder.encode(aad) },
        await key,
        bytes.subarray(12),
      )
      return JSON.parse(decoder.decode(plain)) as T
    },
    async ciHash(ci) {
      const mac = await crypto.subtle.sign('HMAC', await hmac, encoder.encode(`ci:${ci}`))
      return toBase64Url(new Uint8Array(mac))
    },
  }
}
