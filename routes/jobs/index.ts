import type { Config } from '../../src/config.js'
import type { Logger } from '../../src/observability/log.js'
import type { Db } from '../../src/platform/db/port.js'
import type { FlagTable } from '../../src/rollout/flags.js'
import type { NativeHandler } from '../../src/types.js'
import { createDispatcher, type Dispatcher } from './dispatch.js'
import { createScheduledDispatcher } from './http.js'
import { schedulerAuth } from './oidc.js'
import { buildJobs } from './registry.js'
import type { RunOutcome } from './runner.js'
import type { JobFactory } from './types.js'

export type { Dispatcher } from './dispatch.js'
export type { RunOutcome } from './runner.js'
export type { Job, JobContext, JobCounts, JobFactory, JobServices } from './types.js'

export const ROUTE_ID = 'scheduled-dispatcher'

export interface JobsServices {
  config: Config
  logger: Logger
  db: Db
  tossFetch?: typeof fetch
  /** Test seam: Google's key set fetched from a stand-in. */
  googleFetch?: typeof fetch
  /** Test seam: a registry other than `JOB_FACTORIES`. */
  jobFactories?: readonly JobFactory[]
}

export function jobDispatcher(services: JobsServices, holderPrefix = 'gw'): Dispatcher {
  const jobs = buildJobs(services, services.jobFactories)
  return createDispatcher({
    jobs,
    db: services.db,
    logger: services.logger,
    holder: `${holderPrefix}:${crypto.randomUUID().slice(0, 8)}`,
  })
}

/**
 * The `scheduled-dispatcher` handler, when Cloud Scheduler's audience and service account are
 * configured (without them nothing could call it, so the route stays on legacy).
 */
export function createSchedulerRoute(services: JobsServices): NativeHandler | undefined {
  const { config } = services
  if (!config.SCHEDULER_AUDIENCE || !config.SCHEDULER_SERVICE_ACCOUNT) return undefined
  return createScheduledDispatcher({
    dispatcher: jobDispatcher(services),
    auth: schedulerAuth({
      mode: config.SCHEDULER_AUTH,
      audience: config.SCHEDULER_AUDIENCE,
      serviceAccount: config.SCHEDULER_SERVICE_ACCOUNT,
      jwksUrl: config.GOOGLE_OIDC_JWKS_URL,
      ...(services.googleFetch ? { fetchImpl: services.googleFetch } : {}),
    }),
  })
}

export type CronOutcome =
  | { backend: 'native'; runs: RunOutcome[] }
  | { backend: 'legacy'; status: number }
  | { backend: 'none'; reason: string }

/**
 * A Workers cron trigger. The `scheduled-dispatcher` flag decides, like for an HTTP trigger,
 * whether this tick runs natively (the jobs of `cron`) or goes to the legacy function
 * (`POST <functions>/scheduled-dispatcher {"cron"}` with the service-role key). At 0 % with no
 * legacy credentials nothing runs, and that is logged.
 */
export async function runCron({
  dispatcher,
  cron,
  flags,
  config,
  logger,
  legacyFetch = fetch,
  random = Math.random,
}: {
  dispatcher: Dispatcher | undefined
  cron: string
  flags: FlagTable
  config: Config
  logger: Logger
  legacyFetch?: typeof fetch
  random?: () => number
}): Promise<CronOutcome> {
  const log = logger.child({ component: 'cron', cron })
  const basisPoints = flags.routes.get(ROUTE_ID)?.basisPoints ?? 0
  if (dispatcher && random() * 10_000 < basisPoints) {
    const runs = await dispatcher.dispatch({ cron }, 'cron')
    log.info('cron tick ran natively', {
      runs: runs.map((r) => ({ job: r.job, status: r.status, runId: r.runId })),
    })
    return { backend: 'native', runs }
  }
  if (!config.SUPABASE_SERVICE_ROLE_KEY) {
    log.warn('cron tick not run: native is off and no service-role key for legacy')
    return { backend: 'none', reason: 'no-legacy-credentials' }
  }
  const response = await legacyFetch(`${config.legacyFunctionsUrl}/${ROUTE_ID}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${config.SUPABASE_SERVICE_ROLE_KEY}`,
      apikey: config.SUPABASE_SERVICE_ROLE_KEY,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ cron }),
    signal: AbortSignal.timeout(config.LEGACY_TOTAL_TIMEOUT_MS),
  })
  await response.body?.cancel()
  log.info('cron tick sent to legacy', { status: response.status })
  return { backend: 'legacy', status: response.status }
}
