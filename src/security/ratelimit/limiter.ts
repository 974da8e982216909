import { Ratelimit } from '@upstash/ratelimit'
import { Redis as UpstashRedis } from '@upstash/redis/cloudflare'
import { AppError } from '../../errors.js'
import type { RateLimiter, RateLimitOutcome } from '../../types.js'
import { MemoryWindow } from './memory-window.js'

/**
 * The part of a Redis client @upstash/ratelimit uses: EVALSHA, and EVAL when the server answers
 * NOSCRIPT (its `safeEval`); GET/SET only for dynamic limits, which we do not use.
 */
export interface EvalRedis {
  evalsha(sha: string, keys: string[], args: unknown[]): Promise<unknown>
  eval(script: string, keys: string[], args: unknown[]): Promise<unknown>
  get(key: string): Promise<unknown>
  set(key: string, value: unknown): Promise<unknown>
  close?(): Promise<void>
}

export interface RateLimiterOptions {
  store: 'memory' | 'redis' | 'upstash'
  /** For `redis`: e.g. `createIoredisAdapter(REDIS_URL)` (Node only). */
  redis?: EvalRedis
  upstashUrl?: string
  upstashToken?: string
  /** Deadline for one decision; past it `limit()` rejects (never allows). */
  timeoutMs: number
  /** Key prefix in the store, so environments sharing a Redis do not share counters. */
  prefix?: string
  clock?: () => number
}

/** The store did not answer within the deadline. */
export class RateLimiterTimeoutError extends AppError {
  constructor(readonly timeoutMs: number) {
    super(`rate limiter did not answer within ${timeoutMs} ms`)
    this.name = 'RateLimiterTimeoutError'
  }
}

/**
 * A `RateLimiter` over @upstash/ratelimit's sliding window (or an in-process window for
 * `memory`).
 *
 * The library's own `timeout` resolves `{ success: true, reason: 'timeout' }` when Redis is slow
 * (its default, 5 s): that is the fail-open the legacy functions had. It is turned off here and
 * replaced by a deadline that rejects, so the middleware decides by the route's `failMode`.
 */
export function createRateLimiter({
  store,
  redis,
  upstashUrl,
  upstashToken,
  timeoutMs,
  prefix = 'bff:rl',
  clock = Date.now,
}: RateLimiterOptions): RateLimiter & { close(): Promise<void> } {
  if (store === 'memory') {
    const window = new MemoryWindow(undefined, clock)
    return {
      kind: 'memory',
      async limit(routeId, identifier, { limit, windowSeconds }) {
        return window.hit(`${routeId}:${identifier}`, limit, windowSeconds * 1000)
      },
      async close() {},
    }
  }

  const client = store === 'redis' ? redis : upstashClient(upstashUrl, upstashToken, timeoutMs)
  if (!client) throw new TypeError('createRateLimiter: store "redis" needs a redis client')
  const instances = new Map<string, Ratelimit>()

  function instanceFor(limit: number, windowSeconds: number): Ratelimit {
    const id = `${limit}/${windowSeconds}s`
    let instance = instances.get(id)
    if (!instance) {
      instance = new Ratelimit({
        // The library types its client as @upstash/redis but calls only the EvalRedis subset.
        redis: client as unknown as ConstructorParameters<typeof Ratelimit>[0]['redis'],
        limiter: Ratelimit.slidingWindow(limit, `${windowSeconds} s`),
        // Counters for different limits or windows must not share keys.
        prefix: `${prefix}:${id}`,
        timeout: 0,
        analytics: false,
        enableTelemetry: false,
      })
      instances.set(id, instance)
    }
    return instance
  }

  return {
    kind: store,
    async limit(routeId, identifier, { limit, windowSeconds }): Promise<RateLimitOutcome> {
      const decision = instanceFor(limit, windowSeconds).limit(`${routeId}:${identifier}`)
      const result = await withDeadline(decision, timeoutMs)
      if (result.reason === 'timeout') throw new RateLimiterTimeoutError(timeoutMs)
      return {
        allowed: result.success,
        limit: result.limit,
        remaining: result.remaining,
        reset: result.reset,
      }
    },
    async close() {
      await client.close?.()
    },
  }
}

function upstashClient(url: string | undefined, token: string | undefined, timeoutMs: number) {
  if (!url || !token) throw new TypeError('createRateLimiter: store "upstash" needs url and token')
  const redis = new UpstashRedis({
    url,
    token,
    // One attempt within our deadline; the abort frees the connection of a request we gave up on.
    retry: false,
    signal: () => AbortSignal.timeout(timeoutMs + 1_000),
    enableTelemetry: false,
  })
  // The library's EVAL fallback needs `eval`, which @upstash/redis has; the cast only widens.
  return redis as unknown as EvalRedis
}

function withDeadline<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RateLimiterTimeoutError(timeoutMs)), timeoutMs)
  })
  // A store that fails after we gave up must not become an unhandled rejection.
  work.catch(() => {})
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer))
}
