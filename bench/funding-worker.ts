/**
 * One gateway instance's share of a campaign completion (spawned twice by
 * bench/funding-completion.ts): `runFundingWork` against the shared PostgreSQL and the Toss
 * stand-in, until no work is left. Prints its stats as one JSON line.
 */
import { runFundingWork, tossBilling } from '../routes/funding/index.js'
import { DEFAULT_RETRY_SCHEDULE } from '../routes/funding/schedule.js'
import { TossClient } from '../routes/payments/index.js'
import { createLogger } from '../src/observability/log.js'
import { createPostgresDb } from '../src/platform/db/postgres.js'

const [databaseUrl, tossUrl, secretKey, campaignId, concurrency, batchSize, owner] =
  process.argv.slice(2) as [string, string, string, string, string, string, string]
const db = createPostgresDb({ connectionString: databaseUrl, max: 16 })
const toss = new TossClient({ secretKey, baseUrl: tossUrl, timeoutMs: 10_000 })
const logger = createLogger({ level: 'warn', write: (line) => process.stderr.write(`${line}\n`) })
const started = performance.now()
const stats = await runFundingWork(
  {
    db,
    method: tossBilling(toss),
    getPayment: (key) => toss.getPayment(key),
    logger,
    retry: DEFAULT_RETRY_SCHEDULE,
    work: {
      batchSize: Number(batchSize),
      concurrency: Number(concurrency),
      leaseSeconds: 120,
      budgetMs: 30 * 60_000,
      unknownRetrySeconds: 60,
      maxUnknowns: 5,
      keyRetrySeconds: 300,
    },
  },
  { owner, campaignId },
)
await db.close()
process.stdout.write(`${JSON.stringify({ owner, ms: performance.now() - started, ...stats })}\n`)
