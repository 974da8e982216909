import type { Config } from '../../src/config.js'
import type { Logger } from '../../src/observability/log.js'
import type { Db } from '../../src/platform/db/port.js'
import { defineFeature, KiB, open } from '../../src/route-table.js'
import { createDispatcher, type Dispatcher } from './dispatch.js'
import { createScheduledDispatcher, DispatchBody } from './http.js'
import { type SchedulerAuth, schedulerAuth } from './oidc.js'
import { JOBS_PROBLEMS } from './problems.js'
import { buildJobs } from './registry.js'
import type { JobFactory } from './types.js'

export { type CronOutcome, runCron } from './cron.js'
export type { Dispatcher, JobSelection } from './dispatch.js'
export type { RunOutcome } from './runner.js'
export type { Job, JobContext, JobCounts, JobFactory, JobServices } from './types.js'

export interface JobsServices {
  config: Config
  logger: Logger
  db: Db
  /** Test seams by vendor: `toss` for the jobs, `google` for Google's OIDC key set. */
  vendorFetch?: Readonly<Record<string, typeof fetch>>
  /** Test seam: a registry other than `JOB_FACTORIES`. */
  jobFactories?: readonly JobFactory[]
}

/** The registered jobs of this runtime behind one dispatcher (`holderPrefix` names the runtime). */
export function jobDispatcher(services: JobsServices, holderPrefix = 'gw'): Dispatcher {
  return createDispatcher({
    jobs: buildJobs(services, services.jobFactories),
    db: services.db,
    logger: services.logger,
    holder: `${holderPrefix}:${crypto.randomUUID().slice(0, 8)}`,
  })
}

interface SchedulerDeps {
  dispatcher: Dispatcher
  auth: SchedulerAuth
}

/**
 * Cloud Scheduler's authentication, when its audience and service account are configured
 * (without them nothing could call the route natively, so it stays on legacy).
 */
export function schedulerDeps(services: JobsServices): SchedulerDeps | undefined {
  const { config } = services
  if (!config.SCHEDULER_AUDIENCE || !config.SCHEDULER_SERVICE_ACCOUNT) return undefined
  const googleFetch = services.vendorFetch?.google
  return {
    dispatcher: jobDispatcher(services),
    auth: schedulerAuth({
      mode: config.SCHEDULER_AUTH,
      audience: config.SCHEDULER_AUDIENCE,
      serviceAccount: config.SCHEDULER_SERVICE_ACCOUNT,
      jwksUrl: config.GOOGLE_OIDC_JWKS_URL,
      ...(googleFetch ? { fetchImpl: googleFetch } : {}),
    }),
  }
}

/**
 * Scheduled jobs: Cloud Scheduler (Cloud Run) posts to `scheduled-dispatcher`; Workers cron
 * triggers reach the same dispatcher through the Workers entry's `scheduled` handler
 * (`runCron`). Jobs are registered in `registry.ts`.
 */
export const jobs = defineFeature({
  name: 'jobs',
  problems: [JOBS_PROBLEMS],
  setup: ({ config, logger, db, vendorFetch }) =>
    db ? schedulerDeps({ config, logger, db, ...(vendorFetch ? { vendorFetch } : {}) }) : undefined,
  routes: [
    {
      id: 'scheduled-dispatcher',
      phase: 3,
      summary: 'Scheduled jobs (Cloud Scheduler / cron)',
      aliases: ['/api/v1/scheduled/dispatch'],
      // Cloud Scheduler sends a Google OIDC token, not a Supabase JWT: the handler verifies it
      // (oidc.ts); the legacy function checks its own caller.
      // Never replayed: the next tick runs the jobs again, and legacy would not accept the token.
      policy: { replay: 'never', auth: 'none', rateLimit: open(60), bodyLimitBytes: 4 * KiB },
      native: createScheduledDispatcher,
      api: [{ method: 'POST', body: DispatchBody.optional(), otherStatuses: [500] }],
    },
  ],
})
