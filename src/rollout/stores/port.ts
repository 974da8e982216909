import { AppError } from '../../errors.js'
/**
 * The shared overlay the live flag store reads and writes: one record per deployment (a Redis
 * hash on Node, the same hash over Upstash REST on Workers, a Map in development and tests).
 * Values travel as text so that validation, and the refusal of a corrupt entry, happen in one
 * place (`LiveFlags`) for every backend.
 */

export interface StoreSnapshot {
  /** Overlay revision: 0 when nothing was ever written, NaN when the stored value is garbage. */
  version: number
  /** The overlay as stored (JSON text), undefined when none was written. */
  overlay: string | undefined
  /** Auto-rollback holds as stored (JSON text), by route id, expired ones included. */
  holds: Record<string, string>
}

export interface FlagStore {
  /** `redis`, `upstash` or `memory`, for logs, `/ready` and the admin API. */
  readonly kind: string
  /** Read the whole record at once, so a table and its version never come from two writes. */
  read(): Promise<StoreSnapshot>
  /** Store `overlay` as revision `expected + 1` if the stored revision is still `expected`. */
  compareAndSet(expected: number, overlay: string): Promise<boolean>
  /** Store a hold for `routeId` unless one that ends after `now` is there. True when placed. */
  placeHold(routeId: string, hold: string, until: number, now: number): Promise<boolean>
  /** Remove the hold if it is still exactly `hold`: true for the one caller that removed it. */
  releaseHold(routeId: string, hold: string): Promise<boolean>
  close(): Promise<void>
}

/** The store could not be reached or did not answer in time. */
export class FlagStoreUnavailableError extends AppError {
  constructor(kind: string, options?: { cause?: unknown }) {
    const why = options?.cause instanceof Error ? `: ${options.cause.message}` : ''
    super(`flag store ${kind} unavailable${why}`, options)
    this.name = 'FlagStoreUnavailableError'
  }
}
