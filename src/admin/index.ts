import type { Hono } from 'hono'
import type { AppInternals } from '../app.js'
import type { Logger } from '../observability/log.js'
import type { AuditTrail } from '../rollout/audit.js'
import type { AutoRollback } from '../rollout/auto-rollback.js'
import type { FleetStats } from '../rollout/fleet-stats.js'
import type { LiveFlags } from '../rollout/live-flags.js'
import type { RouteDef } from '../route-table.js'
import type { AppEnv, IdentityVerifier } from '../types.js'
import { adminApi } from './api.js'
import { adminAuth } from './auth.js'
import { adminDashboard } from './dashboard.js'
import { adminGuard } from './guard.js'
import { adminOperations } from './operations.js'

export {
  type AuditEntry,
  type AuditTrail,
  dbAuditTrail,
  type NewAuditEntry,
} from '../rollout/audit.js'
export { nextStage, STAGES } from './operations.js'

export interface MountAdminOptions {
  flags: LiveFlags
  audit: AuditTrail
  autoRollback: AutoRollback
  /** `BFF_ADMIN_TOKEN`; without it (and without `verifier`) every admin request is refused. */
  adminToken: string | undefined
  /** Verifies ops users' JWTs (`app_metadata.role` = `ops`). */
  verifier?: IdentityVerifier
  /** Secure cookies: true outside development. */
  secureCookies: boolean
  logger: Logger
  routes?: readonly RouteDef[]
  /** Fleet-wide counters: the ramp gate, the dashboard figures and the progress view. */
  fleet?: FleetStats
  clock?: () => number
  /** The platform's client-IP header, for the admin rate limit and lockout. */
  trustedIpHeader?: string
}

/**
 * The admin API (`/admin/api`) and dashboard (`/admin`), as `Deps.mount`.
 *
 * @example
 * const app = createApp({ ...deps, flags, rollout: autoRollback,
 *   mount: mountAdmin({ flags, audit, autoRollback, adminToken: config.BFF_ADMIN_TOKEN,
 *     secureCookies: !config.isDevelopment, logger }) })
 */
export function mountAdmin(opts: MountAdminOptions) {
  return function mountAdmin(app: Hono<AppEnv>, internals: AppInternals): void {
    const auth = adminAuth({ token: opts.adminToken, verifier: opts.verifier, clock: opts.clock })
    const ops = adminOperations({
      flags: opts.flags,
      audit: opts.audit,
      autoRollback: opts.autoRollback,
      breakers: internals.breakers,
      nativeRoutes: internals.nativeRoutes,
      logger: opts.logger,
      routes: opts.routes ?? internals.routes,
      fleet: opts.fleet,
      shadow: internals.shadow,
      clock: opts.clock,
    })
    if (!opts.adminToken && !opts.verifier) {
      opts.logger.warn('admin API and dashboard disabled: set BFF_ADMIN_TOKEN')
    }
    const guard = adminGuard({ trustedIpHeader: opts.trustedIpHeader, clock: opts.clock })
    app.use('/admin', guard)
    app.use('/admin/*', guard)
    app.route('/admin/api', adminApi(ops, auth))
    app.route('/admin', adminDashboard(ops, auth, { secureCookies: opts.secureCookies }))
  }
}
