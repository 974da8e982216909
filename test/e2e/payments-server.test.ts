import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { createClient } from '@supabase/supabase-js'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { type LegacyStandIn, startLegacyStandIn } from '../fakes/legacy-functions.js'
import {
  paymentStatusChanged,
  sendWebhook,
  startTossFake,
  type TossFake,
  webhookHeaders,
} from '../fakes/toss.js'
import { type GatewayProcess, spawnGateway } from '../helpers/process.js'
import { TEST_JWT_SECRET, userToken } from '../helpers/tokens.js'
import { createTempDatabase } from '../integration/db-harness.js'

/**
 * Phase 1 payments end to end: the built server (`node dist/node.js`) with DATABASE_URL on the
 * real PostgreSQL server, migrated by `npm run db:migrate`, the Toss stand-in, and clients as
 * the apps use them (supabase-js `functions.invoke`, the REST aliases, a Toss webhook).
 */
const USER = '2d5f8f0e-9c1b-4b7e-8a55-0c7b1a9d3e42'
let temp: Awaited<ReturnType<typeof createTempDatabase>>
let sql: pg.Pool
let toss: TossFake
let legacy: LegacyStandIn
let gateway: GatewayProcess
let dir: string
let token: string

beforeAll(async () => {
  temp = await createTempDatabase('bff_e2e')
  const migrate = await promisify(execFile)('npm', ['run', '--silent', 'db:migrate'], {
    env: { ...process.env, DATABASE_URL: temp.url },
  })
  expect(migrate.stdout).toContain('0001_payments.sql')
  sql = new pg.Pool({ connectionString: temp.url, max: 2 })
  sql.on('error', () => {}) // a forced drop at teardown may reach a closing connection
  await sql.query(
    `insert into public.products (id, name, price_krw, active) values ('tee', '티셔츠', 15000, true)`,
  )
  toss = await startTossFake()
  legacy = await startLegacyStandIn()
  dir = await mkdtemp(join(tmpdir(), 'bff-pay-'))
  const flags = join(dir, 'flags.json')
  await writeFile(
    flags,
    JSON.stringify({
      routes: {
        'payment-checkout': { native: 100, group: 'payments' },
        'payment-webhook': { native: 100, group: 'payments' },
        'refund-process': { native: 100, group: 'payments' },
      },
    }),
  )
  gateway = await spawnGateway({
    LEGACY_FUNCTIONS_URL: legacy.functionsUrl,
    DATABASE_URL: temp.url,
    TOSS_SECRET_KEY: toss.secretKey,
    TOSS_API_URL: toss.url,
    SUPABASE_JWT_SECRET: TEST_JWT_SECRET,
    FLAGS_FILE: flags,
    ALLOWED_ORIGINS: 'https://app.example.com',
  })
  token = await userToken(USER)
}, 120_000)

afterAll(async () => {
  await gateway?.stop('SIGKILL')
  await toss?.close()
  await legacy?.close()
  await sql?.end()
  await temp?.drop()
  await rm(dir, { recursive: true, force: true })
})

describe('payments through the built server on the real database', () => {
  let orderId: string
  let paymentKey: string

  it('checks out natively through supabase-js, pricing from the catalog', async () => {
    const supabase = createClient(gateway.url, 'anon-key', {
      realtime: { transport: WebSocket as never },
    })
    const { data, error, response } = await supabase.functions.invoke('payment-checkout', {
      body: { items: [{ productId: 'tee', quantity: 2 }], amount: 1 },
      headers: { Authorization: `Bearer ${token}`, 'Idempotency-Key': 'checkout-e2e-1' },
    })
    expect(error).toBeNull()
    expect(response?.headers.get('x-bff-backend')).toBe('native')
    expect(data).toMatchObject({ amount: 30000, currency: 'KRW' })
    orderId = (data as { orderId: string }).orderId
    const rows = await sql.query(
      'select amount_krw, user_id from public.orders where toss_order_id = $1',
      [orderId],
    )
    expect(rows.rows).toEqual([{ amount_krw: 30000, user_id: USER }])
  })

  it('returns the same order for a retried checkout with the same Idempotency-Key', async () => {
    const res = await fetch(`${gateway.url}/api/v1/checkout`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        'idempotency-key': 'checkout-e2e-1',
      },
      body: JSON.stringify({ items: [{ productId: 'tee', quantity: 2 }] }),
    })
    expect(res.status).toBe(200)
    expect(((await res.json()) as { orderId: string }).orderId).toBe(orderId)
    expect((await sql.query('select count(*)::int as n from public.orders')).rows[0].n).toBe(1)
  })

  it('refuses checkout from a disallowed browser origin before any work', async () => {
    const res = await fetch(`${gateway.url}/api/v1/checkout`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        origin: 'https://evil.example',
        'content-type': 'application/json',
      },
      body: JSON.stringify({ items: [{ productId: 'tee', quantity: 1 }] }),
    })
    expect(res.status).toBe(403)
    expect(await res.json()).toMatchObject({ code: 'origin-not-allowed' })
    expect((await sql.query('select count(*)::int as n from public.orders')).rows[0].n).toBe(1)
  })

  it('applies a Toss webhook once, trusting Toss and not the body', async () => {
    paymentKey = `pk_e2e_${Date.now()}`
    const payment = toss.seed({
      paymentKey,
      orderId,
      totalAmount: 30000,
      status: 'DONE',
      method: '카드',
    })
    const headers = webhookHeaders({ transmissionId: 'tx-e2e-1' })
    const first = await sendWebhook(
      gateway.url,
      '/api/v1/webhooks/payment',
      paymentStatusChanged(payment),
      headers,
    )
    expect(first.status).toBe(200)
    expect(first.headers.get('x-bff-backend')).toBe('native')
    const again = await sendWebhook(
      gateway.url,
      '/api/v1/webhooks/payment',
      paymentStatusChanged(payment),
      headers,
    )
    expect(again.status).toBe(200)
    const rows = await sql.query(
      'select status, balance_amount from public.payments where payment_key = $1',
      [paymentKey],
    )
    expect(rows.rows).toEqual([{ status: 'DONE', balance_amount: 30000 }])
  })

  it('refunds part of the payment through Toss exactly once', async () => {
    const res = await fetch(`${gateway.url}/api/v1/refunds`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ paymentKey, cancelReason: '단순 변심', cancelAmount: 10000 }),
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('x-bff-backend')).toBe('native')
    expect(await res.json()).toMatchObject({ status: 'done', amount: 10000 })
    expect(toss.cancelCount).toBe(1)
    const rows = await sql.query(
      'select balance_amount from public.payments where payment_key = $1',
      [paymentKey],
    )
    expect(rows.rows[0].balance_amount).toBe(20000)
  })

  it("refuses another user's refund with a clear 4xx and moves nothing", async () => {
    const other = await userToken('7a1e3c55-0b2d-4c8f-9e61-3d2a1b0c9f87')
    const res = await fetch(`${gateway.url}/api/v1/refunds`, {
      method: 'POST',
      headers: { authorization: `Bearer ${other}`, 'content-type': 'application/json' },
      body: JSON.stringify({ paymentKey, cancelReason: 'not mine', cancelAmount: 1000 }),
    })
    expect(res.status).toBeGreaterThanOrEqual(400)
    expect(res.status).toBeLessThan(500)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    expect(toss.cancelCount).toBe(1)
  })
})
