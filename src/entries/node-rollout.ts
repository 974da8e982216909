import type { Db } from '../platform/db/port.js'
import { dbAuditTrail } from '../rollout/audit.js'
import { flagStoreFromConfig } from '../rollout/stores/from-config.js'
import { redisFleetStore } from '../rollout/stores/redis-fleet.js'
import { fleetPrefix, upstashFleetFromConfig } from '../rollout/stores/worker.js'
import { type RolloutEntryOptions, rolloutControl } from './rollout-control.js'

export interface NodeRolloutOptions extends RolloutEntryOptions {
  /** The database for the audit trail (the entry's own, started lazily). */
  db: Db
}

/**
 * Live flags, auto-rollback and the admin mount for the Node entry, started and ready to pass
 * to `createApp` (`flags`, `rollout`, `mount`, `readiness`).
 * @throws ConfigError when production has no shared flag store.
 */
export async function startNodeRollout(opts: NodeRolloutOptions) {
  const { config, logger } = opts
  let storeErrorLogged = false
  const store = flagStoreFromConfig(config, {
    key: opts.storeKey,
    // ioredis reports every failed reconnect; LiveFlags already logs the outage once.
    onError: (error) => {
      if (storeErrorLogged) return
      storeErrorLogged = true
      logger.warn('flag store connection error', { error: error.message })
    },
  })
  const fleetStore = config.REDIS_URL
    ? redisFleetStore({
        url: config.REDIS_URL,
        prefix: fleetPrefix(opts.storeKey),
        onError: () => {},
      })
    : upstashFleetFromConfig(config, { key: opts.storeKey })
  const control = rolloutControl({ ...opts, store, audit: dbAuditTrail(opts.db), fleetStore })
  await control.flags.start()
  control.fleet.start()
  return {
    ...control,
    async close() {
      await control.fleet.stop()
      await control.fleet.store.close()
      await control.flags.stop()
    },
  }
}
