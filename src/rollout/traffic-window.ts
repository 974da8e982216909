import { LATENCY_BUCKETS } from '../observability/metrics.js'
import type { RequestSample } from '../types.js'

/**
 * Recent traffic per route in one-second slots: what auto-rollback judges and the dashboard
 * shows. Per instance, like the metrics it mirrors; slots older than an hour are dropped.
 */

export interface SideStats {
  requests: number
  /** 5xx answers (for native: also every attempt that fell back to legacy). */
  errors: number
  errorRate: number
  /** Upper bound of the latency bucket holding the 95th percentile, in ms; undefined without samples. */
  p95Ms: number | undefined
}

export interface WindowStats {
  seconds: number
  native: SideStats
  legacy: SideStats
  /** Native attempts replayed to legacy (counted in native's requests and errors too). */
  fallbacks: number
}

interface Side {
  requests: number
  errors: number
  /** Latency histogram over LATENCY_BUCKETS plus one overflow slot. */
  buckets: number[]
}

interface Slot {
  second: number
  native: Side
  legacy: Side
  fallbacks: number
}

const MAX_SECONDS = 3_600
const BOUNDS_MS = LATENCY_BUCKETS.map((s) => s * 1000)

const side = (): Side => ({
  requests: 0,
  errors: 0,
  buckets: new Array(BOUNDS_MS.length + 1).fill(0),
})

function addLatency(s: Side, ms: number): void {
  let i = BOUNDS_MS.findIndex((bound) => ms <= bound)
  if (i === -1) i = BOUNDS_MS.length
  s.buckets[i] = (s.buckets[i] as number) + 1
}

function summarize(sides: Side[]): SideStats {
  const total = side()
  for (const s of sides) {
    total.requests += s.requests
    total.errors += s.errors
    s.buckets.forEach((n, i) => {
      total.buckets[i] = (total.buckets[i] as number) + n
    })
  }
  const observed = total.buckets.reduce((a, b) => a + b, 0)
  let p95Ms: number | undefined
  if (observed > 0) {
    const rank = Math.ceil(observed * 0.95)
    let seen = 0
    for (let i = 0; i < total.buckets.length; i++) {
      seen += total.buckets[i] as number
      if (seen >= rank) {
        // The overflow slot has no upper bound: report the largest bound, the most we know.
        p95Ms = BOUNDS_MS[Math.min(i, BOUNDS_MS.length - 1)]
        break
      }
    }
  }
  return {
    requests: total.requests,
    errors: total.errors,
    errorRate: total.requests ? total.errors / total.requests : 0,
    p95Ms,
  }
}

export class TrafficWindow {
  private readonly routes = new Map<string, Slot[]>()

  constructor(private readonly clock: () => number = Date.now) {}

  record({ routeId, backend, status, latencyMs }: RequestSample): void {
    const slot = this.slot(routeId)
    if (backend === 'legacy-fallback') {
      slot.native.requests += 1
      slot.native.errors += 1
      slot.fallbacks += 1
      return
    }
    const s = backend === 'native' ? slot.native : slot.legacy
    s.requests += 1
    if (status >= 500) s.errors += 1
    addLatency(s, latencyMs)
  }

  /** Totals over the last `seconds` (the current, partial second included). */
  stats(routeId: string, seconds: number): WindowStats {
    const from = this.second() - seconds + 1
    const slots = (this.routes.get(routeId) ?? []).filter((s) => s.second >= from)
    return {
      seconds,
      native: summarize(slots.map((s) => s.native)),
      legacy: summarize(slots.map((s) => s.legacy)),
      fallbacks: slots.reduce((n, s) => n + s.fallbacks, 0),
    }
  }

  /** Forget a route's samples (after a rollback, so recovery is judged on fresh traffic). */
  reset(routeId: string): void {
    this.routes.delete(routeId)
  }

  private second(): number {
    return Math.floor(this.clock() / 1000)
  }

  private slot(routeId: string): Slot {
    const now = this.second()
    let slots = this.routes.get(routeId)
    if (!slots) {
      slots = []
      this.routes.set(routeId, slots)
    }
    const last = slots[slots.length - 1]
    if (last && last.second === now) return last
    while (slots.length && (slots[0] as Slot).second <= now - MAX_SECONDS) slots.shift()
    const slot: Slot = { second: now, native: side(), legacy: side(), fallbacks: 0 }
    slots.push(slot)
    return slot
  }
}
