import type { RateLimitOutcome } from '../../types.js'

/**
 * An in-process sliding-window counter with the same weighting as @upstash/ratelimit's
 * `slidingWindow` (previous window's count scaled by how much of it still overlaps). Counts live
 * in one process only, so it is for development and tests; production refuses it.
 */
export class MemoryWindow {
  readonly #counts = new Map<string, { window: number; current: number; previous: number }>()

  constructor(
    private readonly maxKeys = 50_000,
    private readonly clock: () => number = Date.now,
  ) {}

  hit(key: string, limit: number, windowMs: number): RateLimitOutcome {
    const now = this.clock()
    const window = Math.floor(now / windowMs)
    let entry = this.#counts.get(key)
    if (!entry || entry.window < window - 1) {
      entry = { window, current: 0, previous: 0 }
    } else if (entry.window === window - 1) {
      entry = { window, current: 0, previous: entry.current }
    }
    this.#counts.delete(key)
    if (this.#counts.size >= this.maxKeys) {
      this.#counts.delete(this.#counts.keys().next().value as string)
    }
    this.#counts.set(key, entry)
    const overlap = 1 - (now % windowMs) / windowMs
    const used = Math.floor(entry.previous * overlap) + entry.current
    const allowed = used < limit
    if (allowed) entry.current += 1
    return {
      allowed,
      limit,
      remaining: Math.max(0, limit - used - (allowed ? 1 : 0)),
      reset: (window + 1) * windowMs,
    }
  }
}
