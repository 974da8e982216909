import { randomUUID } from 'node:crypto'
import { Hono } from 'hono'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createPaymentCheckout } from '../../routes/payments/checkout.js'
import type { PaymentDeps } from '../../routes/payments/deps.js'
import { createRefundProcess } from '../../routes/payments/refund.js'
import { TossClient, type TossClientOptions } from '../../routes/payments/toss/client.js'
import { createPaymentWebhook } from '../../routes/payments/webhook.js'
import { errorHandler } from '../../src/error-handler.js'
import { createLogger } from '../../src/observability/log.js'
import { parseTraceparent, traceContextOf } from '../../src/observability/trace-context.js'
import type { AppEnv, Identity } from '../../src/types.js'
import {
  depositCallback,
  paymentStatusChanged,
  sendWebhook,
  startTossFake,
  type TossFake,
  webhookHeaders,
} from '../fakes/toss.js'
import { type Harness, postgresHarness, seedCatalog, USER_A, USER_B } from './db-harness.js'

const logLines: string[] = []
const logger = createLogger({ level: 'debug', write: (line) => logLines.push(line) })

/** The handlers on a minimal app: identity from test headers, problems rendered as the gateway does. */
function buildApp(deps: PaymentDeps) {
  const app = new Hono<AppEnv>()
  app.use(async (c, next) => {
    c.set('requestId', 'req-test')
    c.set('sideEffect', false)
    c.set('trace', traceContextOf(c.req.header('traceparent')))
    const user = c.req.header('x-test-user')
    const identity: Identity | undefined = user
      ? {
          subject: user,
          role: c.req.header('x-test-role') ?? 'authenticated',
          claims: c.req.header('x-test-ops') ? { app_metadata: { role: 'ops' } } : {},
          verified: true,
        }
      : undefined
    c.set('identity', identity)
    await next()
    c.header('x-test-side-effect', String(c.var.sideEffect))
  })
  app.post('/checkout', (c) => createPaymentCheckout(deps)(c))
  app.post('/webhook', (c) => createPaymentWebhook(deps)(c))
  app.post('/refund', (c) => createRefundProcess(deps)(c))
  app.onError(errorHandler(createLogger({ level: 'error', write: () => {} })))
  return app
}

describe('payment routes with the Toss stand-in and PostgreSQL', () => {
  let h: Harness
  let toss: TossFake
  let app: ReturnType<typeof buildApp>
  const clientOptions = (): TossClientOptions => ({
    secretKey: toss.secretKey,
    baseUrl: toss.url,
    timeoutMs: 400,
    retries: 1,
    retryDelayMs: 5,
    breakerThreshold: 50,
    halfOpenAfterMs: 60_000,
  })
  const appWith = (options: Partial<TossClientOptions> = {}) =>
    buildApp({ db: h.db, toss: new TossClient({ ...clientOptions(), ...options }), logger })

  beforeAll(async () => {
    h = await postgresHarness()
    await seedCatalog(h)
    toss = await startTossFake()
    app = appWith()
  })
  afterAll(async () => {
    await toss?.close()
    await h?.close()
  })
  beforeEach(() => {
    toss.setMode({ kind: 'normal' })
  })

  const count = async (table: string) =>
    Number((await h.sql<{ n: string }>(`select count(*) as n from public.${table}`))[0]?.n)
  const post = (
    target: { request: typeof app.request },
    path: string,
    body: unknown,
    headers: Record<string, string> = {},
  ) =>
    target.request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    })
  const asUser = (user = USER_A, extra: Record<string, string> = {}) => ({
    'x-test-user': user,
    ...extra,
  })
  const problem = async (res: Response) => {
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    return (await res.json()) as {
      code: string
      status: number
      detail: string
      errors?: Array<{ field: string }>
    }
  }

  /** Checkout, then Toss "confirms" it and tells us through the webhook. */
  async function paidOrder(
    options: { user?: string; method?: string; secret?: string; quantity?: number } = {},
  ) {
    const res = await post(
      app,
      '/checkout',
      { items: [{ productId: 'tee', quantity: options.quantity ?? 2 }] },
      asUser(options.user),
    )
    const order = (await res.json()) as { orderId: string; amount: number }
    const paymentKey = `pk_${randomUUID().replaceAll('-', '')}`
    const payment = toss.seed({
      paymentKey,
      orderId: order.orderId,
      totalAmount: order.amount,
      method: options.method ?? '카드',
      secret: options.secret ?? null,
    })
    const delivered = await sendWebhook(app, '/webhook', paymentStatusChanged(payment))
    expect(await delivered.json()).toEqual({ ok: true, outcome: 'applied' })
    return { ...order, paymentKey }
  }

  describe('payment-checkout', () => {
    it('creates an order priced from the catalog, ignoring a client amount', async () => {
      const res = await post(
        app,
        '/checkout',
        {
          items: [
            { productId: 'tee', quantity: 2 },
            { productId: 'cap', quantity: 1 },
          ],
          amount: 1,
        },
        asUser(),
      )
      expect(res.status).toBe(201)
      const body = (await res.json()) as Record<string, unknown>
      expect(body).toMatchObject({ amount: 39000, currency: 'KRW', orderName: '티셔츠 외 1건' })
      expect(body.orderId).toMatch(/^[A-Za-z0-9_-]{6,64}$/)
      expect(body.customerKey).toMatch(/^[A-Za-z0-9_=.@-]{2,50}$/)
      expect(Object.keys(body).sort()).toEqual([
        'amount',
        'currency',
        'customerKey',
        'orderId',
        'orderName',
      ])
    })

    it('returns the same order for a repeated Idempotency-Key', async () => {
      const headers = asUser(USER_B, { 'idempotency-key': `cart-${randomUUID()}` })
      const first = await post(
        app,
        '/checkout',
        { items: [{ productId: 'cap', quantity: 3 }] },
        headers,
      )
      const second = await post(
        app,
        '/checkout',
        { items: [{ productId: 'cap', quantity: 3 }] },
        headers,
      )
      expect([first.status, second.status]).toEqual([201, 200])
      expect(second.headers.get('idempotent-replayed')).toBe('true')
      expect(((await second.json()) as { orderId: string }).orderId).toBe(
        ((await first.json()) as { orderId: string }).orderId,
      )
      const reused = await post(
        app,
        '/checkout',
        { items: [{ productId: 'cap', quantity: 4 }] },
        headers,
      )
      expect(reused.status).toBe(422)
      expect((await problem(reused)).errors?.[0]?.field).toBe('header:idempotency-key')
    })

    it('refuses bad input with the field named and writes nothing', async () => {
      const before = await count('orders')
      const cases: Array<[unknown, number, string, Record<string, string>?]> = [
        [{}, 422, 'items'],
        [{ items: 'tee' }, 422, 'items'],
        [{ items: [] }, 422, 'items'],
        [
          { items: Array.from({ length: 21 }, (_, i) => ({ productId: `p${i}`, quantity: 1 })) },
          422,
          'items',
        ],
        [{ items: [{ productId: 'tee', quantity: 0 }] }, 422, 'items.0.quantity'],
        [{ items: [{ productId: 'tee', quantity: 100 }] }, 422, 'items.0.quantity'],
        [{ items: [{ productId: 'tee', quantity: -1 }] }, 422, 'items.0.quantity'],
        [{ items: [{ productId: 'tee', quantity: '2' }] }, 422, 'items.0.quantity'],
        [{ items: [{ productId: 'tee', quantity: 1.5 }] }, 422, 'items.0.quantity'],
        [{ items: [{ productId: 'tee' }] }, 422, 'items.0.quantity'],
        [{ items: [{ productId: 12, quantity: 1 }] }, 422, 'items.0.productId'],
        [{ items: [{ productId: '../etc', quantity: 1 }] }, 422, 'items.0.productId'],
        [
          {
            items: [
              { productId: 'tee', quantity: 1 },
              { productId: 'nope', quantity: 1 },
            ],
          },
          422,
          'items.1.productId',
        ],
        [{ items: [{ productId: 'old', quantity: 1 }] }, 422, 'items.0.productId'],
        [
          {
            items: [
              { productId: 'tee', quantity: 1 },
              { productId: 'tee', quantity: 2 },
            ],
          },
          422,
          'items.1.productId',
        ],
        ['{not json', 400, '(body)'],
        [
          { items: [{ productId: 'tee', quantity: 1 }] },
          422,
          'header:idempotency-key',
          { 'idempotency-key': 'x'.repeat(301) },
        ],
      ]
      for (const [body, status, field, headers] of cases) {
        const res = await post(app, '/checkout', body, asUser(USER_A, headers ?? {}))
        expect([JSON.stringify(body).slice(0, 60), res.status]).toEqual([
          JSON.stringify(body).slice(0, 60),
          status,
        ])
        expect((await problem(res)).errors?.map((e) => e.field)).toContain(field)
      }
      const anonymous = await post(app, '/checkout', { items: [{ productId: 'tee', quantity: 1 }] })
      expect(anonymous.status).toBe(403)
      expect(await count('orders')).toBe(before)
    })
  })

  describe('payment-webhook', () => {
    it('applies what Toss says, not what the body says, and dedupes by transmission id', async () => {
      const order = await paidOrder()
      const atToss = toss.payment(order.paymentKey)
      if (!atToss) throw new Error('seeded payment missing')
      const forged = paymentStatusChanged({ ...atToss, status: 'CANCELED', balanceAmount: 0 })
      const headers = webhookHeaders({ transmissionId: `tx-${randomUUID()}` })
      const first = await sendWebhook(app, '/webhook', forged, headers)
      expect(first.status).toBe(200)
      const [row] = await h.sql<{ status: string; balance_amount: number }>(
        'select status, balance_amount from public.payments where payment_key = $1',
        [order.paymentKey],
      )
      expect(row).toEqual({ status: 'DONE', balance_amount: order.amount })
      const again = await sendWebhook(app, '/webhook', forged, {
        ...headers,
        'tosspayments-webhook-transmission-retried-count': '1',
      })
      expect(await again.json()).toEqual({ ok: true, outcome: 'duplicate' })
      // Without a transmission id, the event's identity dedupes.
      const bare = paymentStatusChanged(atToss)
      await sendWebhook(app, '/webhook', bare, webhookHeaders({ transmissionId: null }))
      const bareAgain = await sendWebhook(
        app,
        '/webhook',
        bare,
        webhookHeaders({ transmissionId: null }),
      )
      expect(await bareAgain.json()).toEqual({ ok: true, outcome: 'duplicate' })
    })

    it('answers 200 for unknown orders and unhandled event types, non-200 for unknown payments', async () => {
      const stranger = toss.seed({
        paymentKey: `pk_${randomUUID()}`,
        orderId: 'ord_elsewhere_01',
        totalAmount: 5000,
      })
      const unknown = await sendWebhook(app, '/webhook', paymentStatusChanged(stranger))
      expect([unknown.status, await unknown.json()]).toEqual([
        200,
        { ok: true, outcome: 'unknown-order' },
      ])
      const other = await sendWebhook(app, '/webhook', {
        eventType: 'CANCEL_STATUS_CHANGED',
        createdAt: 'x',
        data: {},
      })
      expect(await other.json()).toEqual({ ok: true, outcome: 'ignored' })
      const ghost = await sendWebhook(
        app,
        '/webhook',
        paymentStatusChanged({ ...stranger, paymentKey: 'pk_not_at_toss' }),
      )
      expect(ghost.status).toBe(404)
    })

    it('authenticates DEPOSIT_CALLBACK by its secret', async () => {
      const order = await paidOrder({ method: '가상계좌', secret: 'ps_deposit_secret' })
      const wrong = await sendWebhook(
        app,
        '/webhook',
        depositCallback({ orderId: order.orderId, secret: 'guess', status: 'DONE' }),
      )
      expect(wrong.status).toBe(401)
      const right = await sendWebhook(
        app,
        '/webhook',
        depositCallback({
          orderId: order.orderId,
          secret: 'ps_deposit_secret',
          status: 'DONE',
          createdAt: '2099-01-01T00:00:00.000000',
        }),
      )
      expect(await right.json()).toEqual({ ok: true, outcome: 'applied' })
    })

    it('refuses malformed bodies with the field named, writing nothing', async () => {
      const before = await count('payment_events')
      const cases: Array<[unknown, number, string]> = [
        ['[not json', 400, '(body)'],
        [[1, 2], 422, '(body)'],
        [{ eventType: 'PAYMENT_STATUS_CHANGED', createdAt: 'x' }, 422, 'data'],
        [
          {
            eventType: 'PAYMENT_STATUS_CHANGED',
            createdAt: 'x',
            data: { paymentKey: 'k', orderId: 'bad id!', status: 'DONE' },
          },
          422,
          'data.orderId',
        ],
        [
          {
            eventType: 'PAYMENT_STATUS_CHANGED',
            createdAt: 'x',
            data: { paymentKey: 'k', orderId: 'ord_123456', status: 'PAID' },
          },
          422,
          'data.status',
        ],
        [{ eventType: 42 }, 422, 'eventType'],
        [{ createdAt: 'x', status: 'DONE', orderId: 'ord_123456' }, 422, 'secret'],
        [
          { createdAt: 'not a time', secret: 's', status: 'DONE', orderId: 'ord_123456' },
          422,
          'createdAt',
        ],
      ]
      for (const [body, status, field] of cases) {
        const res = await sendWebhook(app, '/webhook', body)
        expect([JSON.stringify(body).slice(0, 50), res.status]).toEqual([
          JSON.stringify(body).slice(0, 50),
          status,
        ])
        expect((await problem(res)).errors?.map((e) => e.field)).toContain(field)
      }
      expect(await count('payment_events')).toBe(before)
    })
  })

  describe('refund-process', () => {
    it('refunds part, then the rest, through Toss', async () => {
      const order = await paidOrder()
      const cancelsBefore = toss.cancelCount
      const traceId = '4bf92f3577b34da6a3ce929d0e0e4736'
      const partial = await post(
        app,
        '/refund',
        { paymentKey: order.paymentKey, cancelReason: '부분 환불', cancelAmount: 10000 },
        { ...asUser(), traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
      )
      expect(partial.status).toBe(200)
      expect(await partial.json()).toMatchObject({
        status: 'done',
        amount: 10000,
        balanceAmount: 20000,
        paymentStatus: 'PARTIAL_CANCELED',
      })
      const rest = await post(
        app,
        '/refund',
        { paymentKey: order.paymentKey, cancelReason: '나머지' },
        asUser(),
      )
      expect(await rest.json()).toMatchObject({
        status: 'done',
        amount: 20000,
        balanceAmount: 0,
        paymentStatus: 'CANCELED',
      })
      expect(toss.cancelCount - cancelsBefore).toBe(2)
      const sent = toss.requests.filter((r) => r.path.endsWith('/cancel')).slice(-2)
      expect(sent[0]?.body).toEqual({
        cancelReason: '부분 환불',
        cancelAmount: 10000,
        refundableAmount: 30000,
      })
      expect(sent[1]?.body).toEqual({ cancelReason: '나머지', refundableAmount: 20000 })
      expect(sent[0]?.headers['idempotency-key']).toMatch(/^refund_[0-9a-f]{32}$/)
      // The cancel joins the request's trace as a child span.
      const sentTrace = parseTraceparent(sent[0]?.headers.traceparent as string)
      expect(sentTrace).toMatchObject({ traceId, flags: 1 })
      expect(sentTrace?.parentId).not.toBe('00f067aa0ba902b7')
      expect(sent[0]?.headers.authorization).toBe(
        `Basic ${Buffer.from(`${toss.secretKey}:`).toString('base64')}`,
      )
    })

    it('maps every definitive Toss refusal to a problem the client can act on, failing the refund', async () => {
      const cases: Array<[number, string, number, string]> = [
        [403, 'NOT_CANCELABLE_PAYMENT', 409, 'not-cancelable-payment'],
        [403, 'NOT_CANCELABLE_AMOUNT', 422, 'not-cancelable-amount'],
        [400, 'ALREADY_REFUND_PAYMENT', 409, 'already-refunded'],
        [400, 'INVALID_REFUND_ACCOUNT_INFO', 422, 'invalid-refund-account'],
        [400, 'INVALID_REQUEST', 502, 'payment-provider-rejected'],
      ]
      const order = await paidOrder({ quantity: 5 })
      for (const [status, code, expected, problemCode] of cases) {
        toss.failNextCancel(order.paymentKey, status, code)
        const res = await post(
          app,
          '/refund',
          { paymentKey: order.paymentKey, cancelReason: 'r', cancelAmount: 100 },
          asUser(),
        )
        expect([code, res.status]).toEqual([code, expected])
        const body = (await problem(res)) as { code: string; refundStatus?: string }
        expect([code, body.code, body.refundStatus]).toEqual([code, problemCode, 'failed'])
      }
      const rows = await h.sql<{ status: string }>(
        'select status from public.refunds where payment_key = $1',
        [order.paymentKey],
      )
      expect(rows.map((r) => r.status)).toEqual(cases.map(() => 'failed'))
      expect(toss.payment(order.paymentKey)?.balanceAmount).toBe(order.amount)
    })

    it('keeps a refund pending on a temporary Toss refusal, with an honest Retry-After', async () => {
      const cases: Array<[number, string, number, string, string]> = [
        [403, 'FORBIDDEN_CONSECUTIVE_REQUEST', 429, 'too-many-requests', '2'],
        [400, 'PROVIDER_ERROR', 503, 'toss-provider-error', '10'],
      ]
      for (const [status, code, expected, problemCode, retryAfter] of cases) {
        const order = await paidOrder()
        toss.failNextCancel(order.paymentKey, status, code)
        const res = await post(
          app,
          '/refund',
          { paymentKey: order.paymentKey, cancelReason: 'r', cancelAmount: 100 },
          asUser(),
        )
        expect([code, res.status, res.headers.get('retry-after')]).toEqual([
          code,
          expected,
          retryAfter,
        ])
        const body = (await problem(res)) as { code: string; refundStatus?: string }
        expect([body.code, body.refundStatus]).toEqual([problemCode, 'pending'])
        const [row] = await h.sql<{ status: string; last_error: string }>(
          'select status, last_error from public.refunds where payment_key = $1',
          [order.paymentKey],
        )
        expect(row).toEqual({ status: 'pending', last_error: code })
      }
    })

    it('refuses when Toss balance moved underneath us (NOT_MATCHES_REFUNDABLE_AMOUNT)', async () => {
      const order = await paidOrder()
      // Someone cancelled 1000 at Toss directly; our table has not heard of it yet.
      await new TossClient(clientOptions()).cancelPayment(
        order.paymentKey,
        { cancelReason: 'console', cancelAmount: 1000 },
        randomUUID(),
      )
      const res = await post(
        app,
        '/refund',
        { paymentKey: order.paymentKey, cancelReason: 'r', cancelAmount: 500 },
        asUser(),
      )
      expect(res.status).toBe(409)
      expect((await problem(res)).code).toBe('refundable-amount-changed')
    })

    it('never leaks a key problem: UNAUTHORIZED_KEY is a generic 502', async () => {
      const order = await paidOrder()
      const wrongKey = appWith({ secretKey: 'test_sk_wrong' })
      const res = await post(
        wrongKey,
        '/refund',
        { paymentKey: order.paymentKey, cancelReason: 'r' },
        asUser(),
      )
      expect(res.status).toBe(502)
      const body = await problem(res)
      expect(body.code).toBe('payment-provider-rejected')
      expect(JSON.stringify(body)).not.toMatch(/UNAUTHORIZED|secret|key/i)
    })

    it('keeps a refund pending after a Toss 500 and finishes it with the same key', async () => {
      const order = await paidOrder()
      const headers = asUser(USER_A, { 'idempotency-key': randomUUID() })
      toss.setMode({ kind: 'failing' })
      const failed = await post(
        app,
        '/refund',
        { paymentKey: order.paymentKey, cancelReason: 'r', cancelAmount: 700 },
        headers,
      )
      expect(failed.status).toBe(202)
      expect(((await failed.json()) as { status: string }).status).toBe('pending')
      expect(failed.headers.get('retry-after')).toBeTruthy()
      toss.setMode({ kind: 'normal' })
      const retried = await post(
        app,
        '/refund',
        { paymentKey: order.paymentKey, cancelReason: 'r', cancelAmount: 700 },
        headers,
      )
      expect(retried.status).toBe(200)
      const replay = await post(
        app,
        '/refund',
        { paymentKey: order.paymentKey, cancelReason: 'r', cancelAmount: 700 },
        headers,
      )
      expect([replay.status, replay.headers.get('idempotent-replayed')]).toEqual([200, 'true'])
      expect(toss.payment(order.paymentKey)?.balanceAmount).toBe(order.amount - 700)
    })

    it('finishes a refund whose Toss answer timed out, without a second cancel', async () => {
      const order = await paidOrder()
      const headers = asUser(USER_A, { 'idempotency-key': randomUUID() })
      const body = { paymentKey: order.paymentKey, cancelReason: '늦은 응답', cancelAmount: 3000 }
      const cancelsBefore = toss.cancelCount
      toss.setMode({ kind: 'slow', delayMs: 3000 })
      const pending = await post(app, '/refund', body, headers)
      expect(pending.status).toBe(202)
      const pendingBody = (await pending.json()) as { refundId: string; status: string }
      expect(pendingBody.status).toBe('pending')
      expect(pending.headers.get('x-test-side-effect')).toBe('true')
      expect(toss.cancelCount - cancelsBefore).toBe(1)
      // Another refund is refused while this one is unresolved.
      toss.setMode({ kind: 'normal' })
      const blocked = await post(app, '/refund', { ...body, cancelAmount: 1 }, asUser())
      expect(blocked.status).toBe(409)
      const done = await post(app, '/refund', body, headers)
      expect(done.status).toBe(200)
      expect(await done.json()).toMatchObject({
        refundId: pendingBody.refundId,
        status: 'done',
        balanceAmount: order.amount - 3000,
      })
      expect(toss.cancelCount - cancelsBefore).toBe(1)

      // The ops path: resend by refund id.
      toss.setMode({ kind: 'slow', delayMs: 3000 })
      const second = (await (
        await post(app, '/refund', { ...body, cancelAmount: 2000 }, asUser())
      ).json()) as { refundId: string; status: string }
      expect(second.status).toBe('pending')
      toss.setMode({ kind: 'normal' })
      const notOps = await post(app, '/refund', { refundId: second.refundId }, asUser())
      expect(notOps.status).toBe(403)
      const byOps = await post(
        app,
        '/refund',
        { refundId: second.refundId },
        asUser(USER_B, { 'x-test-ops': '1' }),
      )
      expect(await byOps.json()).toMatchObject({
        status: 'done',
        balanceAmount: order.amount - 5000,
      })
      expect(toss.cancelCount - cancelsBefore).toBe(2)
    })

    it('refuses bad refund input with the field named, writing nothing and calling no one', async () => {
      const order = await paidOrder()
      const before = await count('refunds')
      const tossCalls = toss.requests.length
      const ok = { paymentKey: order.paymentKey, cancelReason: 'r' }
      const cases: Array<[unknown, number, string, string?]> = [
        [{ cancelReason: 'r' }, 422, 'paymentKey'],
        [{ paymentKey: 42, cancelReason: 'r' }, 422, 'paymentKey'],
        [{ paymentKey: order.paymentKey }, 422, 'cancelReason'],
        [{ ...ok, cancelReason: ' ' }, 422, 'cancelReason'],
        [{ ...ok, cancelReason: 'x'.repeat(201) }, 422, 'cancelReason'],
        [{ ...ok, cancelAmount: -1 }, 422, 'cancelAmount'],
        [{ ...ok, cancelAmount: 0 }, 422, 'cancelAmount'],
        [{ ...ok, cancelAmount: 1.5 }, 422, 'cancelAmount'],
        [{ ...ok, cancelAmount: '100' }, 422, 'cancelAmount'],
        [{ ...ok, cancelAmount: 1e12 }, 422, 'cancelAmount'],
        [{ ...ok, cancelAmount: order.amount + 1 }, 422, 'cancelAmount'],
        [
          { ...ok, refundReceiveAccount: { bank: '88', accountNumber: '12-34', holderName: 'a' } },
          422,
          'refundReceiveAccount.accountNumber',
        ],
        [
          {
            ...ok,
            refundReceiveAccount: { bank: '88', accountNumber: '1'.repeat(21), holderName: 'a' },
          },
          422,
          'refundReceiveAccount.accountNumber',
        ],
        [
          {
            ...ok,
            refundReceiveAccount: { bank: '88', accountNumber: '1', holderName: 'x'.repeat(61) },
          },
          422,
          'refundReceiveAccount.holderName',
        ],
        [{ ...ok, paymentKey: 'pk_missing' }, 404, 'paymentKey'],
        [ok, 404, 'paymentKey', USER_B],
        ['nope', 400, '(body)'],
      ]
      for (const [body, status, field, user] of cases) {
        const res = await post(app, '/refund', body, asUser(user ?? USER_A))
        expect([JSON.stringify(body).slice(0, 60), res.status]).toEqual([
          JSON.stringify(body).slice(0, 60),
          status,
        ])
        expect((await problem(res)).errors?.map((e) => e.field)).toContain(field)
      }
      expect(await count('refunds')).toBe(before)
      expect(toss.requests.length).toBe(tossCalls)
    })

    it('answers 503 toss-unavailable when Toss is down, and fails fast once the breaker opens', async () => {
      const order = await paidOrder()
      const breakerApp = appWith({ breakerThreshold: 2, retries: 0 })
      await toss.down()
      try {
        const before = await count('refunds')
        const first = await post(
          breakerApp,
          '/refund',
          { paymentKey: order.paymentKey, cancelReason: 'r', cancelAmount: 100 },
          asUser(),
        )
        // Toss could not be reached: the refund is kept and finished later, never failed.
        expect(first.status).toBe(202)
        expect(((await first.json()) as { status: string }).status).toBe('pending')
        const webhook = await sendWebhook(
          breakerApp,
          '/webhook',
          paymentStatusChanged(toss.payment(order.paymentKey) as never),
        )
        expect(webhook.status).toBe(503)
        // Two consecutive failures: the breaker is open, nothing is reserved any more.
        const reservedSoFar = await count('refunds')
        const open = await post(
          breakerApp,
          '/refund',
          { paymentKey: order.paymentKey, cancelReason: 'r', cancelAmount: 100 },
          asUser(),
        )
        expect(open.status).toBe(503)
        expect(open.headers.get('retry-after')).toBe('60')
        expect((await problem(open)).code).toBe('toss-unavailable')
        expect(await count('refunds')).toBe(reservedSoFar)
        expect(reservedSoFar - before).toBe(1)
        const [kept] = await h.sql<{ status: string }>(
          'select status from public.refunds where payment_key = $1',
          [order.paymentKey],
        )
        expect(kept?.status).toBe('pending')
      } finally {
        await toss.up()
      }
    })
  })
})
