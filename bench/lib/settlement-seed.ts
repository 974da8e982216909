import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { applyMigrations, pgMigrationTarget } from '../../src/platform/db/migrate.js'
import { createTempDatabase, ensureRoles } from '../../test/integration/db-harness.js'

/** A temporary database with the migrations applied (dropped by `drop`). */
export async function settlementDatabase() {
  const temp = await createTempDatabase('bff_bench_settlement')
  const pool = new pg.Pool({ connectionString: temp.url, max: 4 })
  pool.on('error', () => {})
  await ensureRoles(pool)
  await applyMigrations(pgMigrationTarget(pool))
  return {
    url: temp.url,
    pool,
    async drop() {
      await pool.end()
      await temp.drop()
    },
  }
}

/**
 * `payments` DONE payments of one creator's product in January 2026 (KST), spread over the
 * month, with `refunds` partial refunds completed in the month. Rows go in with set-based SQL;
 * the order-line snapshot trigger runs for each order as in production.
 */
export async function seedCreatorSales(
  pool: pg.Pool,
  {
    payments,
    refunds,
    priceKrw = 12_000,
    month = '2026-01',
  }: {
    payments: number
    refunds: number
    priceKrw?: number
    month?: string
  },
): Promise<string> {
  const creatorId = randomUUID()
  const productId = `p_${creatorId.slice(0, 8)}`
  const tag = creatorId.slice(0, 8)
  await pool.query(
    `insert into public.products (id, name, price_krw, creator_id) values ($1, '굿즈', $2, $3)`,
    [productId, priceKrw, creatorId],
  )
  await pool.query(
    `insert into public.creator_tax_profiles (creator_id, effective_from, income_type, legal_name)
     values ($1, '2020-01-01', 'business', '벤치 크리에이터')`,
    [creatorId],
  )
  const seconds = Math.max(1, Math.floor((27 * 86_400) / payments))
  await pool.query(
    `insert into public.orders (toss_order_id, user_id, items, order_name, amount_krw, status)
     select 'ord_' || $1::text || '_' || g, gen_random_uuid(),
       jsonb_build_array(jsonb_build_object('productId', $2::text, 'name', '굿즈', 'quantity', 1,
         'unitPriceKrw', $3::int, 'lineTotalKrw', $3::int)), '굿즈', $3, 'DONE'
     from generate_series(1, $4::int) as g`,
    [tag, productId, priceKrw, payments],
  )
  await pool.query(
    `insert into public.payments (payment_key, order_id, status, method, total_amount, balance_amount, approved_at)
     select 'pk_' || $1::text || '_' || g, o.id, 'DONE', '카드', $2::int, $2::int,
       ($4::text || '-01 00:00:00+09')::timestamptz + make_interval(secs => g * $5::int)
     from generate_series(1, $3::int) as g
     join public.orders o on o.toss_order_id = 'ord_' || $1::text || '_' || g`,
    [tag, priceKrw, payments, month, seconds],
  )
  await pool.query(
    `insert into public.refunds (payment_key, requester, amount, full_cancel, refundable_amount, reason, status, settled_at)
     select 'pk_' || $1::text || '_' || g, 'ops', 2000, false, $2::int, 'bench', 'done',
       ($4::text || '-20 00:00:00+09')::timestamptz + make_interval(secs => g)
     from generate_series(1, $3::int) as g`,
    [tag, priceKrw, refunds, month],
  )
  return creatorId
}
