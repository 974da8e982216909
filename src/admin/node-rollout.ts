import type { Config } from '../config.js'
import type { Logger } from '../observability/log.js'
import type { Metrics } from '../observability/metrics.js'
import { createDb } from '../platform/db/create.js'
import type { Db } from '../platform/db/port.js'
import { AutoRollback } from '../rollout/auto-rollback.js'
import type { FlagRules, FlagTable } from '../rollout/flags.js'
import { LiveFlags } from '../rollout/live-flags.js'
import { flagStoreFromConfig } from '../rollout/stores/from-config.js'
import type { IdentityVerifier } from '../types.js'
import { dbAuditTrail } from './audit.js'
import { mountAdmin } from './index.js'

export interface NodeRolloutOptions {
  config: Config
  /** The table read from `FLAGS_FILE`. */
  file: FlagTable
  rules: FlagRules
  logger: Logger
  metrics: Metrics
  /** Hash key of the shared record (one per environment sharing a Redis). */
  storeKey?: string
  /** The database for the audit trail; when absent, built from the config (PGlite by default) on first use. */
  db?: Db
  verifier?: IdentityVerifier
}

/**
 * Live flags, auto-rollback and the admin mount for the Node entry, started and ready to pass
 * to `createApp` (`flags`, `rollout`, `mount`, `readiness`).
 * @throws ConfigError when production has no shared flag store.
 */
export async function startNodeRollout(opts: NodeRolloutOptions) {
  const { config, logger, metrics } = opts
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
  const flags = new LiveFlags({
    file: opts.file,
    rules: opts.rules,
    store,
    refreshMs: config.FLAGS_REFRESH_MS,
    logger,
    metrics,
  })
  // Opened on the first audit call, not at start: most processes never change a flag, and
  // embedded PGlite costs seconds to open.
  let opened: Promise<Db> | undefined
  const db = () => {
    opened ??= (opts.db ? Promise.resolve(opts.db) : createDb(config)).catch((error: unknown) => {
      opened = undefined
      throw error
    })
    return opened
  }
  const audit = dbAuditTrail({ call: async (fn, args) => (await db()).call(fn, args) })
  const autoRollback = new AutoRollback({ flags, audit, logger, metrics })
  await flags.start()
  return {
    flags,
    autoRollback,
    mount: mountAdmin({
      flags,
      audit,
      autoRollback,
      adminToken: config.BFF_ADMIN_TOKEN,
      verifier: opts.verifier,
      secureCookies: !config.isDevelopment,
      logger,
    }),
    readiness: { 'flag-store': { probe: flags.readiness, degradedOnly: true as const } },
    async close() {
      await flags.stop()
      if (!opts.db && opened) await (await opened.catch(() => undefined))?.close()
    },
  }
}
