/**
 * Shadow traffic: for a read-only route, a share of requests is also sent to the backend that
 * did not serve it, in the background, and the two answers are compared with the parity rules
 * (`compare.ts`). The client's response is never delayed or altered: the comparison runs after
 * it (under `waitUntil` on Workers, in a bounded queue on Node), and whatever the shadow call
 * does, only metrics, a log line and a bounded sample of masked differences come of it.
 *
 * Capped per instance: at most `maxConcurrent` shadow calls at once, `maxQueued` waiting, and
 * `perSecond` started per route (a token bucket); beyond that a request is not shadowed
 * (`result="dropped"`).
 */

import type { Metrics } from '../observability/metrics.js'
import { maskString } from '../observability/pii.js'
import type { CompareRules } from '../types.js'
import {
  type Difference,
  diffResponses,
  normaliseResponse,
  type ObservedResponse,
} from './compare.js'

export type ShadowResult = 'match' | 'mismatch' | 'error' | 'dropped'

/** What one shadowed request produced: the two answers, native first. */
export interface ShadowPair {
  native: ObservedResponse
  legacy: ObservedResponse
}

/** A mismatch kept for the dashboard; values are masked for personal data. */
export interface ShadowSample {
  at: number
  route: string
  /** The backend that served the client. */
  served: 'native' | 'legacy'
  differences: Difference[]
}

export interface ShadowCounts {
  match: number
  mismatch: number
  error: number
  dropped: number
}

export interface ShadowOptions {
  metrics?: Metrics
  maxConcurrent?: number
  maxQueued?: number
  /** Shadow calls started per second per route. */
  perSecond?: number
  /** Mismatches kept for the dashboard (the oldest go first). */
  sampleSize?: number
  clock?: () => number
  /** Told about every result (fleet-wide counters). */
  onResult?: (route: string, result: ShadowResult) => void
  /** Told about a shadow call that failed, for the log. */
  onError?: (route: string, error: unknown) => void
}

interface Bucket {
  tokens: number
  at: number
}

type Job = () => Promise<void>

export class ShadowTraffic {
  private running = 0
  private readonly queue: Job[] = []
  private readonly buckets = new Map<string, Bucket>()
  private readonly kept: ShadowSample[] = []
  private readonly totals = new Map<string, ShadowCounts>()
  private readonly counter
  private readonly maxConcurrent: number
  private readonly maxQueued: number
  private readonly perSecond: number
  private readonly sampleSize: number
  private readonly clock: () => number

  constructor(private readonly opts: ShadowOptions = {}) {
    this.maxConcurrent = opts.maxConcurrent ?? 4
    this.maxQueued = opts.maxQueued ?? 32
    this.perSecond = opts.perSecond ?? 10
    this.sampleSize = opts.sampleSize ?? 50
    this.clock = opts.clock ?? Date.now
    this.counter = opts.metrics?.counter(
      'bff_shadow_total',
      'Shadowed requests by outcome: match, mismatch, error (the shadow call failed), dropped (over the caps)',
      ['route', 'result'],
    )
  }

  /**
   * Take a slot for one shadow call of `route`: false (counted as dropped) when the route's rate
   * or the instance's queue is full. Call before preparing anything for the shadow call.
   */
  admit(route: string): boolean {
    const now = this.clock()
    const bucket = this.buckets.get(route) ?? { tokens: this.perSecond, at: now }
    bucket.tokens = Math.min(
      this.perSecond,
      bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond,
    )
    bucket.at = now
    this.buckets.set(route, bucket)
    const full = this.running >= this.maxConcurrent && this.queue.length >= this.maxQueued
    if (bucket.tokens < 1 || full) {
      this.record(route, 'dropped')
      return false
    }
    bucket.tokens -= 1
    return true
  }

  /**
   * Run an admitted shadow call in the background and compare its answers. Returns the
   * promise of its completion, for `waitUntil` on Workers; never rejects.
   */
  run(
    route: string,
    served: 'native' | 'legacy',
    rules: CompareRules | undefined,
    call: () => Promise<ShadowPair>,
  ): Promise<void> {
    return new Promise<void>((resolve) => {
      const job: Job = async () => {
        try {
          const pair = await call()
          const differences = diffResponses(
            normaliseResponse(pair.native, rules),
            normaliseResponse(pair.legacy, rules),
          )
          if (differences.length === 0) this.record(route, 'match')
          else {
            this.record(route, 'mismatch')
            this.keep({ at: this.clock(), route, served, differences: differences.map(masked) })
          }
        } catch (error) {
          this.record(route, 'error')
          this.opts.onError?.(route, error)
        } finally {
          resolve()
        }
      }
      if (this.running < this.maxConcurrent) this.start(job)
      else if (this.queue.length < this.maxQueued) this.queue.push(job)
      else {
        this.record(route, 'dropped')
        resolve()
      }
    })
  }

  /** Recent mismatches, newest first (all routes, or one). */
  samples(route?: string): ShadowSample[] {
    const all = [...this.kept].reverse()
    return route ? all.filter((s) => s.route === route) : all
  }

  /** Results on this instance since start, per route. */
  counts(): ReadonlyMap<string, ShadowCounts> {
    return this.totals
  }

  /** Shadow calls running or waiting (for tests and shutdown). */
  get pending(): number {
    return this.running + this.queue.length
  }

  private start(job: Job): void {
    this.running++
    void job().finally(() => {
      this.running--
      const next = this.queue.shift()
      if (next) this.start(next)
    })
  }

  private keep(sample: ShadowSample): void {
    this.kept.push(sample)
    if (this.kept.length > this.sampleSize) this.kept.shift()
  }

  private record(route: string, result: ShadowResult): void {
    this.counter?.inc({ route, result })
    const counts = this.totals.get(route) ?? { match: 0, mismatch: 0, error: 0, dropped: 0 }
    counts[result]++
    this.totals.set(route, counts)
    this.opts.onResult?.(route, result)
  }
}

const masked = (d: Difference): Difference => ({
  field: d.field,
  native: maskString(d.native),
  legacy: maskString(d.legacy),
})

/** A response body as text, or undefined when it is larger than `maxBytes` (the rest is not read). */
export async function readCapped(
  response: Response,
  maxBytes: number,
): Promise<string | undefined> {
  if (!response.body) return ''
  const reader = response.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > maxBytes) {
      await reader.cancel()
      return undefined
    }
    chunks.push(value)
  }
  const bytes = new Uint8Array(size)
  let offset = 0
  for (const chunk of chunks) {
    bytes.set(chunk, offset)
    offset += chunk.byteLength
  }
  return new TextDecoder().decode(bytes)
}
