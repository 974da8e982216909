/**
 * Fleet-wide traffic figures: every instance adds its requests (per route, backend and minute:
 * count, 5xx, a latency histogram) and its shadow results to shared counters, so the ramp gate,
 * the dashboard and the progress view judge what the whole fleet saw, not one instance's window.
 *
 * Counters are kept at three resolutions: minutes (the gate's window, kept 2 days), hours (the
 * 24 h and 7 d shares and the charts, kept 30 days) and days (the `removable` signal, kept 400
 * days). Each instance buffers its increments and flushes them every few seconds, so a request
 * never waits on the store.
 */
import type { RequestSample } from '../types.js'

/** Upper bounds of the latency buckets, in milliseconds (the last one is open). */
export const LATENCY_BOUNDS_MS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000]

export type Resolution = 'm' | 'h' | 'd'

const SPAN_MS: Record<Resolution, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 }
/** How long each resolution is kept in the store, in seconds. */
export const TTL_SECONDS: Record<Resolution, number> = {
  m: 2 * 86_400,
  h: 30 * 86_400,
  d: 400 * 86_400,
}

/** The Redis keys of the fleet counters, shared by the ioredis (Node) and Upstash (Workers) stores. */
export const fleetKeys = {
  slot: (prefix: string, s: SlotKey) => `${prefix}:${s.resolution}:${s.route}:${s.period}`,
  note: (prefix: string, name: string) => `${prefix}:note:${name}`,
}

/**
 * A hash as read back from Redis, as entries: ioredis answers HGETALL with an object, the
 * Upstash REST API (deserialisation off, as the store runs it) with the raw flat array
 * `[field, value, field, value, ...]`.
 */
function hashEntries(hash: unknown): Array<[string, unknown]> {
  if (Array.isArray(hash)) {
    const entries: Array<[string, unknown]> = []
    for (let i = 0; i + 1 < hash.length; i += 2) entries.push([String(hash[i]), hash[i + 1]])
    return entries
  }
  return Object.entries((hash ?? {}) as Record<string, unknown>)
}

/** A counter hash read back from Redis, values as numbers. */
export function countsOf(hash: unknown): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [k, v] of hashEntries(hash)) out[k] = Number(v)
  return out
}

/** A note hash read back from Redis, values as JSON text. */
export function notesOf(hash: unknown): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of hashEntries(hash)) out[k] = typeof v === 'string' ? v : JSON.stringify(v)
  return out
}

/** One counter hash: a route in one period at one resolution. */
export interface SlotKey {
  route: string
  resolution: Resolution
  /** Period number: epoch ms / the resolution's span. */
  period: number
}

/** The shared counters (Redis on Node, Upstash on Workers, memory in development and tests). */
export interface FleetStatsStore {
  readonly kind: string
  /** Add increments to each slot's fields (HINCRBY), setting the slot's expiry. */
  add(increments: ReadonlyArray<{ slot: SlotKey; fields: Record<string, number> }>): Promise<void>
  /** The fields of each slot (empty for a slot nobody wrote), in order. */
  read(slots: readonly SlotKey[]): Promise<Record<string, number>[]>
  /** Keep a small JSON record under `name`/`field` (the last parity run per route). */
  putNote(name: string, field: string, json: string): Promise<void>
  /** Every record under `name`, by field. */
  notes(name: string): Promise<Record<string, string>>
  close(): Promise<void>
}

export interface BackendFigures {
  requests: number
  /** 5xx answers (for native, plus the attempts replayed to legacy). */
  errors: number
  /** errors / requests, 0 without requests. */
  errorRate: number
  /** Upper bound of the bucket holding the 95th percentile, ms; undefined without requests. */
  p95Ms: number | undefined
}

export interface Figures {
  from: number
  to: number
  native: BackendFigures
  legacy: BackendFigures
  /** Native attempts that failed and were replayed to legacy. */
  fallback: number
  shadow: { match: number; mismatch: number; error: number; dropped: number }
}

type Fields = Record<string, number>

const backendKey = (backend: RequestSample['backend']) =>
  backend === 'legacy-fallback' ? 'fallback' : backend

function latencyIndex(ms: number): number {
  const i = LATENCY_BOUNDS_MS.findIndex((bound) => ms <= bound)
  return i === -1 ? LATENCY_BOUNDS_MS.length : i
}

function p95Of(fields: Fields, prefix: string, total: number): number | undefined {
  if (total <= 0) return undefined
  const rank = Math.ceil(total * 0.95)
  let seen = 0
  for (let i = 0; i <= LATENCY_BOUNDS_MS.length; i++) {
    seen += fields[`${prefix}:l${i}`] ?? 0
    if (seen >= rank) return LATENCY_BOUNDS_MS[i] ?? Number.POSITIVE_INFINITY
  }
  return undefined
}

/** Sum slots' fields. */
function sum(slots: readonly Fields[]): Fields {
  const out: Fields = {}
  for (const fields of slots) {
    for (const [k, v] of Object.entries(fields)) out[k] = (out[k] ?? 0) + v
  }
  return out
}

/** Figures from summed fields. */
export function figuresOf(fields: Fields, from: number, to: number): Figures {
  const fallback = fields['fallback:n'] ?? 0
  const nativeRequests = (fields['native:n'] ?? 0) + fallback
  const nativeErrors = (fields['native:e'] ?? 0) + fallback
  const legacyRequests = fields['legacy:n'] ?? 0
  const legacyErrors = fields['legacy:e'] ?? 0
  return {
    from,
    to,
    native: {
      requests: nativeRequests,
      errors: nativeErrors,
      errorRate: nativeRequests ? nativeErrors / nativeRequests : 0,
      p95Ms: p95Of(fields, 'native', fields['native:n'] ?? 0),
    },
    legacy: {
      requests: legacyRequests,
      errors: legacyErrors,
      errorRate: legacyRequests ? legacyErrors / legacyRequests : 0,
      p95Ms: p95Of(fields, 'legacy', legacyRequests),
    },
    fallback,
    shadow: {
      match: fields['shadow:match'] ?? 0,
      mismatch: fields['shadow:mismatch'] ?? 0,
      error: fields['shadow:error'] ?? 0,
      dropped: fields['shadow:dropped'] ?? 0,
    },
  }
}

export interface FleetStatsOptions {
  store: FleetStatsStore
  clock?: () => number
  /** How often buffered increments are written (Node's timer; Workers flush on use). */
  flushMs?: number
  /** Told when a flush fails (the increments are kept for the next one, bounded). */
  onError?: (error: unknown) => void
}

/** Buffered increments beyond this many slots are dropped while the store is down. */
const MAX_BUFFERED_SLOTS = 10_000

export class FleetStats {
  private buffer = new Map<string, { slot: SlotKey; fields: Fields }>()
  private timer: ReturnType<typeof setInterval> | undefined
  private flushing: Promise<void> | undefined
  private lastFlush = 0
  private readonly clock: () => number
  private readonly flushMs: number

  constructor(private readonly opts: FleetStatsOptions) {
    this.clock = opts.clock ?? Date.now
    this.flushMs = opts.flushMs ?? 5_000
  }

  get store(): FleetStatsStore {
    return this.opts.store
  }

  /** Count one finished routed request (the app's `observe` hook). */
  readonly observe = (sample: RequestSample): void => {
    const backend = backendKey(sample.backend)
    const fields: Fields = { [`${backend}:n`]: 1 }
    if (backend !== 'fallback') {
      if (sample.status >= 500) fields[`${backend}:e`] = 1
      fields[`${backend}:l${latencyIndex(sample.latencyMs)}`] = 1
    }
    this.add(sample.routeId, fields)
  }

  /** Count one shadow result. */
  readonly shadow = (route: string, result: string): void => {
    this.add(route, { [`shadow:${result}`]: 1 })
  }

  private add(route: string, fields: Fields): void {
    const now = this.clock()
    for (const resolution of ['m', 'h', 'd'] as const) {
      const period = Math.floor(now / SPAN_MS[resolution])
      const id = `${route}|${resolution}|${period}`
      let entry = this.buffer.get(id)
      if (!entry) {
        if (this.buffer.size >= MAX_BUFFERED_SLOTS) return
        entry = { slot: { route, resolution, period }, fields: {} }
        this.buffer.set(id, entry)
      }
      for (const [k, v] of Object.entries(fields)) entry.fields[k] = (entry.fields[k] ?? 0) + v
    }
  }

  /** Write what is buffered; concurrent callers share one write. Never rejects. */
  flush(): Promise<void> {
    this.flushing ??= (async () => {
      const pending = [...this.buffer.values()]
      this.buffer = new Map()
      this.lastFlush = this.clock()
      if (pending.length === 0) return
      try {
        await this.opts.store.add(pending)
      } catch (error) {
        // Put them back (merged with what arrived meanwhile) for the next flush.
        for (const { slot, fields } of pending) {
          const id = `${slot.route}|${slot.resolution}|${slot.period}`
          const entry = this.buffer.get(id) ?? { slot, fields: {} }
          for (const [k, v] of Object.entries(fields)) entry.fields[k] = (entry.fields[k] ?? 0) + v
          if (this.buffer.size < MAX_BUFFERED_SLOTS || this.buffer.has(id))
            this.buffer.set(id, entry)
        }
        this.opts.onError?.(error)
      }
    })().finally(() => {
      this.flushing = undefined
    })
    return this.flushing
  }

  /** Workers: flush when the last flush is older than `flushMs` (hand it to `waitUntil`). */
  flushIfDue(): Promise<void> | undefined {
    if (this.flushing || this.clock() - this.lastFlush < this.flushMs) return undefined
    return this.flush()
  }

  start(): void {
    this.timer ??= setInterval(() => void this.flush(), this.flushMs)
    ;(this.timer as { unref?: () => void }).unref?.()
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
    this.timer = undefined
    await this.flush()
  }

  /** The fleet's figures for `route` over the last `minutes` whole minutes plus the current one. */
  async lastMinutes(route: string, minutes: number): Promise<Figures> {
    return this.over(route, 'm', minutes)
  }

  /** The fleet's figures per period (oldest first) and summed, at a resolution. */
  async series(
    route: string,
    resolution: Resolution,
    periods: number,
  ): Promise<{ total: Figures; points: Figures[] }> {
    const now = this.clock()
    const span = SPAN_MS[resolution]
    const last = Math.floor(now / span)
    const slots: SlotKey[] = []
    for (let p = last - periods + 1; p <= last; p++) slots.push({ route, resolution, period: p })
    const read = await this.opts.store.read(slots)
    const points = read.map((fields, i) => {
      const period = (slots[i] as SlotKey).period
      return figuresOf(fields, period * span, (period + 1) * span)
    })
    return { total: figuresOf(sum(read), (last - periods + 1) * span, now), points }
  }

  private async over(route: string, resolution: Resolution, periods: number): Promise<Figures> {
    return (await this.series(route, resolution, periods)).total
  }
}

/** In-process counters: development, tests, and an instance without a shared store. */
export function memoryFleetStore(): FleetStatsStore & { slots: Map<string, Fields> } {
  const slots = new Map<string, Fields>()
  const notes = new Map<string, Record<string, string>>()
  const id = (s: SlotKey) => `${s.route}|${s.resolution}|${s.period}`
  return {
    kind: 'memory',
    slots,
    async add(increments) {
      for (const { slot, fields } of increments) {
        const stored = slots.get(id(slot)) ?? {}
        for (const [k, v] of Object.entries(fields)) stored[k] = (stored[k] ?? 0) + v
        slots.set(id(slot), stored)
      }
    },
    async read(keys) {
      return keys.map((k) => ({ ...(slots.get(id(k)) ?? {}) }))
    },
    async putNote(name, field, json) {
      notes.set(name, { ...notes.get(name), [field]: json })
    },
    async notes(name) {
      return { ...notes.get(name) }
    },
    async close() {},
  }
}
