import type { Config } from '../../src/config.js'
import type { Logger } from '../../src/observability/log.js'
import type { Db } from '../../src/platform/db/port.js'

/** What a job reports: named non-negative counts (`retried`, `failed`, `remaining`, ...). */
export type JobCounts = Record<string, number>

/** Handed to `Job.run` for one run. */
export interface JobContext {
  db: Db
  logger: Logger
  /** Milliseconds since the epoch (a test seam). */
  now(): number
  /**
   * True once the time budget is spent: the job stops between two items and returns what it
   * counted. The run is then recorded as `partial` and the next trigger resumes the work.
   */
  shouldStop(): boolean
  /** Aborted when the budget is spent; pass it to outgoing calls that accept a signal. */
  signal: AbortSignal
  /** What the previous run saved with `saveState` (`{}` the first time). */
  state: Record<string, unknown>
  /** Kept when the run ends (done or partial) and handed to the next run as `state`. */
  saveState(state: Record<string, unknown>): void
  /** What triggered the run: `scheduler`, `cron`, `cli`. */
  trigger: string
}

/**
 * One periodic job. A job must be idempotent: it may be cut short at its budget, run again by
 * the next trigger, or (after a crash) re-run over work a dead instance half did.
 */
export interface Job {
  /** `[a-z0-9-]`, unique in the registry; the lease and the history are keyed by it. */
  name: string
  /** Wall-clock budget of one run, in milliseconds. The lease lasts a little longer. */
  budgetMs: number
  /**
   * The cron expression (UTC) that runs it on Workers and names it in a Cloud Scheduler body
   * (`{"cron": "*\/5 * * * *"}`). Must be one of `[triggers] crons` in wrangler.toml.
   */
  cron: string
  summary: string
  run(ctx: JobContext): Promise<JobCounts>
}

/** What a job module gets to build its job; the same services the native routes run on. */
export interface JobServices {
  config: Config
  logger: Logger
  db: Db
  /** Test seams: a vendor's fetch by name (`toss`), pointed at a stand-in. */
  vendorFetch?: Readonly<Record<string, typeof fetch>>
}

/**
 * A job module's export: the job, or undefined when what it needs is not configured (then the
 * job is not registered on this runtime).
 */
export type JobFactory = (services: JobServices) => Job | undefined
