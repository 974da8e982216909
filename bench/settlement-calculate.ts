import { calculate, calculateAndSave } from '../routes/settlement/calculation.js'
import { createLogger } from '../src/observability/log.js'
import { createPostgresDb } from '../src/platform/db/postgres.js'
import { log } from './lib/options.js'
import { seedCreatorSales, settlementDatabase } from './lib/settlement-seed.js'

/**
 * payout-calculate for one creator with 100,000 payments (and 5,000 refunds) in the month,
 * among other creators' sales, on the local PostgreSQL: the aggregation in SQL, the arithmetic
 * in TypeScript, and the saving transaction that reads the sums again.
 *
 *   npx tsx bench/settlement-calculate.ts [--payments=100000] [--runs=7]
 */
const arg = (name: string, fallback: number) =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback)
const PAYMENTS = arg('payments', 100_000)
const RUNS = arg('runs', 7)

const database = await settlementDatabase()
try {
  log(`seeding ${PAYMENTS} payments for the measured creator and 2 × ${PAYMENTS} for others`)
  const seedStart = performance.now()
  const creatorId = await seedCreatorSales(database.pool, { payments: PAYMENTS, refunds: 5_000 })
  await seedCreatorSales(database.pool, { payments: PAYMENTS, refunds: 1_000 })
  await seedCreatorSales(database.pool, { payments: PAYMENTS, refunds: 1_000, month: '2025-12' })
  await database.pool.query('analyze')
  log(`seeded in ${((performance.now() - seedStart) / 1000).toFixed(1)} s`)

  const db = createPostgresDb({ connectionString: database.url, max: 2 })
  const deps = {
    db,
    logger: createLogger({ level: 'error', write: () => {} }),
    clock: () => Date.parse('2026-03-01T00:00:00Z'),
  }
  const request = { creatorId, period: '2026-01' }
  const preview: number[] = []
  const save: number[] = []
  let transfer = 0
  let sales = 0
  for (let i = 0; i < RUNS; i++) {
    let t = performance.now()
    const { inputs, result } = await calculate(deps, request)
    preview.push(performance.now() - t)
    sales = inputs.saleCount
    transfer = result.transferKrw
    t = performance.now()
    await calculateAndSave(deps, request, { confirm: false, actor: 'bench' })
    save.push(performance.now() - t)
  }
  const plan = await database.pool.query(
    `explain (analyze, buffers off, timing off, summary on)
     select public.settlement_inputs($1, '2026-01-01', '2026-02-01', '2026-02-01')`,
    [creatorId],
  )
  await db.close()
  const stats = (xs: number[]) => {
    const sorted = [...xs].sort((a, b) => a - b)
    return {
      median: sorted[Math.floor(sorted.length / 2)]?.toFixed(0),
      max: sorted.at(-1)?.toFixed(0),
    }
  }
  const p = stats(preview)
  const s = stats(save)
  console.log(`\nsales counted: ${sales}, transfer: ${transfer} KRW, runs: ${RUNS}`)
  console.log('| step | median ms | max ms |')
  console.log('| --- | ---: | ---: |')
  console.log(`| preview (settlement_inputs + arithmetic) | ${p.median} | ${p.max} |`)
  console.log(
    `| calculate (preview + settlement_save, which re-reads the sums) | ${s.median} | ${s.max} |`,
  )
  console.log(`\n${plan.rows.map((r) => r['QUERY PLAN']).join('\n')}`)
} finally {
  await database.drop()
}
