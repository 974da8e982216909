import { createHash } from 'node:crypto'

/**
 * Verified token claims, kept until the token's `exp` (and never longer than `maxTtlMs`, so a
 * key removed from the JWKS stops being honoured soon after). Keyed by the SHA-256 of the token
 * so the cache holds no credentials. Least-recently-used entries go first once `maxEntries`
 * is reached.
 */
export class VerifiedTokenCache {
  readonly #entries = new Map<string, { claims: Record<string, unknown>; expiresAt: number }>()

  constructor(
    private readonly maxEntries = 10_000,
    private readonly maxTtlMs = 300_000,
    private readonly clock: () => number = Date.now,
  ) {}

  /**
   * SHA-256 of the token. `node:crypto` hashes synchronously (WebCrypto's digest costs a promise
   * and a thread hop per request); workerd provides it under `nodejs_compat` (wrangler.toml).
   */
  static keyOf(token: string): string {
    return createHash('sha256').update(token).digest('base64')
  }

  get(key: string): Record<string, unknown> | undefined {
    const entry = this.#entries.get(key)
    if (!entry) return undefined
    this.#entries.delete(key)
    if (this.clock() >= entry.expiresAt) return undefined
    this.#entries.set(key, entry)
    return entry.claims
  }

  /** `expSeconds` is the token's `exp` claim; a token already expired is not stored. */
  set(key: string, claims: Record<string, unknown>, expSeconds: number): void {
    if (this.maxEntries <= 0) return
    const now = this.clock()
    const expiresAt = Math.min(expSeconds * 1000, now + this.maxTtlMs)
    if (expiresAt <= now) return
    this.#entries.delete(key)
    while (this.#entries.size >= this.maxEntries) {
      const oldest = this.#entries.keys().next().value as string
      this.#entries.delete(oldest)
    }
    this.#entries.set(key, { claims, expiresAt })
  }

  get size(): number {
    return this.#entries.size
  }
}
