import { spawn } from 'node:child_process'
import pg from 'pg'
import { applyMigrations, pgMigrationTarget } from '../src/platform/db/migrate.js'
import { createPostgresDb } from '../src/platform/db/postgres.js'
import { startTossFake } from '../test/fakes/toss.js'
import { createTempDatabase } from '../test/integration/db-harness.js'
import { log } from './lib/options.js'

/**
 * campaign-complete at scale: a succeeded campaign with 50,000 active pledges, charged by two
 * separate Node processes (two gateway instances) sharing the run through leased work in the
 * local PostgreSQL, against the Toss stand-in answering every call after 300 ms. Reports the
 * time to the last charge, charges per second, the time until every card is also deleted, and
 * duplicates (charges applied twice for one order id, which must be 0).
 *
 *   npx tsx bench/funding-completion.ts [--pledges=50000] [--concurrency=100] [--batch=200] [--latency=300]
 */
const arg = (name: string, fallback: number) =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback)
const PLEDGES = arg('pledges', 50_000)
const CONCURRENCY = arg('concurrency', 100)
const BATCH = arg('batch', 200)
const LATENCY = arg('latency', 300)
const HOUR = 3600_000

const temp = await createTempDatabase('bff_bench_funding')
const pool = new pg.Pool({ connectionString: temp.url, max: 4 })
pool.on('error', () => {})
const toss = await startTossFake({ latencyMs: 0 })
try {
  await applyMigrations(pgMigrationTarget(pool))
  const db = createPostgresDb({ connectionString: temp.url, max: 2 })
  const now = Date.now()
  const kst = (ms: number) => `${new Date(ms + 9 * HOUR).toISOString().slice(0, 19)}+09:00`
  const campaign = await db.call<{ campaignId: string; tiers: Array<{ tierId: string }> }>(
    'funding_campaign_submit',
    {
      p_creator_id: '0b7a7c3e-4a53-4d8e-9a51-5f7f1d0e2a01',
      p_campaign_id: null,
      p_content: {
        title: '벤치마크 펀딩',
        goalAmount: 1000,
        startsAt: kst(now - 48 * HOUR),
        endsAt: kst(now - 24 * HOUR),
        tiers: [{ name: '앨범', price: 15_000, stock: PLEDGES, deliveryMonth: '2099-12' }],
      },
      p_now: new Date(now - 49 * HOUR).toISOString(),
    },
  )
  const { campaignId } = campaign
  const tierId = campaign.tiers[0]?.tierId as string
  await db.call('funding_campaign_review', {
    p_actor: 'bench',
    p_campaign_id: campaignId,
    p_decision: 'approve',
    p_now: new Date(now - 49 * HOUR).toISOString(),
  })
  await db.call('funding_campaign_go_live', {
    p_campaign_id: campaignId,
    p_now: new Date(now - 48 * HOUR).toISOString(),
  })

  log(`seeding ${PLEDGES} active pledges with registered cards`)
  // Fan i: a uuid from md5(i); customerKey ck_bench_<i>; billing key bk_bench_<i>.
  await pool.query(
    `insert into public.toss_customers (user_id, customer_key)
     select md5('fan' || i)::uuid, 'ck_bench_' || i from generate_series(1, $1) as i`,
    [PLEDGES],
  )
  await pool.query(
    `insert into public.funding_pledges (id, campaign_id, tier_id, fan_id, quantity, unit_price_krw,
       amount_krw, status)
     select md5('pledge' || i)::uuid, $2, $3, md5('fan' || i)::uuid, 1, 15000, 15000, 'active'
     from generate_series(1, $1) as i`,
    [PLEDGES, campaignId, tierId],
  )
  await pool.query(
    `insert into public.funding_billing_keys (pledge_id, customer_key, billing_key, billing_key_digest, method)
     select md5('pledge' || i)::uuid, 'ck_bench_' || i, 'bk_bench_' || i,
       sha256(convert_to('bk_bench_' || i, 'UTF8')), '카드'
     from generate_series(1, $1) as i`,
    [PLEDGES],
  )
  await pool.query('update public.funding_tiers set remaining = 0 where id = $1', [tierId])
  toss.registerCards(
    Array.from({ length: PLEDGES }, (_, i) => ({
      customerKey: `ck_bench_${i + 1}`,
      billingKey: `bk_bench_${i + 1}`,
    })),
  )
  const decided = await db.call<{ state: string }>('funding_campaign_decide', {
    p_actor: 'system',
    p_campaign_id: campaignId,
  })
  await pool.query('analyze')
  await db.close()
  log(
    `campaign ${decided.state}; 2 instances × ${CONCURRENCY} calls in flight, batches of ${BATCH}, Toss ${LATENCY} ms`,
  )

  toss.setLatency(LATENCY)
  const started = Date.now()
  const instance = (owner: string) =>
    new Promise<Record<string, number>>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          'bench/funding-worker.ts',
          temp.url,
          toss.url,
          toss.secretKey,
          campaignId,
          String(CONCURRENCY),
          String(BATCH),
          owner,
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      )
      let out = ''
      child.stdout.on('data', (d) => {
        out += d
      })
      child.once('exit', (code) =>
        code === 0 ? resolve(JSON.parse(out.trim())) : reject(new Error(`${owner} exited ${code}`)),
      )
    })
  const runs = await Promise.all([instance('instance-a'), instance('instance-b')])
  const totalMs = Date.now() - started

  const [row] = (
    await pool.query<{ charged: string; last: Date; attempts: string }>(
      `select count(*) filter (where p.status = 'charged') as charged,
         (select max(settled_at) from public.funding_charge_attempts where status = 'done') as last,
         (select count(*) from public.funding_charge_attempts) as attempts
       from public.funding_pledges p where p.campaign_id = $1`,
      [campaignId],
    )
  ).rows
  const chargedMs = new Date(row?.last ?? started).getTime() - started
  const duplicates = [...toss.chargesByOrder.values()].filter((n) => n > 1).length
  const charged = Number(row?.charged)
  log('')
  log(`pledges                 ${PLEDGES}`)
  log(`charged (database)      ${charged}`)
  log(`charges applied (Toss)  ${toss.chargeCount}`)
  log(`charge attempts         ${row?.attempts}`)
  log(`duplicate charges       ${duplicates}`)
  log(`time to last charge     ${(chargedMs / 1000).toFixed(1)} s`)
  log(`charges per second      ${((charged / chargedMs) * 1000).toFixed(0)}`)
  log(`cards deleted (Toss)    ${toss.deletedBillingKeys.size}`)
  log(`total (cards deleted)   ${(totalMs / 1000).toFixed(1)} s`)
  for (const run of runs) {
    log(`  ${run.owner}: charged ${run.charged}, cards ${run.keysDeleted}, errors ${run.errors}`)
  }
  if (duplicates > 0 || charged !== PLEDGES || toss.chargeCount !== PLEDGES) process.exitCode = 1
} finally {
  await toss.close()
  await pool.end()
  await temp.drop()
}
