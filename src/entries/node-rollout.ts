import type { Config } from '../config.js'
import type { Logger } from '../observability/log.js'
import type { Metrics } from '../observability/metrics.js'
import type { Db } from '../platform/db/port.js'
import { dbAuditTrail } from '../rollout/audit.js'
import type { FlagRules, FlagTable } from '../rollout/flags.js'
import { flagStoreFromConfig } from '../rollout/stores/from-config.js'
import { redisFleetStore } from '../rollout/stores/redis-fleet.js'
import { upstashFleetStore } from '../rollout/stores/upstash-fleet.js'
import type { IdentityVerifier } from '../types.js'
import { rolloutControl } from './rollout-control.js'

export interface NodeRolloutOptions {
  config: Config
  /** The table read from `FLAGS_FILE`. */
  file: FlagTable
  rules: FlagRules
  logger: Logger
  metrics: Metrics
  /** Hash key of the shared record (one per environment sharing a Redis). */
  storeKey?: string
  /** The database for the audit trail (the entry's own, started lazily). */
  db: Db
  verifier?: IdentityVerifier
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
        prefix: `${opts.storeKey ?? 'bff:flags'}:fleet`,
        onError: () => {},
      })
    : config.UPSTASH_REDIS_REST_URL && config.UPSTASH_REDIS_REST_TOKEN
      ? upstashFleetStore({
          url: config.UPSTASH_REDIS_REST_URL,
          token: config.UPSTASH_REDIS_REST_TOKEN,
          prefix: `${opts.storeKey ?? 'bff:flags'}:fleet`,
        })
      : undefined
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
