/**
 * The strangler progress view: per function of the plan, how far it has moved to native, on
 * the fleet's figures. A route is `removable` (the plan's phase 4: decommission the Edge
 * Function) when native has served 100 % for `removableDays` days with no legacy request and no
 * fallback in that time.
 */
import type { AuditTrail } from '../rollout/audit.js'
import type { FlagTable } from '../rollout/flags.js'
import type { Figures, FleetStats } from '../rollout/fleet-stats.js'
import type { Hold } from '../rollout/overlay.js'
import type { RouteDef } from '../route-table.js'

export interface ProgressOptions {
  /** Days at 100 % without legacy or fallback traffic before a route is removable. */
  removableDays?: number
}

export const DEFAULT_REMOVABLE_DAYS = 14

export interface Share {
  requests: number
  native: number
  legacy: number
  fallback: number
}

export interface ChartPoint {
  /** Start of the hour, epoch ms. */
  at: number
  nativeErrorRate: number | null
  legacyErrorRate: number | null
  nativeP95Ms: number | null
  legacyP95Ms: number | null
}

export interface RouteProgress {
  id: string
  phase: RouteDef['phase']
  summary: string
  /** `legacy only`, `native-capable`, `ramping`, `100 %`, `removable`, `stays legacy`. */
  state: string
  nativeCapable: boolean
  percent: number
  shadowPercent: number
  share24h: Share
  share7d: Share
  parity: { at: string; passed: number; failed: number; actor: string } | null
  shadow24h: Figures['shadow']
  lastChange: { at: string; actor: string; from: number; to: number; reason: string } | null
  removable: boolean
  /** Why not removable (or since when it qualifies). */
  removableNote: string
  hold: Hold | undefined
  chart: ChartPoint[]
}

export interface ProgressReport {
  generatedAt: string
  removableDays: number
  summary: {
    functions: number
    nativeCapable: number
    ramping: number
    atFull: number
    removable: number
  }
  routes: RouteProgress[]
}

export interface ProgressSources {
  routes: readonly RouteDef[]
  table: FlagTable
  nativeRoutes: ReadonlySet<string>
  fleet: FleetStats
  audit: AuditTrail
  holds: (routeId: string) => Hold | undefined
  clock: () => number
}

const shareOf = (f: Figures): Share => {
  const native = f.native.requests - f.fallback
  return {
    requests: native + f.legacy.requests + f.fallback,
    native,
    legacy: f.legacy.requests,
    fallback: f.fallback,
  }
}

const DAY = 86_400_000

export async function progressReport(
  src: ProgressSources,
  { removableDays = DEFAULT_REMOVABLE_DAYS }: ProgressOptions,
): Promise<ProgressReport> {
  const now = src.clock()
  await src.fleet.flush()
  const parityNotes = await src.fleet.store.notes('parity')
  // The plan's functions: everything in the table with a phase (stay-legacy ones are not moving).
  const planned = src.routes.filter((r) => typeof r.phase === 'number')
  const routes = await Promise.all(
    planned.map(async (def): Promise<RouteProgress> => {
      const flag = src.table.routes.get(def.id)
      const percent = flag?.percent ?? 0
      const nativeCapable = src.nativeRoutes.has(def.id)
      const [hours, days, entries] = await Promise.all([
        src.fleet.series(def.id, 'h', 24 * 7),
        src.fleet.series(def.id, 'd', removableDays),
        src.audit.list({ routeId: def.id, limit: 1 }),
      ])
      const last24 = hours.points.slice(-24)
      const sum24 = last24.reduce(
        (acc, p) => ({
          native: acc.native + p.native.requests - p.fallback,
          legacy: acc.legacy + p.legacy.requests,
          fallback: acc.fallback + p.fallback,
          match: acc.match + p.shadow.match,
          mismatch: acc.mismatch + p.shadow.mismatch,
          error: acc.error + p.shadow.error,
          dropped: acc.dropped + p.shadow.dropped,
        }),
        { native: 0, legacy: 0, fallback: 0, match: 0, mismatch: 0, error: 0, dropped: 0 },
      )
      const last = entries[0]
      const lastChange = last
        ? { at: last.at, actor: last.actor, from: last.from, to: last.to, reason: last.reason }
        : null
      const hold = src.holds(def.id)

      // Removable: at 100 % for the whole window, and the fleet saw native only in it.
      let removable = false
      let removableNote: string
      const window = shareOf(days.total)
      const since = last && last.to === 100 ? Date.parse(last.at) : undefined
      const oldestDay = days.points[0]
      const servedFromStart = (oldestDay?.native.requests ?? 0) > 0
      if (!nativeCapable) removableNote = 'no native handler in this build'
      else if (percent < 100) removableNote = `at ${percent} %, not 100 %`
      else if (since !== undefined && now - since < removableDays * DAY) {
        const left = Math.ceil((since + removableDays * DAY - now) / DAY)
        removableNote = `at 100 % since ${new Date(since).toISOString().slice(0, 10)}: ${left} more day(s)`
      } else if (since === undefined && !servedFromStart) {
        removableNote = `no native traffic recorded ${removableDays} days ago yet`
      } else if (window.legacy > 0 || window.fallback > 0) {
        removableNote = `${window.legacy} legacy and ${window.fallback} fallback requests in the last ${removableDays} days`
      } else if (window.native === 0) {
        removableNote = `no traffic in the last ${removableDays} days`
      } else if (hold) {
        removableNote = 'held on legacy by auto-rollback'
      } else {
        removable = true
        removableNote = `native only for ${removableDays} days: the Edge Function can be removed`
      }
      const state = def.stayLegacy
        ? 'stays legacy'
        : removable
          ? 'removable'
          : percent >= 100
            ? '100 %'
            : percent > 0
              ? 'ramping'
              : nativeCapable
                ? 'native-capable'
                : 'legacy only'
      const parityText = parityNotes[def.id]
      return {
        id: def.id,
        phase: def.phase,
        summary: def.summary,
        state,
        nativeCapable,
        percent,
        shadowPercent: flag?.shadow ?? 0,
        share24h: {
          requests: sum24.native + sum24.legacy + sum24.fallback,
          native: sum24.native,
          legacy: sum24.legacy,
          fallback: sum24.fallback,
        },
        share7d: shareOf(hours.total),
        parity: parityText ? (JSON.parse(parityText) as RouteProgress['parity']) : null,
        shadow24h: {
          match: sum24.match,
          mismatch: sum24.mismatch,
          error: sum24.error,
          dropped: sum24.dropped,
        },
        lastChange,
        removable,
        removableNote,
        hold,
        chart: hours.points.map((p) => ({
          at: p.from,
          nativeErrorRate: p.native.requests ? p.native.errorRate : null,
          legacyErrorRate: p.legacy.requests ? p.legacy.errorRate : null,
          nativeP95Ms: finite(p.native.p95Ms),
          legacyP95Ms: finite(p.legacy.p95Ms),
        })),
      }
    }),
  )
  return {
    generatedAt: new Date(now).toISOString(),
    removableDays,
    summary: {
      functions: routes.length,
      nativeCapable: routes.filter((r) => r.nativeCapable).length,
      ramping: routes.filter((r) => r.percent > 0 && r.percent < 100).length,
      atFull: routes.filter((r) => r.percent >= 100).length,
      removable: routes.filter((r) => r.removable).length,
    },
    routes,
  }
}

const finite = (n: number | undefined) => (n === undefined ? null : Number.isFinite(n) ? n : 30_000)
