import { defineProblems } from '../../src/errors.js'

/** What the scheduled-job dispatcher answers besides validation and bearer authentication. */
export const JOBS_PROBLEMS = defineProblems('jobs', {
  'invalid-token': { status: 401, title: 'Invalid scheduler token' },
  'token-expired': { status: 401, title: 'Scheduler token expired' },
  'forbidden-role': { status: 403, title: 'Forbidden for this caller' },
  'jwks-unavailable': { status: 503, title: 'Service unavailable', retryAfterSeconds: 30 },
  // 503 when no job could even record its run (the scheduler retries), else 500.
  'job-failed': { status: 500, otherStatuses: [503], title: 'A scheduled job failed' },
})
