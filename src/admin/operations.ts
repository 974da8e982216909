import { errorFields, type Logger } from '../observability/log.js'
import { gatewayProblem, notFound, validationFailed } from '../problems.js'
import type { AuditEntry, AuditSource, AuditTrail } from '../rollout/audit.js'
import type { AutoRollback } from '../rollout/auto-rollback.js'
import type { BreakerState, NativeBreakers } from '../rollout/breaker.js'
import { BUCKETS, bucketOf } from '../rollout/bucket.js'
import { decideBackend, type Subject } from '../rollout/decide.js'
import { FlagsError, type FlagTable } from '../rollout/flags.js'
import type { FleetStats } from '../rollout/fleet-stats.js'
import { FlagConflictError, type LiveFlags } from '../rollout/live-flags.js'
import type { Hold } from '../rollout/overlay.js'
import { type GateVerdict, gateWindowMinutes, judgeStep } from '../rollout/ramp-gate.js'
import type { ShadowTraffic } from '../rollout/shadow.js'
import { FlagStoreUnavailableError } from '../rollout/stores/port.js'
import type { WindowStats } from '../rollout/traffic-window.js'
import type { RouteDef } from '../route-table.js'
import { type ProgressOptions, progressReport } from './progress.js'

/**
 * What an operator can do to a route, shared by the admin API, the dashboard and (through the
 * API) the CLI: read, set, step, kill, explain. Every change goes through the live store with
 * optimistic concurrency and lands in the audit trail.
 */

/** The ramp: 0 → 10 → 50 → 100 %. */
export const STAGES = [0, 10, 50, 100] as const

/** The next stage above `percent`, or undefined at 100 %. */
export const nextStage = (percent: number) => STAGES.find((s) => s > percent)

export interface OperationsOptions {
  flags: LiveFlags
  audit: AuditTrail
  autoRollback: AutoRollback
  breakers: Pick<NativeBreakers, 'state'>
  nativeRoutes: ReadonlySet<string>
  logger: Logger
  routes: readonly RouteDef[]
  /** Fleet-wide counters; without them the ramp gate and the progress view are unavailable. */
  fleet?: FleetStats
  shadow?: ShadowTraffic
  clock?: () => number
}

export interface ChangeRequest {
  routeId: string
  reason: string
  actor: string
  source: AuditSource
  /** Required for set and step; a kill may go without. */
  expectedVersion?: string
  requestId?: string
  /** Step past a refusing ramp gate; the refusal is recorded in the audit trail with the reason. */
  force?: boolean
}

export interface ChangeResult {
  routeId: string
  from: number
  to: number
  version: string
  audit: AuditEntry
}

export interface RouteStatus {
  id: string
  phase: RouteDef['phase']
  summary: string
  percent: number
  group: string | undefined
  /** The stage name: `0 %`, `10 %`, …, or `custom` between stages. */
  stage: string
  next: number | undefined
  /** Native can be turned on (a handler exists and the route is not stay-legacy). */
  controllable: boolean
  stayLegacy: boolean
  breaker: BreakerState
  hold: Hold | undefined
  traffic: WindowStats
}

export interface ExplainRequest {
  routeId: string
  /** A JWT `sub`; or `clientId` (the `x-client-id` header); or `key`, a route's own key. */
  subject?: string
  clientId?: string
  key?: string
}

const AUDIT_ATTEMPTS = 3

export function adminOperations(opts: OperationsOptions) {
  const { flags, audit, autoRollback, breakers, nativeRoutes, logger } = opts
  const { routes } = opts
  const byId = new Map(routes.map((r) => [r.id, r]))

  function routeOf(routeId: string): RouteDef {
    const def = byId.get(routeId)
    if (!def) throw notFound(`No route ${routeId} in the route table`)
    return def
  }

  function percentOf(table: FlagTable, routeId: string): number {
    return table.routes.get(routeId)?.percent ?? 0
  }

  function checkReason(reason: string): string {
    const trimmed = reason.trim()
    if (trimmed.length < 3 || trimmed.length > 500) {
      throw validationFailed([
        { field: 'reason', message: 'required: 3 to 500 characters saying why' },
      ])
    }
    return trimmed
  }

  async function appendWithRetry(entry: Parameters<AuditTrail['append']>[0]): Promise<AuditEntry> {
    let failure: unknown
    for (let attempt = 0; attempt < AUDIT_ATTEMPTS; attempt++) {
      try {
        return await audit.append(entry)
      } catch (error) {
        failure = error
      }
    }
    // The change is in force: the log line is its record until someone restores the trail.
    logger.error('flag change applied but not recorded in the audit trail', {
      ...entry,
      ...errorFields(failure),
    })
    throw gatewayProblem('audit-failed', {
      detail: `${entry.routeId} is now at ${entry.to} % (version ${entry.version}) but the audit trail could not record it`,
      cause: failure,
    })
  }

  /** Set one route's percentage. */
  async function change(req: ChangeRequest, to: number, auditNote?: string): Promise<ChangeResult> {
    const def = routeOf(req.routeId)
    const checked = checkReason(req.reason)
    // The audit column holds 500 characters: the operator's reason is kept whole.
    const reason = auditNote
      ? `${auditNote.slice(0, Math.max(0, 497 - checked.length))}: ${checked}`
      : checked
    if (def.stayLegacy && to > 0) {
      throw validationFailed([{ field: 'native', message: `must be 0: ${def.id} stays on legacy` }])
    }
    let result: Awaited<ReturnType<LiveFlags['change']>>
    try {
      result = await flags.change({
        percents: { [def.id]: to },
        expectedVersion: req.expectedVersion,
        actor: req.actor,
      })
    } catch (error) {
      throw asProblem(error)
    }
    const from = percentOf(result.previous, def.id)
    const entry = await appendWithRetry({
      actor: req.actor,
      routeId: def.id,
      from,
      to,
      reason,
      source: req.source,
      version: result.table.version,
      requestId: req.requestId,
    })
    return { routeId: def.id, from, to, version: result.table.version, audit: entry }
  }

  /** The ramp gate's verdict for the route's next step, on the fleet's figures. */
  async function gate(routeId: string): Promise<GateVerdict & { from: number; to?: number }> {
    const def = routeOf(routeId)
    if (!opts.fleet) {
      throw gatewayProblem('fleet-figures-unavailable', {
        detail: 'This gateway keeps no fleet-wide counters, so the ramp gate cannot judge',
      })
    }
    const from = percentOf(flags.current(), def.id)
    const settings = autoRollback.settings(def.id)
    const windowMinutes = gateWindowMinutes(settings)
    let figures: Awaited<ReturnType<FleetStats['lastMinutes']>>
    try {
      await opts.fleet.flush()
      figures = await opts.fleet.lastMinutes(def.id, windowMinutes)
    } catch (error) {
      throw gatewayProblem('fleet-figures-unavailable', {
        detail:
          'The fleet counters cannot be read; the gate cannot judge. Retry, or force with a reason.',
        retryAfterSeconds: 5,
        cause: error,
      })
    }
    return {
      ...judgeStep(figures, settings, { fromPercent: from, windowMinutes }),
      from,
      to: nextStage(from),
    }
  }

  return {
    set: change,
    gate,

    /**
     * Up one stage (0 → 10 → 50 → 100); refused at 100 %, and refused by the ramp gate unless
     * forced (the refusal then goes into the audit trail beside the reason).
     */
    async step(
      req: ChangeRequest,
    ): Promise<ChangeResult & { gate?: GateVerdict; forced?: boolean }> {
      const current = percentOf(flags.current(), routeOf(req.routeId).id)
      const to = nextStage(current)
      if (to === undefined) {
        throw gatewayProblem('already-at-last-stage', {
          detail: `${req.routeId} is at ${current} %`,
        })
      }
      checkReason(req.reason)
      let verdict: GateVerdict | undefined
      try {
        verdict = await gate(req.routeId)
      } catch (error) {
        if (!req.force) throw error
      }
      if (verdict && !verdict.ok && !req.force) {
        throw gatewayProblem('ramp-gate-refused', {
          detail: verdict.refusals.map((r) => r.message).join('; '),
          errors: verdict.refusals.map((r) => ({ field: `gate:${r.check}`, message: r.message })),
          extra: {
            refusals: verdict.refusals,
            windowMinutes: verdict.windowMinutes,
            figures: verdict.figures,
          },
        })
      }
      const forced = req.force === true && !verdict?.ok
      const note = forced
        ? `FORCED past the ramp gate (${verdict ? verdict.refusals.map((r) => r.short).join('; ') : 'figures unavailable'})`
        : undefined
      if (forced) {
        logger.warn('ramp gate overridden', {
          route: req.routeId,
          actor: req.actor,
          refusals: verdict?.refusals.map((r) => r.short),
        })
      }
      const result = await change(req, to, note)
      return { ...result, ...(verdict ? { gate: verdict } : {}), forced }
    },

    /** Set a read-only route's shadow percentage (0 switches shadow traffic off). */
    async setShadow(
      req: ChangeRequest,
      shadow: number,
    ): Promise<ChangeResult & { shadow: number }> {
      const def = routeOf(req.routeId)
      const reason = checkReason(req.reason)
      const before = flags.current().routes.get(def.id)?.shadow ?? 0
      let result: Awaited<ReturnType<LiveFlags['change']>>
      try {
        result = await flags.change({
          percents: {},
          shadows: { [def.id]: shadow },
          expectedVersion: req.expectedVersion,
          actor: req.actor,
        })
      } catch (error) {
        throw asProblem(error)
      }
      const percent = percentOf(result.table, def.id)
      const entry = await appendWithRetry({
        actor: req.actor,
        routeId: def.id,
        from: percent,
        to: percent,
        reason: `shadow ${before} % -> ${shadow} %: ${reason}`.slice(0, 500),
        source: req.source,
        version: result.table.version,
        requestId: req.requestId,
      })
      return {
        routeId: def.id,
        from: percent,
        to: percent,
        version: result.table.version,
        audit: entry,
        shadow,
      }
    },

    /** Recent shadow mismatches on this instance (masked), newest first. */
    shadowSamples(routeId?: string) {
      const traffic = opts.shadow
      if (!traffic) return { samples: [], counts: {} }
      return {
        samples: traffic.samples(routeId),
        counts: Object.fromEntries(traffic.counts()),
      }
    },

    /** Record a parity run's outcome (the parity command reports it). */
    async recordParity(routeId: string, report: { passed: number; failed: number; actor: string }) {
      const def = routeOf(routeId)
      if (!opts.fleet) return
      await opts.fleet.store.putNote(
        'parity',
        def.id,
        JSON.stringify({ ...report, at: new Date((opts.clock ?? Date.now)()).toISOString() }),
      )
    },

    /** The strangler progress view (see `progress.ts`). */
    progress(options: ProgressOptions) {
      if (!opts.fleet) {
        throw gatewayProblem('fleet-figures-unavailable')
      }
      return progressReport(
        {
          routes,
          table: flags.current(),
          nativeRoutes,
          fleet: opts.fleet,
          audit,
          holds: (id) => autoRollback.activeHold(id),
          clock: opts.clock ?? Date.now,
        },
        options,
      )
    },

    /** Back to 0 % at once; no version needed, so nothing can hold up a kill. */
    kill(req: ChangeRequest): Promise<ChangeResult> {
      return change(req, 0)
    },

    table() {
      const table = flags.current()
      return {
        source: table.source,
        version: table.version,
        store: flags.status(),
        routes: routes.map((def) => {
          const flag = table.routes.get(def.id)
          return {
            id: def.id,
            native: flag?.percent ?? 0,
            group: flag?.group,
            stayLegacy: def.stayLegacy,
            hasNative: nativeRoutes.has(def.id),
            rollback: autoRollback.settings(def.id),
          }
        }),
      }
    },

    status(): RouteStatus[] {
      const table = flags.current()
      return routes.map((def) => {
        const percent = percentOf(table, def.id)
        return {
          id: def.id,
          phase: def.phase,
          summary: def.summary,
          percent,
          group: table.routes.get(def.id)?.group,
          stage: (STAGES as readonly number[]).includes(percent)
            ? `${percent} %`
            : `custom ${percent} %`,
          next: nextStage(percent),
          controllable: !def.stayLegacy && nativeRoutes.has(def.id),
          stayLegacy: def.stayLegacy,
          breaker: breakers.state(def.id),
          hold: autoRollback.activeHold(def.id),
          traffic: autoRollback.stats(def.id),
        }
      })
    },

    history: (query: Parameters<AuditTrail['list']>[0]) => audit.list(query),

    /** Why a subject gets native or legacy on a route right now (no canary override assumed). */
    explain(req: ExplainRequest) {
      const def = routeOf(req.routeId)
      const subject: Subject | undefined = req.clientId
        ? { value: `client:${req.clientId}`, source: 'client-id' }
        : req.key
          ? { value: req.key, source: 'route-key' }
          : req.subject
            ? { value: req.subject, source: 'jwt' }
            : undefined
      if (!subject) {
        throw validationFailed([
          { field: 'subject', message: 'give subject (a JWT sub), clientId or key' },
        ])
      }
      const table = flags.current()
      const flag = table.routes.get(def.id)
      const breaker = breakers.state(def.id)
      const hold = autoRollback.activeHold(def.id)
      const decision = decideBackend({
        routeId: def.id,
        stayLegacy: def.stayLegacy,
        hasNative: nativeRoutes.has(def.id),
        table,
        subject,
        override: undefined,
        heldOnLegacy: breaker === 'open' ? 'breaker-open' : hold ? 'rolled-back' : undefined,
      })
      const scope = flag?.scope ?? def.id
      const bucket = decision.bucket ?? bucketOf(scope, subject.value)
      const threshold = flag?.basisPoints ?? 0
      return {
        route: def.id,
        subject: subject.value,
        subjectSource: subject.source,
        scope,
        bucket,
        buckets: BUCKETS,
        percent: decision.percent,
        threshold,
        inPercentage: bucket <= threshold,
        backend: decision.backend,
        reason: decision.reason,
        override: 'none (a signed canary override, when sent, wins over all of this)',
        breaker,
        hold: hold ?? null,
        version: table.version,
        explanation: explanation(decision.reason, decision.backend, scope, bucket, threshold, hold),
      }
    },
  }
}

export type AdminOperations = ReturnType<typeof adminOperations>

function explanation(
  reason: string,
  backend: string,
  scope: string,
  bucket: number,
  threshold: number,
  hold: Hold | undefined,
): string {
  const where = `bucket ${bucket} of ${BUCKETS} in scope "${scope}"`
  switch (reason) {
    case 'stay-legacy':
      return 'The route stays on legacy whatever the flags say'
    case 'no-native-handler':
      return 'This build has no native handler for the route, so it is always proxied'
    case 'breaker-open':
      return `The native breaker is open (consecutive native failures): legacy until it probes again; otherwise ${where}`
    case 'rolled-back':
      return `Auto-rollback holds the route on legacy until ${new Date(hold?.until ?? 0).toISOString()}: ${hold?.reason ?? ''}`
    default:
      return `${where} is ${bucket <= threshold ? '≤' : '>'} ${threshold} (the percentage × 100): ${backend}`
  }
}

/** Store and validation failures as problems naming the field at fault. */
export function asProblem(error: unknown): unknown {
  if (error instanceof FlagConflictError) {
    return gatewayProblem('version-conflict', {
      detail: `Expected version ${error.expected}, the table is at ${error.current}: read it again and retry`,
      errors: [{ field: 'version', message: `stale: the current version is ${error.current}` }],
      extra: { currentVersion: error.current },
    })
  }
  if (error instanceof FlagsError) {
    return validationFailed(
      error.problems.map((p) => {
        const at = p.indexOf(': ')
        return at > 0
          ? { field: p.slice(0, at), message: p.slice(at + 2) }
          : { field: '(root)', message: p }
      }),
    )
  }
  if (error instanceof FlagStoreUnavailableError) {
    return gatewayProblem('flag-store-unavailable', {
      detail:
        'The shared flag store cannot be reached; the last good table keeps serving. Retry shortly.',
      cause: error,
    })
  }
  return error
}
