import type { Logger } from '../../src/observability/log.js'
import { maskPii } from '../../src/observability/pii.js'
import type { Db } from '../../src/platform/db/port.js'
import type { Job, JobCounts } from './types.js'

/** The lease outlives the budget by this much, so a run finishing on time still holds it. */
const LEASE_MARGIN_MS = 30_000

export type RunStatus = 'done' | 'partial' | 'failed' | 'skipped'

export interface RunOutcome {
  job: string
  status: RunStatus
  /** The run's id in `job_runs`; for `skipped`, the run holding the lease. */
  runId: number | null
  counts: JobCounts
  error?: string
  /** For `skipped`: who holds the lease. */
  heldBy?: string
  durationMs: number
}

export interface RunOptions {
  db: Db
  logger: Logger
  trigger: string
  /** This instance, for the lease (`<runtime>:<random>`). */
  holder: string
  now?: () => number
}

interface Acquired {
  acquired: true
  runId: number
  state: Record<string, unknown> | null
}
interface Held {
  acquired: false
  holder: string
  runId: number | null
  expiresAt: string
}

/**
 * Run `job` once under its lease: take the lease (or report `skipped` when another trigger or
 * instance holds it), run within the budget, record the outcome in the run history and free the
 * lease. A job that throws is recorded as `failed` with its error name and masked message; the
 * counts it reached are lost (jobs are idempotent, the next run redoes them).
 */
export async function runJob(job: Job, options: RunOptions): Promise<RunOutcome> {
  const { db, trigger, holder, now = Date.now } = options
  const started = now()
  const log = options.logger.child({ job: job.name, trigger })
  const lease = await db.call<Acquired | Held>('job_lease_acquire', {
    p_name: job.name,
    p_holder: holder,
    p_ttl_seconds: Math.ceil((job.budgetMs + LEASE_MARGIN_MS) / 1000),
    p_trigger: trigger,
  })
  if (!lease.acquired) {
    log.info('job skipped: lease held', { heldBy: lease.holder })
    return {
      job: job.name,
      status: 'skipped',
      runId: lease.runId,
      counts: {},
      heldBy: lease.holder,
      durationMs: now() - started,
    }
  }

  const controller = new AbortController()
  let stoppedEarly = false
  const deadline = started + job.budgetMs
  const timer = setTimeout(() => controller.abort(new Error('job budget spent')), job.budgetMs)
  let state: Record<string, unknown> | null = null
  let counts: JobCounts = {}
  let status: RunStatus = 'done'
  let error: string | undefined
  try {
    counts = await job.run({
      db,
      logger: log,
      now,
      signal: controller.signal,
      trigger,
      state: lease.state ?? {},
      saveState(next) {
        state = next
      },
      shouldStop() {
        if (now() >= deadline || controller.signal.aborted) stoppedEarly = true
        return stoppedEarly
      },
    })
    status = stoppedEarly ? 'partial' : 'done'
  } catch (thrown) {
    status = 'failed'
    error = describeError(thrown)
  } finally {
    clearTimeout(timer)
  }
  await db.call('job_run_finish', {
    p_run_id: lease.runId,
    p_holder: holder,
    p_status: status,
    p_counts: sanitizeCounts(counts),
    p_error: error ?? null,
    p_state: state,
  })
  const durationMs = now() - started
  const fields = { runId: lease.runId, status, counts, durationMs }
  if (status === 'failed') log.error('job failed', { ...fields, error })
  else log.info('job finished', fields)
  return {
    job: job.name,
    status,
    runId: lease.runId,
    counts,
    ...(error ? { error } : {}),
    durationMs,
  }
}

/** Error name and message, masked and cut: it is stored in the run history and logged. */
function describeError(error: unknown): string {
  const text =
    error instanceof Error
      ? `${error.name}: ${error.message}`
      : `thrown: ${typeof error === 'string' ? error : typeof error}`
  const masked = maskPii(text)
  return (typeof masked === 'string' ? masked : String(masked)).slice(0, 500)
}

/** Counts are whole non-negative numbers; anything else a job returned is dropped. */
function sanitizeCounts(counts: JobCounts): JobCounts {
  const out: JobCounts = {}
  if (!counts || typeof counts !== 'object') return out
  for (const [key, value] of Object.entries(counts)) {
    if (/^[A-Za-z][A-Za-z0-9_-]{0,39}$/.test(key) && Number.isFinite(value) && value >= 0) {
      out[key] = Math.floor(value)
    }
  }
  return out
}
