import type { Config } from '../../src/config.js'
import type { Logger } from '../../src/observability/log.js'
import type { Dispatcher } from './dispatch.js'
import type { RunOutcome } from './runner.js'

export const ROUTE_ID = 'scheduled-dispatcher'

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
  nativeBasisPoints,
  config,
  logger,
  legacyFetch = fetch,
  random = Math.random,
}: {
  dispatcher: Dispatcher | undefined
  cron: string
  /** The flag's share of native, 0..10000 (the entry reads it from its flag table). */
  nativeBasisPoints: number
  config: Config
  logger: Logger
  legacyFetch?: typeof fetch
  random?: () => number
}): Promise<CronOutcome> {
  const log = logger.child({ component: 'cron', cron })
  if (dispatcher && random() * 10_000 < nativeBasisPoints) {
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
