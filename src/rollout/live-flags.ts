import { AppError } from '../errors.js'
import { errorFields, type Logger } from '../observability/log.js'
import type { Metrics } from '../observability/metrics.js'
import {
  compileFlags,
  type FlagRules,
  type FlagSource,
  FlagsError,
  type FlagTable,
  flagsToDocument,
} from './flags.js'
import { type Hold, HoldSchema, type Overlay, OverlaySchema, parseStored } from './overlay.js'
import type { FlagStore, StoreSnapshot } from './stores/port.js'

/**
 * The flag table in force: `flags.json` with the shared overlay's percentages on top.
 *
 * Every `refreshMs` the whole record is read at once, validated and compiled, and the table is
 * swapped in one assignment, so a request sees either the old table or the new one. A record
 * that does not validate is refused whole and the last good table stays; so it does when the
 * store cannot be reached. Both show in `status()`, the logs and the metrics.
 */

export interface LiveFlagsOptions {
  /** The table from `flags.json` (or the bundled copy on Workers): the base layer. */
  file: FlagTable
  rules: FlagRules
  store: FlagStore
  refreshMs: number
  logger: Logger
  metrics?: Metrics
  clock?: () => number
}

export interface FlagStoreStatus {
  store: string
  /** The last read of the store succeeded. */
  reachable: boolean
  lastRefreshAt: number | undefined
  lastError: string | undefined
  /** The stored record refused as invalid (the table in force is the last good one). */
  rejected: { version: number; problems: string[] } | undefined
  /** Revision of the overlay in force; 0 while only the file applies. */
  overlayVersion: number
}

export interface FlagChange {
  /** Percentages by route id. */
  percents: Readonly<Record<string, number>>
  /** Shadow percentages by route id (0 switches shadow traffic off). */
  shadows?: Readonly<Record<string, number>>
  /** Refuse unless the table in force has this version (optimistic concurrency). */
  expectedVersion?: string
  actor: string
}

/** The store changed since the version the caller read. */
export class FlagConflictError extends AppError {
  constructor(
    readonly expected: string,
    readonly current: string,
  ) {
    super(`flag table changed: expected version ${expected}, current ${current}`)
    this.name = 'FlagConflictError'
  }
}

/** A hold with its stored text (releasing it is a compare-and-delete on that text). */
export type StoredHold = Hold & { text: string }

interface Base {
  table: FlagTable
  overlay: Overlay['routes']
  storeVersion: number
}

// Unversioned writes (a kill) retry this often when another writer got in between.
const UNVERSIONED_ATTEMPTS = 5

export class LiveFlags implements FlagSource {
  private table: FlagTable
  private overlay: Overlay['routes'] = {}
  private overlayVersion = 0
  private activeHolds: ReadonlyMap<string, StoredHold> = new Map()
  private reachable = false
  private lastRefreshAt: number | undefined
  private lastAttemptAt: number | undefined
  private lastError: string | undefined
  private rejected: FlagStoreStatus['rejected']
  private inflight: Promise<void> | undefined
  private timer: ReturnType<typeof setInterval> | undefined
  // Bumped by every local write, so a refresh that read the store before it cannot undo it.
  private writes = 0
  private readonly listeners = new Set<() => void>()
  private readonly badHolds = new Set<string>()
  private readonly clock: () => number
  private readonly gauges

  constructor(private readonly opts: LiveFlagsOptions) {
    this.table = opts.file
    this.clock = opts.clock ?? Date.now
    const m = opts.metrics
    this.gauges = m && {
      up: m.gauge(
        'bff_flag_store_up',
        'Last read of the shared flag store succeeded (1) or failed (0)',
        ['store'],
      ),
      version: m.gauge(
        'bff_flag_overlay_version',
        'Revision of the flag overlay in force (0: file only)',
      ),
      failures: m.counter('bff_flag_store_failures_total', 'Failed reads of the flag store', [
        'store',
      ]),
      rejected: m.counter(
        'bff_flag_overlay_rejected_total',
        'Stored flag records refused as invalid',
      ),
    }
  }

  /** The table in force; never waits on the store. */
  current(): FlagTable {
    return this.table
  }

  /** Auto-rollback holds as shared through the store (expired ones included). */
  holds(): ReadonlyMap<string, StoredHold> {
    return this.activeHolds
  }

  get store(): FlagStore {
    return this.opts.store
  }

  status(): FlagStoreStatus {
    return {
      store: this.opts.store.kind,
      reachable: this.reachable,
      lastRefreshAt: this.lastRefreshAt,
      lastError: this.lastError,
      rejected: this.rejected,
      overlayVersion: this.overlayVersion,
    }
  }

  /** For `/ready`: false while the store cannot be read (the last good table still serves). */
  readonly readiness = (): boolean => this.reachable

  /** Called after every refresh attempt (auto-rollback releases expired holds there). */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /**
   * First read, then one every `refreshMs` (Node). Never rejects: with the store down the
   * file's table serves until the store answers.
   */
  async start(): Promise<void> {
    await this.refresh()
    this.timer ??= setInterval(() => void this.refresh(), this.opts.refreshMs)
    // A timer alone must not keep the process alive (tests, graceful shutdown).
    ;(this.timer as { unref?: () => void }).unref?.()
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
    this.timer = undefined
    await this.inflight
    await this.opts.store.close()
  }

  /**
   * Workers have no timers between requests: call this on each request (under
   * `ctx.waitUntil`); it refreshes when the last refresh is older than `refreshMs`.
   */
  refreshIfDue(): Promise<void> | undefined {
    const last = this.lastAttemptAt ?? Number.NEGATIVE_INFINITY
    if (this.inflight || this.clock() - last < this.opts.refreshMs) return undefined
    return this.refresh()
  }

  /** Read the store now; concurrent callers share one read. */
  refresh(): Promise<void> {
    this.inflight ??= this.readAndApply().finally(() => {
      this.inflight = undefined
      for (const listener of this.listeners) listener()
    })
    return this.inflight
  }

  /**
   * Write new percentages to the store (compare-and-set on its revision) and put them in force
   * here at once; other instances follow within `refreshMs`.
   * @throws FlagConflictError when `expectedVersion` is stale or another writer got in first.
   * @throws FlagsError when the result would not be a valid table (naming route and field).
   * @throws FlagStoreUnavailableError when the store cannot be reached.
   */
  async change({
    percents,
    shadows = {},
    expectedVersion,
    actor,
  }: FlagChange): Promise<{ previous: FlagTable; table: FlagTable }> {
    const attempts = expectedVersion === undefined ? UNVERSIONED_ATTEMPTS : 1
    let current = this.table.version
    for (let attempt = 0; attempt < attempts; attempt++) {
      const base = this.baseFrom(await this.opts.store.read())
      current = base.table.version
      if (expectedVersion !== undefined && expectedVersion !== current) {
        throw new FlagConflictError(expectedVersion, current)
      }
      const routes = { ...base.overlay }
      for (const [id, native] of Object.entries(percents)) routes[id] = { ...routes[id], native }
      for (const [id, shadow] of Object.entries(shadows)) {
        const native = routes[id]?.native ?? base.table.routes.get(id)?.percent ?? 0
        routes[id] = { native, shadow }
      }
      const version = base.storeVersion + 1
      const table = this.compile(routes, version)
      const overlay: Overlay = {
        routes,
        updatedAt: new Date(this.clock()).toISOString(),
        updatedBy: actor,
      }
      if (await this.opts.store.compareAndSet(base.storeVersion, JSON.stringify(overlay))) {
        this.writes += 1
        this.swap(table, routes, version)
        this.opts.logger.info('flag table changed', {
          version: table.version,
          actor,
          percents,
          shadows,
        })
        return { previous: base.table, table }
      }
    }
    throw new FlagConflictError(expectedVersion ?? current, 'newer')
  }

  private async readAndApply(): Promise<void> {
    const writes = this.writes
    const { store, logger } = this.opts
    const firstAttempt = this.lastAttemptAt === undefined
    this.lastAttemptAt = this.clock()
    let snapshot: StoreSnapshot
    try {
      snapshot = await store.read()
    } catch (error) {
      this.lastError = error instanceof Error ? error.message : String(error)
      this.gauges?.failures.inc({ store: store.kind })
      this.gauges?.up.set({ store: store.kind }, 0)
      if (this.reachable || firstAttempt) {
        logger.error('flag store unreachable: keeping the last good table', {
          store: store.kind,
          version: this.table.version,
          ...errorFields(error),
        })
      }
      this.reachable = false
      return
    }
    if (!this.reachable && !firstAttempt)
      logger.info('flag store reachable again', { store: store.kind })
    this.reachable = true
    this.lastError = undefined
    this.lastRefreshAt = this.clock()
    this.gauges?.up.set({ store: store.kind }, 1)
    this.activeHolds = this.holdsFrom(snapshot.holds)
    if (writes !== this.writes) return
    if (snapshot.version === this.overlayVersion && !this.rejected) return
    if (snapshot.version === 0 && snapshot.overlay === undefined && this.overlayVersion > 0) {
      await this.restoreLostRecord(writes)
      return
    }
    try {
      const base = this.parse(snapshot)
      this.rejected = undefined
      if (base.storeVersion !== this.overlayVersion || base.table.version !== this.table.version) {
        this.swap(base.table, base.overlay, base.storeVersion)
        logger.info('flag table updated', {
          source: base.table.source,
          version: base.table.version,
        })
      }
    } catch (error) {
      const problems = error instanceof FlagsError ? error.problems : [String(error)]
      if (this.rejected?.version !== snapshot.version) {
        this.gauges?.rejected.inc()
        logger.error('flag store record refused: keeping the last good table', {
          storeVersion: snapshot.version,
          version: this.table.version,
          problems,
        })
      }
      this.rejected = { version: snapshot.version, problems }
    }
  }

  /**
   * The store answers with no record at all while this instance holds a written overlay: the
   * store lost its data (a Redis restarted without persistence, a failover to an empty replica),
   * not an operator's decision; every change goes through `change()`, which never empties the
   * record. Falling back to the file would silently undo every change since, kill switches
   * included. The last good table stays and is written back (compare-and-set on the empty
   * record, so of several instances exactly one writes and the others adopt its copy).
   */
  private async restoreLostRecord(writes: number): Promise<void> {
    const { store, logger } = this.opts
    const lost = this.overlayVersion
    logger.error('flag store lost its record: keeping the last good table and writing it back', {
      store: store.kind,
      version: this.table.version,
    })
    const overlay: Overlay = {
      routes: this.overlay,
      updatedAt: new Date(this.clock()).toISOString(),
      updatedBy: `restored after the store lost version ${lost}`,
    }
    let written = false
    try {
      written = await store.compareAndSet(0, JSON.stringify(overlay))
    } catch (error) {
      logger.warn(
        'flag store restore not written; retrying on the next refresh',
        errorFields(error),
      )
      return
    }
    if (!written || writes !== this.writes) return
    this.writes += 1
    this.swap(this.compile(this.overlay, 1), this.overlay, 1)
  }

  /** The stored record as a table. @throws FlagsError when it is not valid. */
  private parse(snapshot: StoreSnapshot): Base {
    const source = this.opts.store.kind
    if (!Number.isSafeInteger(snapshot.version) || snapshot.version < 0) {
      throw new FlagsError(source, ['version: must be a whole number'])
    }
    if (snapshot.overlay === undefined) {
      if (snapshot.version !== 0)
        throw new FlagsError(source, ['overlay: missing for a written version'])
      return { table: this.opts.file, overlay: {}, storeVersion: 0 }
    }
    const parsed = parseStored(OverlaySchema, snapshot.overlay)
    if ('problems' in parsed)
      throw new FlagsError(
        source,
        parsed.problems.map((p) => `overlay.${p}`),
      )
    const routes = parsed.value.routes
    return {
      table: this.compile(routes, snapshot.version),
      overlay: routes,
      storeVersion: snapshot.version,
    }
  }

  /**
   * What a write builds on: the stored record, or, when that is invalid, the table in force
   * (a write then replaces the bad record, which is how an operator repairs it).
   */
  private baseFrom(snapshot: StoreSnapshot): Base {
    try {
      return this.parse(snapshot)
    } catch (error) {
      if (!(error instanceof FlagsError)) throw error
      const storeVersion = Number.isSafeInteger(snapshot.version) ? snapshot.version : 0
      return { table: this.table, overlay: this.overlay, storeVersion }
    }
  }

  private compile(routes: Overlay['routes'], storeVersion: number): FlagTable {
    const { file, rules, store } = this.opts
    const doc = flagsToDocument(file)
    for (const [id, { native, shadow }] of Object.entries(routes)) {
      doc.routes[id] = { ...doc.routes[id], native, ...(shadow !== undefined ? { shadow } : {}) }
    }
    return compileFlags(doc, rules, `${store.kind} over ${file.source}`, `v${storeVersion}`)
  }

  private swap(table: FlagTable, overlay: Overlay['routes'], storeVersion: number): void {
    this.table = table
    this.overlay = overlay
    this.overlayVersion = storeVersion
    this.gauges?.version.set({}, storeVersion)
  }

  private holdsFrom(stored: Record<string, string>): ReadonlyMap<string, StoredHold> {
    const holds = new Map<string, StoredHold>()
    for (const [routeId, text] of Object.entries(stored)) {
      const parsed = parseStored(HoldSchema, text)
      if ('value' in parsed && parsed.value.routeId === routeId)
        holds.set(routeId, { ...parsed.value, text })
      else if (!this.badHolds.has(text)) {
        this.badHolds.add(text)
        this.opts.logger.warn('invalid auto-rollback hold ignored', { route: routeId })
      }
    }
    return holds
  }
}
