import { fundingChargesJob, fundingClockJob } from './funding.js'
import { refundRetryJob } from './refund-retry.js'
import { settlementRecomputeJob } from './settlement-recompute.js'
import type { Job, JobFactory, JobServices } from './types.js'

/**
 * Every periodic job of the platform, one module each. To add one, export a `JobFactory` from
 * the feature's folder and list it here. The stay-legacy jobs (`payment-reconcile`,
 * `refresh-fallback-quotas`) keep running on Edge Functions and are not listed.
 */
export const JOB_FACTORIES: readonly JobFactory[] = [
  refundRetryJob,
  fundingClockJob,
  fundingChargesJob,
  settlementRecomputeJob,
]

const JOB_NAME = /^[a-z0-9][a-z0-9-]{0,63}$/

/** The jobs whose dependencies are configured on this runtime. */
export function buildJobs(
  services: JobServices,
  factories: readonly JobFactory[] = JOB_FACTORIES,
): Job[] {
  const jobs: Job[] = []
  const names = new Set<string>()
  for (const factory of factories) {
    const job = factory(services)
    if (!job) continue
    if (!JOB_NAME.test(job.name)) throw new TypeError(`job name ${JSON.stringify(job.name)}`)
    if (names.has(job.name)) throw new TypeError(`job ${job.name} is registered twice`)
    if (!(job.budgetMs > 0 && job.budgetMs <= 15 * 60_000)) {
      throw new TypeError(`job ${job.name}: budgetMs must be within 15 minutes`)
    }
    names.add(job.name)
    jobs.push(job)
  }
  return jobs
}
