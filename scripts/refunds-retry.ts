/**
 * `npm run refunds:retry [-- --older-than <seconds>] [-- --limit <n>]`: run the refund-retry
 * job once (routes/payments/jobs.ts) against the database and Toss of this environment
 * (DATABASE_URL, or SUPABASE_URL with SUPABASE_SERVICE_ROLE_KEY; TOSS_SECRET_KEY,
 * TOSS_API_URL). Prints the sweep as JSON: `{done, failed, stillPending, needsAccount}`.
 * Exit status 0 when it ran (pending refunds may remain), 1 when it could not run.
 */
import { parseArgs } from 'node:util'
import { runRefundRetryJob } from '../routes/payments/jobs.js'
import { TossClient } from '../routes/payments/toss/client.js'
import { createLogger } from '../src/observability/log.js'
import { createDb } from '../src/platform/db/create.js'

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'older-than': { type: 'string', default: '60' },
      limit: { type: 'string', default: '50' },
    },
  })
  const olderThanSeconds = Number(values['older-than'])
  const limit = Number(values.limit)
  if (!Number.isInteger(olderThanSeconds) || olderThanSeconds < 0) {
    throw new Error('--older-than must be a whole number of seconds')
  }
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw new Error('--limit must be 1-1000')
  }
  const env = process.env
  const secretKey = env.TOSS_SECRET_KEY
  if (!secretKey) throw new Error('TOSS_SECRET_KEY is not set')
  const logger = createLogger({
    level: 'info',
    write: (line) => process.stderr.write(`${line}\n`),
  })
  const db = await createDb({
    DATABASE_URL: env.DATABASE_URL || undefined,
    SUPABASE_URL: env.SUPABASE_URL || undefined,
    SUPABASE_SERVICE_ROLE_KEY: env.SUPABASE_SERVICE_ROLE_KEY || undefined,
    PGLITE_DIR: env.PGLITE_DIR || '.data/pglite',
    isProduction: env.APP_ENV === 'production',
  })
  try {
    const toss = new TossClient({
      secretKey,
      ...(env.TOSS_API_URL ? { baseUrl: env.TOSS_API_URL } : {}),
    })
    const sweep = await runRefundRetryJob({ db, toss, logger }, { olderThanSeconds, limit })
    console.log(JSON.stringify(sweep))
  } finally {
    await db.close()
  }
}

main().catch((error: unknown) => {
  console.error(`refunds:retry: ${error instanceof Error ? error.message : String(error)}`)
  process.exitCode = 1
})
