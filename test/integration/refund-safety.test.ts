import { execFile } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { promisify } from 'node:util'
import { Hono } from 'hono'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { PaymentDeps } from '../../routes/payments/deps.js'
import { createRefundProcess } from '../../routes/payments/refund.js'
import { TossClient, type TossClientOptions } from '../../routes/payments/toss/client.js'
import { createPaymentWebhook } from '../../routes/payments/webhook.js'
import { errorHandler } from '../../src/error-handler.js'
import { createLogger } from '../../src/observability/log.js'
import type { AppEnv, Identity } from '../../src/types.js'
import { paymentStatusChanged, sendWebhook, startTossFake, type TossFake } from '../fakes/toss.js'
import { type Harness, postgresHarness, seedCatalog, seedPayment, USER_A } from './db-harness.js'

const run = promisify(execFile)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const logger = createLogger({ level: 'error', write: () => {} })

/** The refund and webhook handlers on a minimal app: identity from test headers. */
function buildApp(deps: PaymentDeps) {
  const app = new Hono<AppEnv>()
  app.use(async (c, next) => {
    c.set('requestId', 'req-test')
    c.set('sideEffect', false)
    c.set('logFields', {})
    const user = c.req.header('x-test-user')
    const identity: Identity | undefined = user
      ? {
          subject: user,
          role: 'authenticated',
          claims: c.req.header('x-test-ops') ? { app_metadata: { role: 'ops' } } : {},
          verified: true,
        }
      : undefined
    c.set('identity', identity)
    await next()
  })
  app.post('/refund', (c) => createRefundProcess(deps)(c))
  app.post('/webhook', (c) => createPaymentWebhook(deps)(c))
  app.onError(errorHandler(logger))
  return app
}

type App = ReturnType<typeof buildApp>

const refund = (
  app: App,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
  user = USER_A,
) =>
  app.request('/refund', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-test-user': user, ...headers },
    body: JSON.stringify(body),
  })

interface RefundAnswer {
  refundId: string
  status: string
  transactionKey: string | null
  balanceAmount: number
}

// Real PostgreSQL, a Toss stand-in that counts calls, concurrent requests where the defect
// needs them. Each case names the defect it guards against.
describe('refunds: money never moves twice', () => {
  let h: Harness
  let toss: TossFake
  const clientOptions = (options: Partial<TossClientOptions> = {}): TossClientOptions => ({
    secretKey: toss.secretKey,
    baseUrl: toss.url,
    timeoutMs: 10_000,
    retries: 2,
    retryDelayMs: 5,
    breakerThreshold: 1000,
    ...options,
  })
  const appWith = (options: Partial<TossClientOptions> = {}, fake = toss) =>
    buildApp({
      db: h.db,
      toss: new TossClient(clientOptions({ baseUrl: fake.url, ...options })),
      logger,
    })

  beforeAll(async () => {
    h = await postgresHarness()
    await seedCatalog(h)
    toss = await startTossFake()
  })
  afterAll(async () => {
    await toss?.close()
    await h?.close()
  })

  /** A DONE card payment of 30,000 in our table and at the Toss stand-in. */
  async function paid(fake = toss) {
    const payment = await seedPayment(h.db)
    fake.seed({
      paymentKey: payment.paymentKey,
      orderId: payment.orderId,
      totalAmount: payment.amount,
    })
    return payment
  }
  const rows = (paymentKey: string) =>
    h.sql<{
      id: string
      status: string
      idempotency_key: string
      toss_transaction_key: string | null
      amount: number
      last_error: string | null
    }>(
      `select id, status, idempotency_key, toss_transaction_key, amount,
              to_jsonb(r) ->> 'last_error' as last_error
         from public.refunds r where payment_key = $1 order by created_at`,
      [paymentKey],
    )

  it('one refund posted twice 300 ms apart, Toss answering the first after 6 s and failing the duplicate: one cancel, honest answers (defect 1)', async () => {
    const app = appWith()
    const payment = await paid()
    const key = randomUUID()
    const body = { paymentKey: payment.paymentKey, cancelReason: '중복 환불', cancelAmount: 1000 }
    const cancelsBefore = toss.cancelCount
    toss.script(payment.paymentKey, [
      { kind: 'slow', delayMs: 6000 },
      { kind: 'error', status: 500, code: 'FAILED_REFUND_PROCESS' },
      { kind: 'error', status: 500, code: 'FAILED_REFUND_PROCESS' },
      { kind: 'error', status: 500, code: 'FAILED_REFUND_PROCESS' },
    ])
    const first = refund(app, body, { 'idempotency-key': key })
    await sleep(300)
    const duplicate = await refund(app, body, { 'idempotency-key': key })
    // The duplicate never sends: it is told the refund is pending.
    expect(duplicate.status).toBe(202)
    const duplicateBody = (await duplicate.json()) as RefundAnswer
    expect(duplicateBody.status).toBe('pending')
    expect(Number(duplicate.headers.get('retry-after'))).toBeGreaterThan(0)
    // Ops resending it while the first send is in flight sends nothing either.
    const ops = await refund(app, { refundId: duplicateBody.refundId }, { 'x-test-ops': '1' })
    expect(ops.status).toBe(202)

    const firstAnswer = await first
    expect(firstAnswer.status).toBe(200)
    const done = (await firstAnswer.json()) as RefundAnswer
    expect(done.status).toBe('done')
    expect(toss.cancelCount - cancelsBefore).toBe(1)

    const [row, ...others] = await rows(payment.paymentKey)
    expect(others).toHaveLength(0)
    expect(row?.status).toBe('done')
    expect(row?.toss_transaction_key).toBe(toss.transactionFor(row?.idempotency_key as string))
    expect(done.transactionKey).toBe(row?.toss_transaction_key)

    // The client repeats with its key: the same refund, no new cancel.
    const again = await refund(app, body, { 'idempotency-key': key })
    expect([again.status, again.headers.get('idempotent-replayed')]).toEqual([200, 'true'])
    expect(((await again.json()) as RefundAnswer).refundId).toBe(row?.id)
    expect(toss.cancelCount - cancelsBefore).toBe(1)
    const [stored] = await h.sql<{ balance_amount: number }>(
      'select balance_amount from public.payments where payment_key = $1',
      [payment.paymentKey],
    )
    expect(stored?.balance_amount).toBe(toss.payment(payment.paymentKey)?.balanceAmount)
  }, 30_000)

  it('a cancel applied at Toss whose answer was lost stays pending, and the repeat asks Toss and settles it without a second cancel (defect 1)', async () => {
    const app = appWith({ retries: 0 })
    const payment = await paid()
    const key = randomUUID()
    const body = { paymentKey: payment.paymentKey, cancelReason: '응답 유실', cancelAmount: 2500 }
    const cancelsBefore = toss.cancelCount
    toss.script(payment.paymentKey, [{ kind: 'applied-then-reset' }])
    const lost = await refund(app, body, { 'idempotency-key': key })
    expect(lost.status).toBe(202)
    expect(((await lost.json()) as RefundAnswer).status).toBe('pending')
    const [pendingRow] = await rows(payment.paymentKey)
    expect(pendingRow?.status).toBe('pending')
    expect(toss.cancelCount - cancelsBefore).toBe(1)

    const getsBefore = toss.getCount(payment.paymentKey)
    const again = await refund(app, body, { 'idempotency-key': key })
    expect(again.status).toBe(200)
    expect(toss.getCount(payment.paymentKey) - getsBefore).toBe(1)
    expect(toss.cancelCount - cancelsBefore).toBe(1)
    const [row] = await rows(payment.paymentKey)
    expect(row?.status).toBe('done')
    expect(row?.toss_transaction_key).toBe(toss.transactionFor(row?.idempotency_key as string))
  })

  it('a Toss 5xx leaves the refund pending, never failed, and never frees the key (defects 1 and 3)', async () => {
    const app = appWith({ retries: 0 })
    const payment = await paid()
    const key = randomUUID()
    const body = { paymentKey: payment.paymentKey, cancelReason: '5xx', cancelAmount: 1000 }
    toss.script(payment.paymentKey, [{ kind: 'error', status: 500, code: 'COMMON_ERROR' }])
    const unknown = await refund(app, body, { 'idempotency-key': key })
    expect(unknown.status).toBe(202)
    const [row] = await rows(payment.paymentKey)
    expect([row?.status, row?.last_error]).toEqual(['pending', 'COMMON_ERROR'])
    const done = await refund(app, body, { 'idempotency-key': key })
    expect(done.status).toBe(200)
    expect(((await done.json()) as RefundAnswer).refundId).toBe(row?.id)
    expect(await rows(payment.paymentKey)).toHaveLength(1)
  })

  it('a temporary Toss refusal keeps the refund retryable with the same key, honouring Retry-After (defect 3)', async () => {
    const app = appWith()
    const payment = await paid()
    const key = randomUUID()
    const body = { paymentKey: payment.paymentKey, cancelReason: '연속 요청', cancelAmount: 1500 }
    toss.failNextCancel(payment.paymentKey, 403, 'FORBIDDEN_CONSECUTIVE_REQUEST')
    const refused = await refund(app, body, { 'idempotency-key': key })
    expect([refused.status, refused.headers.get('retry-after')]).toEqual([429, '2'])
    // Before the wait is over nothing is sent: the answer says how long is left.
    const cancelsBefore = toss.cancelCount
    const requestsBefore = toss.requests.length
    const early = await refund(app, body, { 'idempotency-key': key })
    expect(early.status).toBe(202)
    expect(Number(early.headers.get('retry-after'))).toBeLessThanOrEqual(2)
    expect(toss.requests.length).toBe(requestsBefore)
    await sleep(2100)
    const done = await refund(app, body, { 'idempotency-key': key })
    expect(done.status).toBe(200)
    expect(((await done.json()) as RefundAnswer).status).toBe('done')
    expect(toss.cancelCount - cancelsBefore).toBe(1)
    const all = await rows(payment.paymentKey)
    expect(all.map((r) => r.status)).toEqual(['done'])
  })

  it('30 concurrent equal partial refunds each name their own Toss cancel (defect 4)', async () => {
    // Toss stamps cancels to the second: equal amounts in one second tie.
    const wallToss = await startTossFake({ timestamps: 'wall' })
    try {
      const app = appWith({}, wallToss)
      const payment = await paid(wallToss)
      const worker = async (): Promise<string> => {
        const key = randomUUID()
        for (let attempt = 0; attempt < 2000; attempt++) {
          const res = await refund(
            app,
            { paymentKey: payment.paymentKey, cancelReason: '부분 환불', cancelAmount: 1000 },
            { 'idempotency-key': key },
          )
          if (res.status === 200) return ((await res.json()) as RefundAnswer).refundId
          if (res.status !== 409 && res.status !== 202) {
            throw new Error(`unexpected ${res.status}: ${await res.text()}`)
          }
          await sleep(10 + Math.random() * 20)
        }
        throw new Error('worker gave up')
      }
      const ids = await Promise.all(Array.from({ length: 30 }, worker))
      expect(new Set(ids).size).toBe(30)
      const all = await rows(payment.paymentKey)
      expect(all.filter((r) => r.status === 'done')).toHaveLength(30)
      const wrong = all.filter(
        (r) => r.toss_transaction_key !== wallToss.transactionFor(r.idempotency_key),
      )
      expect(wrong).toEqual([])
      expect(new Set(all.map((r) => r.toss_transaction_key)).size).toBe(30)
      const canceledAt = wallToss.payment(payment.paymentKey)?.cancels?.map((c) => c.canceledAt)
      // The race really produced ties (otherwise this case would prove nothing).
      expect(new Set(canceledAt).size).toBeLessThan(30)
      expect(wallToss.payment(payment.paymentKey)?.balanceAmount).toBe(0)
    } finally {
      await wallToss.close()
    }
  }, 60_000)

  it('a pending refund nobody retries is finished by the refund-retry job (`npm run jobs -- run refund-retry`), asking Toss first (defect 5)', async () => {
    const app = appWith({ timeoutMs: 300, retries: 0 })
    const payment = await paid()
    const cancelsBefore = toss.cancelCount
    toss.script(payment.paymentKey, [{ kind: 'slow', delayMs: 800 }])
    const pending = await refund(app, {
      paymentKey: payment.paymentKey,
      cancelReason: '작업으로 마무리',
      cancelAmount: 4000,
    })
    expect(pending.status).toBe(202)
    // Another refund of the payment is blocked until this one is finished.
    const blocked = await refund(app, {
      paymentKey: payment.paymentKey,
      cancelReason: 'next',
      cancelAmount: 1,
    })
    expect(blocked.status).toBe(409)
    await sleep(900)
    // The client never comes back; the job takes refunds pending for more than a minute.
    await h.sql(
      `update public.refunds set created_at = now() - interval '2 minutes' where payment_key = $1`,
      [payment.paymentKey],
    )
    const getsBefore = toss.getCount(payment.paymentKey)
    await run('npx', ['tsx', 'scripts/jobs-cli.ts', 'run', 'refund-retry', '--json'], {
      env: {
        ...process.env,
        DATABASE_URL: h.url,
        TOSS_SECRET_KEY: toss.secretKey,
        TOSS_API_URL: toss.url,
        LEGACY_FUNCTIONS_URL: 'http://127.0.0.1:9/functions/v1',
      },
      timeout: 60_000,
    })
    const [row] = await rows(payment.paymentKey)
    expect(row?.status).toBe('done')
    expect(row?.toss_transaction_key).toBe(toss.transactionFor(row?.idempotency_key as string))
    expect(toss.getCount(payment.paymentKey) - getsBefore).toBe(1)
    expect(toss.cancelCount - cancelsBefore).toBe(1)
    const next = await refund(app, {
      paymentKey: payment.paymentKey,
      cancelReason: 'next',
      cancelAmount: 1,
    })
    expect(next.status).toBe(200)
  }, 60_000)

  it('a same-key request queued behind another instance settling the refund replays it, never a unique violation (defect 6)', async () => {
    const app = appWith()
    const payment = await paid()
    const key = randomUUID()
    // Another instance: holds the payment while it records this key's refund as done.
    const other = new pg.Client({ connectionString: h.url })
    await other.connect()
    try {
      await other.query('begin')
      await other.query('select 1 from public.payments where payment_key = $1 for update', [
        payment.paymentKey,
      ])
      await other.query(
        `insert into public.refunds (payment_key, requester, client_idempotency_key, amount,
           full_cancel, refundable_amount, reason, status, settled_at, toss_transaction_key)
         values ($1, $2, $3, 500, false, 30000, 'other instance', 'done', now(), 'tx-other')`,
        [payment.paymentKey, USER_A, key],
      )
      const queued = refund(
        app,
        { paymentKey: payment.paymentKey, cancelReason: 'other instance', cancelAmount: 500 },
        { 'idempotency-key': key },
      )
      await sleep(300)
      await other.query('commit')
      const res = await queued
      expect(res.status).toBe(200)
      expect(res.headers.get('idempotent-replayed')).toBe('true')
      expect(((await res.json()) as RefundAnswer).transactionKey).toBe('tx-other')
    } finally {
      await other.end()
    }
  })

  it('50 concurrent claims of one refund: exactly one sender', async () => {
    const payment = await paid()
    const reserved = await h.db.call<{ refundId: string }>('refund_reserve', {
      p_payment_key: payment.paymentKey,
      p_user_id: USER_A,
      p_amount: 100,
      p_reason: 'lease',
      p_is_ops: false,
    })
    const claims = await Promise.all(
      Array.from({ length: 50 }, () =>
        h.db.call<{ claimed: boolean; retryAfterSeconds?: number }>('refund_claim', {
          p_refund_id: reserved.refundId,
          p_lease_seconds: 120,
        }),
      ),
    )
    expect(claims.filter((c) => c.claimed)).toHaveLength(1)
    expect(claims.filter((c) => !c.claimed).every((c) => (c.retryAfterSeconds ?? 0) > 0)).toBe(true)
  })

  it('a refund pending past the Toss idempotency window whose balance moved is left for ops, not re-sent', async () => {
    const payment = await paid()
    const deps = (clock?: () => number) => ({
      db: h.db,
      toss: new TossClient(clientOptions({ timeoutMs: 300, retries: 0 })),
      logger,
      ...(clock ? { clock } : {}),
    })
    toss.script(payment.paymentKey, [{ kind: 'applied-then-reset' }])
    const pending = await refund(buildApp(deps()), {
      paymentKey: payment.paymentKey,
      cancelReason: 'old',
      cancelAmount: 700,
    })
    expect(pending.status).toBe(202)
    const { refundId } = (await pending.json()) as RefundAnswer
    const requestsBefore = toss.requests.filter((r) => r.method === 'POST').length
    const later = Date.now() + 16 * 24 * 3600_000
    const ops = await refund(buildApp(deps(() => later)), { refundId }, { 'x-test-ops': '1' })
    expect(ops.status).toBe(202)
    expect(toss.requests.filter((r) => r.method === 'POST').length).toBe(requestsBefore)
    const [row] = await rows(payment.paymentKey)
    expect([row?.status, row?.last_error]).toEqual(['pending', 'NEEDS_REVIEW'])
  })

  it('121 deliveries of one webhook cost one Toss call and apply once (defect 6)', async () => {
    const app = appWith()
    const payment = await paid()
    const transmissionId = randomUUID()
    const event = paymentStatusChanged(toss.payment(payment.paymentKey) as never)
    const deliver = () =>
      sendWebhook(app, '/webhook', event, {
        'content-type': 'application/json',
        'tosspayments-webhook-transmission-id': transmissionId,
      })
    const concurrent = await Promise.all(Array.from({ length: 100 }, deliver))
    const statuses = concurrent.map((r) => r.status)
    expect(statuses.every((s) => s === 200 || s === 409)).toBe(true)
    const outcomes = await Promise.all(
      concurrent.filter((r) => r.status === 200).map(async (r) => (await r.json()).outcome),
    )
    expect(outcomes.filter((o) => o !== 'duplicate')).toHaveLength(1)
    for (let i = 0; i < 21; i++) {
      const res = await deliver()
      expect(await res.json()).toEqual({ ok: true, outcome: 'duplicate' })
    }
    expect(toss.getCount(payment.paymentKey)).toBe(1)
    const [events] = await h.sql<{ n: string }>(
      'select count(*) as n from public.payment_events where event_id = $1',
      [transmissionId],
    )
    expect(Number(events?.n)).toBe(1)
  })

  it('a webhook whose Toss re-fetch failed is processed again on redelivery', async () => {
    const payment = await paid()
    const transmissionId = randomUUID()
    const event = paymentStatusChanged(toss.payment(payment.paymentKey) as never)
    const headers = {
      'content-type': 'application/json',
      'tosspayments-webhook-transmission-id': transmissionId,
    }
    toss.setMode({ kind: 'failing' })
    try {
      const failed = await sendWebhook(appWith({ retries: 0 }), '/webhook', event, headers)
      expect(failed.status).toBe(503)
    } finally {
      toss.setMode({ kind: 'normal' })
    }
    const redelivered = await sendWebhook(appWith(), '/webhook', event, headers)
    expect(redelivered.status).toBe(200)
    expect((await redelivered.json()).outcome).not.toBe('duplicate')
  })
})
