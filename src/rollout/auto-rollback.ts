import { errorFields, type Logger } from '../observability/log.js'
import type { Metrics } from '../observability/metrics.js'
import type { RequestSample, RolloutHooks } from '../types.js'
import type { AuditTrail } from './audit.js'
import { type RollbackSettings, RollbackSettingsSchema } from './flags.js'
import type { LiveFlags } from './live-flags.js'
import type { Hold } from './overlay.js'
import { TrafficWindow, type WindowStats } from './traffic-window.js'

/**
 * Auto-rollback (README, "Auto-rollback"): per route, native's error rate and p95 over a window
 * are compared with legacy's; past the route's threshold (with a minimum sample) the route is
 * held on legacy for a cool-down. The hold is shared through the flag store, so every instance
 * follows the first one that tripped, and only the instance that placed the hold (and the one
 * that releases it) writes to the audit trail.
 *
 * The flag itself is not changed: when the cool-down ends the route resumes at the percentage
 * in force then, and a route that still fails rolls back again.
 */

export interface AutoRollbackOptions {
  flags: LiveFlags
  audit: Pick<AuditTrail, 'append'>
  logger: Logger
  metrics?: Metrics
  clock?: () => number
  /** A route's window is judged at most this often. */
  evaluateEveryMs?: number
}

/** Settings of a route without a `rollback` object in flags.json. */
export const DEFAULT_ROLLBACK: RollbackSettings = RollbackSettingsSchema.parse({})

const pct = (rate: number) => `${(rate * 100).toFixed(1)}%`

/**
 * Why native should roll back given a window's numbers, or undefined.
 * @example rollbackVerdict(traffic.stats('payment-checkout', 60), DEFAULT_ROLLBACK)
 */
export function rollbackVerdict(stats: WindowStats, s: RollbackSettings): string | undefined {
  const { native, legacy } = stats
  if (native.requests < s.minSamples) return undefined
  const limit = legacy.errorRate * s.errorRateRatio
  if (native.errorRate > s.minErrorRate && native.errorRate > limit) {
    return (
      `native error rate ${pct(native.errorRate)} vs legacy ${pct(legacy.errorRate)} ` +
      `(limit ×${s.errorRateRatio}, floor ${pct(s.minErrorRate)}) over ${stats.seconds} s, ` +
      `${native.requests} native requests`
    )
  }
  const nativeP95 = native.p95Ms
  const legacyP95 = legacy.p95Ms
  if (
    legacy.requests >= s.minSamples &&
    nativeP95 !== undefined &&
    legacyP95 !== undefined &&
    nativeP95 > s.minLatencyMs &&
    nativeP95 > legacyP95 * s.latencyRatio
  ) {
    return (
      `native p95 ${nativeP95} ms vs legacy ${legacyP95} ms (limit ×${s.latencyRatio}) ` +
      `over ${stats.seconds} s, ${native.requests} native requests`
    )
  }
  return undefined
}

interface LocalHold {
  hold: Hold
  /** `shared`: this instance placed it in the store; `other`: another instance had; `local`: the store failed. */
  placement: 'pending' | 'shared' | 'other' | 'local'
}

export class AutoRollback implements RolloutHooks {
  readonly traffic: TrafficWindow
  private readonly local = new Map<string, LocalHold>()
  private readonly lastEvaluated = new Map<string, number>()
  private readonly releasing = new Set<string>()
  private readonly clock: () => number
  private readonly evaluateEveryMs: number
  private readonly counters

  constructor(private readonly opts: AutoRollbackOptions) {
    this.clock = opts.clock ?? Date.now
    this.evaluateEveryMs = opts.evaluateEveryMs ?? 1_000
    this.traffic = new TrafficWindow(this.clock)
    const m = opts.metrics
    this.counters = m && {
      rollbacks: m.counter('bff_auto_rollbacks_total', 'Routes held on legacy by auto-rollback', [
        'route',
      ]),
      active: m.gauge(
        'bff_auto_rollback_active',
        'Route held on legacy by auto-rollback (1) or not (0)',
        ['route'],
      ),
    }
    opts.flags.subscribe(() => void this.releaseExpired())
  }

  /** The route's settings: its `rollback` object in flags.json, else the defaults. */
  settings(routeId: string): RollbackSettings {
    return this.opts.flags.current().routes.get(routeId)?.rollback ?? DEFAULT_ROLLBACK
  }

  /** The hold in force for a route (this instance's or a shared one), if any. */
  activeHold(routeId: string): Hold | undefined {
    const now = this.clock()
    const shared = this.opts.flags.holds().get(routeId)
    if (shared && shared.until > now) return shared
    const local = this.local.get(routeId)
    if (local && local.hold.until > now) return local.hold
    return undefined
  }

  /** Recent traffic of a route over its own window. */
  stats(routeId: string): WindowStats {
    return this.traffic.stats(routeId, this.settings(routeId).windowSeconds)
  }

  // Arrow properties: the app takes these two off the object (`deps.rollout?.observe`).
  readonly hold = (routeId: string): 'rolled-back' | undefined =>
    this.activeHold(routeId) ? 'rolled-back' : undefined

  readonly observe = (sample: RequestSample): void => {
    const { routeId } = sample
    this.traffic.record(sample)
    const flag = this.opts.flags.current().routes.get(routeId)
    if (!flag || flag.percent === 0 || sample.backend === 'legacy') return
    const settings = flag.rollback ?? DEFAULT_ROLLBACK
    if (!settings.enabled || this.activeHold(routeId)) return
    const now = this.clock()
    if (now - (this.lastEvaluated.get(routeId) ?? 0) < this.evaluateEveryMs) return
    this.lastEvaluated.set(routeId, now)
    const reason = rollbackVerdict(this.traffic.stats(routeId, settings.windowSeconds), settings)
    if (reason) this.trip(routeId, flag.percent, reason, settings)
  }

  /** Release holds whose cool-down is over (run after each flag refresh). */
  async releaseExpired(): Promise<void> {
    const now = this.clock()
    for (const [routeId, local] of this.local) {
      if (local.hold.until > now || local.placement === 'pending') continue
      this.local.delete(routeId)
      // A hold the store never got has no shared copy to release: record its end here.
      if (local.placement === 'local') await this.recordRecovery(local.hold)
    }
    for (const [routeId, shared] of this.opts.flags.holds()) {
      if (shared.until > now || this.releasing.has(routeId)) continue
      this.releasing.add(routeId)
      try {
        if (await this.opts.flags.store.releaseHold(routeId, shared.text))
          await this.recordRecovery(shared)
      } catch (error) {
        this.opts.logger.warn('auto-rollback hold not released yet', {
          route: routeId,
          ...errorFields(error),
        })
      } finally {
        this.releasing.delete(routeId)
      }
    }
  }

  private trip(routeId: string, from: number, reason: string, settings: RollbackSettings): void {
    const now = this.clock()
    const hold: Hold = {
      routeId,
      since: now,
      until: now + settings.cooldownSeconds * 1000,
      from,
      reason,
    }
    const local: LocalHold = { hold, placement: 'pending' }
    this.local.set(routeId, local)
    this.traffic.reset(routeId)
    this.counters?.rollbacks.inc({ route: routeId })
    this.counters?.active.set({ route: routeId }, 1)
    this.opts.logger.warn('auto-rollback: route held on legacy', {
      route: routeId,
      from,
      cooldownSeconds: settings.cooldownSeconds,
      reason,
    })
    void this.share(local)
  }

  private async share(local: LocalHold): Promise<void> {
    const { hold } = local
    try {
      const placed = await this.opts.flags.store.placeHold(
        hold.routeId,
        JSON.stringify(hold),
        hold.until,
        hold.since,
      )
      local.placement = placed ? 'shared' : 'other'
      // Pick the shared hold up now rather than at the next tick.
      if (placed) await this.opts.flags.refresh()
    } catch (error) {
      local.placement = 'local'
      this.opts.logger.error('auto-rollback hold not shared: this instance holds alone', {
        route: hold.routeId,
        ...errorFields(error),
      })
    }
    if (local.placement === 'other') return
    await this.record({
      routeId: hold.routeId,
      from: hold.from,
      to: 0,
      reason: `auto-rollback for ${Math.round((hold.until - hold.since) / 1000)} s: ${hold.reason}`,
    })
  }

  private async recordRecovery(hold: Hold): Promise<void> {
    this.counters?.active.set({ route: hold.routeId }, 0)
    const to = this.opts.flags.current().routes.get(hold.routeId)?.percent ?? 0
    this.opts.logger.info('auto-rollback over: route resumes', { route: hold.routeId, percent: to })
    await this.record({
      routeId: hold.routeId,
      from: 0,
      to,
      reason: `cool-down over after auto-rollback (${hold.reason})`,
    })
  }

  private async record(change: {
    routeId: string
    from: number
    to: number
    reason: string
  }): Promise<void> {
    try {
      await this.opts.audit.append({
        ...change,
        actor: 'auto-rollback',
        source: 'auto-rollback',
        version: this.opts.flags.current().version,
        reason: change.reason.slice(0, 500),
      })
    } catch (error) {
      this.opts.logger.error('auto-rollback not recorded in the audit trail', {
        route: change.routeId,
        ...errorFields(error),
      })
    }
  }
}
