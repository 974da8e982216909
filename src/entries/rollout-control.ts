import { mountAdmin } from '../admin/index.js'
import type { Config } from '../config.js'
import type { Logger } from '../observability/log.js'
import type { Metrics } from '../observability/metrics.js'
import type { AuditTrail } from '../rollout/audit.js'
import { AutoRollback } from '../rollout/auto-rollback.js'
import type { FlagRules, FlagTable } from '../rollout/flags.js'
import { FleetStats, type FleetStatsStore, memoryFleetStore } from '../rollout/fleet-stats.js'
import { LiveFlags } from '../rollout/live-flags.js'
import { ShadowTraffic } from '../rollout/shadow.js'
import type { FlagStore } from '../rollout/stores/port.js'
import type { IdentityVerifier, RolloutHooks } from '../types.js'

/** What both entries pass to start rollout control (each adds its database). */
export interface RolloutEntryOptions {
  config: Config
  /** The table read from `FLAGS_FILE` (Node) or bundled (Workers). */
  file: FlagTable
  rules: FlagRules
  logger: Logger
  metrics: Metrics
  /** Hash key of the shared record (one per environment sharing a store). */
  storeKey?: string
  verifier?: IdentityVerifier
}

export interface RolloutControlOptions extends Omit<RolloutEntryOptions, 'storeKey'> {
  store: FlagStore
  audit: AuditTrail
  /** Fleet-wide counters (Redis, Upstash); in-process when absent. */
  fleetStore?: FleetStatsStore
}

/**
 * The runtime-independent part of rollout control: the live flag table over the file, the
 * auto-rollback hooks, the admin mount and the flag store's readiness check (degraded only: an
 * instance rides out a store outage on its last good table). The entries add their store and
 * audit trail.
 */
export function rolloutControl({
  config,
  file,
  rules,
  store,
  audit,
  logger,
  metrics,
  verifier,
  fleetStore = memoryFleetStore(),
}: RolloutControlOptions) {
  const flags = new LiveFlags({
    file,
    rules,
    store,
    refreshMs: config.FLAGS_REFRESH_MS,
    logger,
    metrics,
  })
  const autoRollback = new AutoRollback({ flags, audit, logger, metrics })
  const fleet = new FleetStats({
    store: fleetStore,
    onError: (error) =>
      logger.warn('fleet counters not written; kept for the next flush', {
        store: fleetStore.kind,
        error: error instanceof Error ? error.message : String(error),
      }),
  })
  const shadow = new ShadowTraffic({
    metrics,
    onResult: fleet.shadow,
    onError: (route, error) =>
      logger.warn('shadow call failed', {
        route,
        error: error instanceof Error ? error.message : String(error),
      }),
  })
  // What the app calls on every routed request: auto-rollback's window and the fleet counters.
  const hooks: RolloutHooks = {
    hold: autoRollback.hold,
    observe: (sample) => {
      autoRollback.observe(sample)
      fleet.observe(sample)
    },
  }
  return {
    flags,
    autoRollback,
    fleet,
    shadow,
    hooks,
    mount: mountAdmin({
      flags,
      audit,
      autoRollback,
      fleet,
      adminToken: config.BFF_ADMIN_TOKEN,
      verifier,
      secureCookies: !config.isDevelopment,
      logger,
      trustedIpHeader: config.TRUSTED_IP_HEADER,
    }),
    readiness: { 'flag-store': { probe: flags.readiness, degradedOnly: true as const } },
  }
}
