import { type Config, ConfigError } from '../config.js'
import type { Logger } from '../observability/log.js'
import type { Metrics } from '../observability/metrics.js'
import type { Db } from '../platform/db/port.js'
import { type AuditTrail, dbAuditTrail, memoryAuditTrail } from '../rollout/audit.js'
import type { FlagRules, FlagTable } from '../rollout/flags.js'
import { upstashFleetStore } from '../rollout/stores/upstash-fleet.js'
import { workerFlagStore } from '../rollout/stores/worker.js'
import type { IdentityVerifier } from '../types.js'
import { rolloutControl } from './rollout-control.js'

export interface WorkerRolloutOptions {
  config: Config
  file: FlagTable
  rules: FlagRules
  logger: Logger
  metrics: Metrics
  storeKey?: string
  verifier?: IdentityVerifier
  /** The entry's database (PostgREST); the trail is kept in memory without one, outside production. */
  db?: Db
}

/**
 * Live flags, auto-rollback and the admin mount for the Workers entry. Nothing runs between
 * requests on Workers, so the table refreshes on use: call `refreshIfDue()` on each request and
 * hand its promise to `ctx.waitUntil`. The audit trail goes through supabase-js `rpc()`.
 * @throws ConfigError when production has no Upstash store or no Supabase for the trail.
 */
export function workerRollout(opts: WorkerRolloutOptions) {
  const { config } = opts
  const store = workerFlagStore(config, { key: opts.storeKey })
  let audit: AuditTrail
  if (opts.db) {
    audit = dbAuditTrail(opts.db)
  } else if (config.isProduction) {
    throw new ConfigError(
      'SUPABASE_SERVICE_ROLE_KEY',
      'set (with SUPABASE_URL) in production: the flag audit trail lives in the database',
    )
  } else {
    audit = memoryAuditTrail()
  }
  const fleetStore =
    config.UPSTASH_REDIS_REST_URL && config.UPSTASH_REDIS_REST_TOKEN
      ? upstashFleetStore({
          url: config.UPSTASH_REDIS_REST_URL,
          token: config.UPSTASH_REDIS_REST_TOKEN,
          prefix: `${opts.storeKey ?? 'bff:flags'}:fleet`,
        })
      : undefined
  const control = rolloutControl({ ...opts, store, audit, fleetStore })
  return {
    ...control,
    /** The table's refresh and the fleet counters' flush, when due (for `ctx.waitUntil`). */
    refreshIfDue: () => {
      const due = [control.flags.refreshIfDue(), control.fleet.flushIfDue()].filter(Boolean)
      return due.length ? Promise.all(due).then(() => {}) : undefined
    },
  }
}
