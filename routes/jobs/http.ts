import { z } from 'zod'
import { parseInput, readJson } from '../../src/kit/request.js'
import { validationFailed } from '../../src/problems.js'
import type { NativeHandler } from '../../src/types.js'
import type { Dispatcher } from './dispatch.js'
import { GoogleKeysUnavailableError, type SchedulerAuth } from './oidc.js'
import { JOBS_PROBLEMS } from './problems.js'

const CRON = /^[0-9*/,LW#?-]+( [0-9A-Za-z*/,LW#?-]+){4}$/

/** Cloud Scheduler's body: nothing (every job), `{"jobs": [...]}` or `{"cron": "..."}`. */
export const DispatchBody = z
  .object({
    jobs: z
      .array(z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'a job name'))
      .min(1)
      .max(50)
      .optional(),
    cron: z.string().max(100).regex(CRON, 'a five-field cron expression').optional(),
  })
  .strict()
  .refine((b) => !(b.jobs && b.cron), { message: 'give jobs or cron, not both', path: ['cron'] })

/**
 * `scheduled-dispatcher` on Cloud Run: Cloud Scheduler posts here with a Google OIDC token (not a
 * Supabase JWT, so the route's auth policy is `none` and this handler authenticates it). Runs
 * the selected jobs under their leases and answers each run's outcome; 200 when every job ran
 * or was skipped because another trigger holds it, 500 when one failed (Cloud Scheduler then
 * records a failure and applies its retry settings).
 */
export function createScheduledDispatcher({
  dispatcher,
  auth,
}: {
  dispatcher: Dispatcher
  auth: SchedulerAuth
}): NativeHandler {
  return async function scheduledDispatcher(c) {
    let caller: Awaited<ReturnType<SchedulerAuth>>
    try {
      caller = await auth(c.req.header('authorization'))
    } catch (error) {
      if (error instanceof GoogleKeysUnavailableError) {
        throw JOBS_PROBLEMS.error('jwks-unavailable', {
          detail: 'Google signing keys are unavailable',
        })
      }
      throw error
    }
    c.set('logFields', { ...c.var.logFields, schedulerVia: caller.via })

    const body = parseInput(DispatchBody, await readJson(c, { empty: {} }))
    const selection = {
      ...(body.jobs ? { jobs: body.jobs } : {}),
      ...(body.cron ? { cron: body.cron } : {}),
    }
    const { unknown } = dispatcher.select(selection)
    if (unknown.length > 0) {
      throw validationFailed(
        unknown.map((name) => ({
          field: `jobs.${selection.jobs?.indexOf(name)}`,
          message: `no job named ${name} (known: ${dispatcher.jobs.map((j) => j.name).join(', ') || 'none'})`,
        })),
      )
    }
    c.set('sideEffect', true)
    const runs = await dispatcher.dispatch(selection, 'scheduler')
    const failed = runs.filter((run) => run.status === 'failed')
    if (failed.length > 0) {
      throw JOBS_PROBLEMS.error('job-failed', {
        status: failed.every((run) => run.runId === null) ? 503 : 500,
        detail: failed.map((run) => `${run.job}: ${run.error ?? 'failed'}`).join('; '),
        extra: { runs },
      })
    }
    return c.json({ runs }, 200)
  }
}
