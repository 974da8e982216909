import type { Logger } from '../../src/observability/log.js'
import type { Db } from '../../src/platform/db/port.js'
import { type RunOutcome, runJob } from './runner.js'
import type { Job } from './types.js'

/** Which jobs a trigger runs: named ones, those of one cron expression, or (neither) all. */
export interface JobSelection {
  jobs?: readonly string[]
  cron?: string
}

export interface Dispatcher {
  readonly jobs: readonly Job[]
  /** The jobs a selection names; unknown names are returned in `unknown`. */
  select(selection: JobSelection): { jobs: Job[]; unknown: string[] }
  /** Run the selected jobs concurrently, each under its own lease. */
  dispatch(selection: JobSelection, trigger: string): Promise<RunOutcome[]>
}

export function createDispatcher({
  jobs,
  db,
  logger,
  holder = `gw:${crypto.randomUUID()}`,
  now,
}: {
  jobs: readonly Job[]
  db: Db
  logger: Logger
  /** This instance in the lease table. */
  holder?: string
  now?: () => number
}): Dispatcher {
  const log = logger.child({ component: 'jobs' })
  const byName = new Map(jobs.map((job) => [job.name, job]))

  function select(selection: JobSelection) {
    if (selection.jobs && selection.jobs.length > 0) {
      const unknown = selection.jobs.filter((name) => !byName.has(name))
      const chosen = [...new Set(selection.jobs)]
        .map((name) => byName.get(name))
        .filter((job): job is Job => job !== undefined)
      return { jobs: chosen, unknown }
    }
    if (selection.cron !== undefined) {
      return { jobs: jobs.filter((job) => job.cron === selection.cron), unknown: [] }
    }
    return { jobs: [...jobs], unknown: [] }
  }

  return {
    jobs,
    select,
    async dispatch(selection, trigger) {
      const chosen = select(selection).jobs
      // Each run gets its own holder id, so two triggers on one instance exclude each other too.
      const settled = await Promise.allSettled(
        chosen.map((job) =>
          runJob(job, {
            db,
            logger: log,
            trigger,
            holder: `${holder}:${crypto.randomUUID().slice(0, 8)}`,
            ...(now ? { now } : {}),
          }),
        ),
      )
      return settled.map((result, i) => {
        if (result.status === 'fulfilled') return result.value
        // The lease or the history could not be written (database unreachable).
        const job = chosen[i] as Job
        log.error('job not run', { job: job.name, error: (result.reason as Error)?.name })
        return {
          job: job.name,
          status: 'failed' as const,
          runId: null,
          counts: {},
          error: 'the job could not take its lease or record its run (database unavailable?)',
          durationMs: 0,
        }
      })
    },
  }
}
