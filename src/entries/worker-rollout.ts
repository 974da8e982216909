import { ConfigError } from '../config.js'
import type { Db } from '../platform/db/port.js'
import { type AuditTrail, dbAuditTrail, memoryAuditTrail } from '../rollout/audit.js'
import { upstashFleetFromConfig, workerFlagStore } from '../rollout/stores/worker.js'
import { type RolloutEntryOptions, rolloutControl } from './rollout-control.js'

export interface WorkerRolloutOptions extends RolloutEntryOptions {
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
  const fleetStore = upstashFleetFromConfig(config, { key: opts.storeKey })
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
