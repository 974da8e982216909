import { setTimeout as sleep } from 'node:timers/promises'
import { log, ROOT } from './lib/options.js'
import { freePort, memoryOf, NODE, start, TSX, waitForHttp } from './lib/proc.js'
import { seedCreatorSales, settlementDatabase } from './lib/settlement-seed.js'

/**
 * settlement-export streaming 100,000 rows as CSV and XLSX, and payout-statement PDFs, on a
 * Node server process of their own: the server's RSS is sampled every 10 ms during each
 * download and compared with its RSS just before.
 *
 *   npx tsx bench/settlement-documents.ts [--rows=100000]
 */
const MiB = 1024 * 1024
const ROWS = Number(process.argv.find((a) => a.startsWith('--rows='))?.split('=')[1] ?? 100_000)

function sampleRss(pid: number) {
  let peak = memoryOf(pid).rss
  const timer = setInterval(() => {
    peak = Math.max(peak, memoryOf(pid).rss)
  }, 10)
  return () => {
    clearInterval(timer)
    return Math.max(peak, memoryOf(pid).rss)
  }
}

const database = await settlementDatabase()
try {
  log(`seeding ${ROWS} settlements`)
  await database.pool.query(
    `insert into public.creator_tax_profiles (creator_id, effective_from, income_type, legal_name)
     select ('00000000-0000-4000-8000-' || lpad(to_hex(g), 12, '0'))::uuid, '2020-01-01', 'business', '크리에이터 ' || g
     from generate_series(1, $1::int) as g`,
    [ROWS],
  )
  await database.pool.query(
    `insert into public.settlements (creator_id, period_start, period_end, payout_date, statement_no,
       inputs, lines, rates, gross_krw, refunds_krw, adjustments_krw, carried_in_krw, fee_krw,
       vat_krw, payable_krw, income_tax_krw, local_tax_krw, transfer_krw, carry_out_krw)
     select ('00000000-0000-4000-8000-' || lpad(to_hex(g), 12, '0'))::uuid, '2026-01-01', '2026-02-01',
       '2026-02-01', 'ST202601-' || lpad(to_hex(g), 10, '0'), '{}', '[]',
       '{"fee": {"bp": 1000}, "withholding": {"incomeType": "business"}}',
       1000000, 50000, 0, 0, 95000, 9500, 845500, 25360, 2530, 817610, 0
     from generate_series(1, $1::int) as g`,
    [ROWS],
  )
  const creatorId = await seedCreatorSales(database.pool, { payments: 200, refunds: 10 })
  await database.pool.query('analyze')

  const port = await freePort()
  const server = start(NODE, [...TSX, 'bench/servers/settlement-documents.ts'], {
    cwd: ROOT,
    env: { DATABASE_URL: database.url, PORT: String(port) },
  })
  const base = `http://127.0.0.1:${port}`
  await waitForHttp(`${base}/health`, 30_000, server)

  const rows: string[] = []
  // A small export first, so module loading is not counted as the download's growth.
  for (const format of ['csv', 'xlsx']) {
    await (
      await fetch(
        `${base}/export?period=2026-01&format=${format}&creatorId=00000000-0000-4000-8000-000000000001`,
      )
    ).arrayBuffer()
  }
  for (const format of ['csv', 'xlsx'] as const) {
    await sleep(500)
    const before = memoryOf(server.pid).rss
    const stop = sampleRss(server.pid)
    const t = performance.now()
    const res = await fetch(`${base}/export?period=2026-01&format=${format}`)
    let bytes = 0
    const reader = res.body?.getReader()
    for (;;) {
      const chunk = await reader?.read()
      if (!chunk || chunk.done) break
      bytes += chunk.value.byteLength
    }
    const seconds = (performance.now() - t) / 1000
    const peak = stop()
    rows.push(
      `| export ${format}, ${ROWS} rows | ${seconds.toFixed(1)} s | ${(bytes / MiB).toFixed(1)} MiB | ${(before / MiB).toFixed(0)} MiB | ${(peak / MiB).toFixed(0)} MiB | ${((peak - before) / MiB).toFixed(1)} MiB |`,
    )
    log(rows.at(-1) as string)
  }

  // Statements: a settlement of a creator with a profile, rendered cold (font read and parsed) and warm.
  const saved = await database.pool.query(
    `insert into public.settlements (creator_id, period_start, period_end, payout_date, statement_no,
       inputs, lines, rates, gross_krw, refunds_krw, adjustments_krw, carried_in_krw, fee_krw,
       vat_krw, payable_krw, income_tax_krw, local_tax_krw, transfer_krw, carry_out_krw)
     select $1, '2026-02-01', '2026-03-01', '2026-03-01', 'ST202602-BENCH00001', '{}', lines, rates,
       1000000, 50000, 0, 0, 95000, 9500, 845500, 25360, 2530, 817610, 0
     from (select '[{"code":"gross","label":"총 판매액","amountKrw":1000000},{"code":"refunds","label":"당월 환불·취소","amountKrw":-50000},{"code":"fee","label":"플랫폼 수수료","amountKrw":-95000,"rate":"10%"},{"code":"transfer","label":"실지급액","amountKrw":817610}]'::jsonb as lines,
       '{"fee":{"bp":1000,"effectiveFrom":"2020-01-01","creatorOverride":false},"vat":{"bp":1000,"effectiveFrom":"2000-01-01"},"withholding":{"incomeType":"business","effectiveFrom":"2024-07-01","incomeTaxBp":300,"localTaxBp":1000,"deemedExpenseBp":0,"minTaxableIncomeKrw":null,"smallAmountExemptBelowKrw":null}}'::jsonb as rates) as x
     returning id`,
    [creatorId],
  )
  const id = saved.rows[0]?.id as string
  const before = memoryOf(server.pid).rss
  const times: number[] = []
  let size = 0
  for (let i = 0; i < 21; i++) {
    const t = performance.now()
    const res = await fetch(`${base}/statement?settlementId=${id}`)
    size = (await res.arrayBuffer()).byteLength
    times.push(performance.now() - t)
  }
  const after = memoryOf(server.pid).rss
  const warm = times.slice(1).sort((a, b) => a - b)
  rows.push(
    `| statement PDF (${(size / 1024).toFixed(1)} KB) | first ${times[0]?.toFixed(0)} ms, then median ${warm[10]?.toFixed(0)} ms, max ${warm.at(-1)?.toFixed(0)} ms | | ${(before / MiB).toFixed(0)} MiB | ${(after / MiB).toFixed(0)} MiB after 21 | ${((after - before) / MiB).toFixed(1)} MiB |`,
  )
  await server.stop()
  console.log('\n| what | time | size | RSS before | RSS peak | growth |')
  console.log('| --- | --- | ---: | ---: | ---: | ---: |')
  for (const row of rows) console.log(row)
} finally {
  await database.drop()
}
