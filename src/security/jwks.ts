import { createLocalJWKSet, errors, type JWTVerifyGetKey } from 'jose'
import { AppError } from '../errors.js'

export interface CachedJwksOptions {
  /** The JSON Web Key Set URL, e.g. `${SUPABASE_URL}/auth/v1/.well-known/jwks.json`. */
  url: string
  /** How long a fetched set is used before it is refreshed (Supabase suggests ~10 minutes). */
  cacheMaxAgeMs?: number
  /** Least time between two fetches, so unknown `kid`s cannot make us hammer the endpoint. */
  cooldownMs?: number
  timeoutMs?: number
  fetchImpl?: typeof fetch
  clock?: () => number
}

/** The key set endpoint failed; tokens signed by keys we already know still verify. */
export class JwksUnavailableError extends AppError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'JwksUnavailableError'
  }
}

// workerd refuses to share one request's I/O (a pending fetch) with another request; jose
// makes the same distinction in its own remote set.
const onWorkers = typeof navigator !== 'undefined' && navigator.userAgent === 'Cloudflare-Workers'

/**
 * A remote JWKS resolver for `jwtVerify` that keeps working through an outage of the endpoint.
 *
 * jose's `createRemoteJWKSet` refetches once its cache is older than `cacheMaxAge` and fails
 * verification when that fetch fails, even for a key it already holds. Here an old set is
 * refreshed in the background (stale-while-revalidate) and kept when the refresh fails; only a
 * `kid` we have never seen waits for a fetch, and at most once per cooldown.
 */
export function cachedJwks({
  url,
  cacheMaxAgeMs = 600_000,
  cooldownMs = 30_000,
  timeoutMs = 5_000,
  fetchImpl = fetch,
  clock = Date.now,
}: CachedJwksOptions): JWTVerifyGetKey & { refresh(): Promise<void> } {
  let local: ReturnType<typeof createLocalJWKSet> | undefined
  let fetchedAt = Number.NEGATIVE_INFINITY
  let attemptedAt = Number.NEGATIVE_INFINITY
  let pending: Promise<void> | undefined

  async function load(): Promise<void> {
    attemptedAt = clock()
    let response: Response
    try {
      response = await fetchImpl(url, {
        headers: { accept: 'application/json, application/jwk-set+json' },
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      })
    } catch (cause) {
      throw new JwksUnavailableError('the key set could not be fetched', { cause })
    }
    if (response.status !== 200) {
      await response.body?.cancel()
      throw new JwksUnavailableError(`the key set answered ${response.status}`)
    }
    try {
      local = createLocalJWKSet(await response.json())
    } catch (cause) {
      throw new JwksUnavailableError('the key set is not a valid JWKS', { cause })
    }
    fetchedAt = clock()
  }

  function refresh(): Promise<void> {
    if (onWorkers) return load()
    pending ??= load().finally(() => {
      pending = undefined
    })
    return pending
  }

  const coolingDown = () => clock() - attemptedAt < cooldownMs

  const getKey: JWTVerifyGetKey = async function jwksKey(header, token) {
    if (!local) {
      if (coolingDown() && !pending) throw new JwksUnavailableError('the key set is unavailable')
      await refresh()
    } else if (clock() - fetchedAt >= cacheMaxAgeMs && !coolingDown()) {
      refresh().catch(() => {})
    }
    const keys = local as ReturnType<typeof createLocalJWKSet>
    try {
      return await keys(header, token)
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey) || coolingDown()) throw error
      await refresh()
      return (local as ReturnType<typeof createLocalJWKSet>)(header, token)
    }
  }
  return Object.assign(getKey, { refresh })
}
