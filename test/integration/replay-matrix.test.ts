import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAnthropicClient } from '../../routes/ai/anthropic.js'
import { createAiPollSuggest } from '../../routes/ai/poll-suggest.js'
import { createAiReplySuggest } from '../../routes/ai/reply-suggest.js'
import { createPaymentCheckout } from '../../routes/payments/checkout.js'
import { createRefundProcess } from '../../routes/payments/refund.js'
import { TossClient } from '../../routes/payments/toss/client.js'
import { createPaymentWebhook } from '../../routes/payments/webhook.js'
import { createLogger } from '../../src/observability/log.js'
import { type Db, DbUnavailableError } from '../../src/platform/db/port.js'
import { type FakeAnthropic, startFakeAnthropic } from '../fakes/anthropic.js'
import { type LegacyStandIn, startLegacyStandIn } from '../fakes/legacy-functions.js'
import { paymentStatusChanged, startTossFake, type TossFake } from '../fakes/toss.js'
import { startTestGateway, type TestGateway } from '../helpers/gateway.js'
import { userToken } from '../helpers/tokens.js'
import { type Harness, postgresHarness, seedCatalog, seedPayment } from './db-harness.js'

/**
 * The replay matrix: every native route x every failure point, through the real gateway (the
 * dispatcher's replay policy), real PostgreSQL, and stand-ins for Toss, Anthropic and the
 * legacy functions that count every call. Each cell proves by those counts that nothing moved
 * twice: an effect that happened natively is never replayed to legacy, and a replay happens
 * only when nothing happened natively.
 *
 * Failure points: `before-mark` (the first write is refused: the connection was never made),
 * `after-commit` (the first write commits, then the handler crashes), `reset-after-commit` (it
 * commits and the connection resets before the answer), `timeout` (the vendor, or for checkout
 * the database, answers too late), `after-vendor` (the vendor acted, then the database failed),
 * `vendor-5xx` (the vendor answers 5xx; for Toss cancels, after applying the cancel). Checkout
 * calls no vendor, so it has no `after-vendor` and `vendor-5xx` cells.
 */

type Point =
  | 'before-mark'
  | 'after-commit'
  | 'reset-after-commit'
  | 'timeout'
  | 'after-vendor'
  | 'vendor-5xx'

interface Fault {
  fn: string
  /** `before`: fail without calling; `after`: call (it commits), then fail. */
  when: 'before' | 'after'
  error: () => Error
}

const netError = (code: string) =>
  new DbUnavailableError(`database unavailable (${code})`, {
    cause: Object.assign(new Error(code), { code }),
  })

/** The real database, with one fault armed at a time (the next call of one function). */
function faultyDb(real: Db) {
  let armed: Fault | undefined
  const db: Db = {
    kind: real.kind,
    ping: () => real.ping(),
    close: async () => {},
    async call<T>(fn: string, args: Record<string, unknown>): Promise<T> {
      const fault = armed?.fn === fn ? armed : undefined
      if (fault) armed = undefined
      if (fault?.when === 'before') throw fault.error()
      const result = await real.call<T>(fn, args)
      if (fault?.when === 'after') throw fault.error()
      return result
    },
  }
  return {
    db,
    arm(fault: Fault) {
      armed = fault
    },
    disarm() {
      armed = undefined
    },
  }
}

const logger = createLogger({ level: 'error', write: () => {} })
const REPLY = '{"suggestions":["고마워요!","또 만나요!","좋은 하루 보내요!"]}'
const POLLS = JSON.stringify({
  polls: [
    { question: '다음 굿즈는?', options: ['키링', '포토카드', '머그컵'] },
    { question: '가격대는?', options: ['1만원 이하', '1~3만원', '3만원 이상'] },
    { question: '색상은?', options: ['블랙', '화이트', '핑크'] },
  ],
})

describe('replay matrix: native route x failure point, nothing moves twice', () => {
  let h: Harness
  let toss: TossFake
  let anthropic: FakeAnthropic
  let legacy: LegacyStandIn
  let gateway: TestGateway
  let faults: ReturnType<typeof faultyDb>

  beforeAll(async () => {
    h = await postgresHarness()
    await seedCatalog(h)
    toss = await startTossFake()
    anthropic = await startFakeAnthropic()
    anthropic.setMode({
      kind: 'normal',
      text: (req) => (JSON.stringify(req.body).includes('polls') ? POLLS : REPLY),
    })
    legacy = await startLegacyStandIn()
    faults = faultyDb(h.db)
    const paymentDeps = {
      db: faults.db,
      toss: new TossClient({
        secretKey: toss.secretKey,
        baseUrl: toss.url,
        timeoutMs: 500,
        retries: 0,
        breakerThreshold: 1000,
      }),
      logger,
    }
    const aiDeps = {
      db: faults.db,
      anthropic: createAnthropicClient({
        apiKey: anthropic.apiKey,
        baseURL: anthropic.url,
        timeoutMs: 500,
        breakerThreshold: 1000,
      }),
      logger,
    }
    const native = {
      'payment-checkout': createPaymentCheckout(paymentDeps),
      'payment-webhook': createPaymentWebhook(paymentDeps),
      'refund-process': createRefundProcess(paymentDeps),
      'ai-reply-suggest': createAiReplySuggest(aiDeps),
      'ai-poll-suggest': createAiPollSuggest(aiDeps),
    }
    gateway = await startTestGateway(legacy.functionsUrl, {
      native,
      flags: Object.fromEntries(Object.keys(native).map((id) => [id, { native: 100 }])),
    })
  })
  afterAll(async () => {
    await gateway?.close()
    await legacy?.close()
    await anthropic?.close()
    await toss?.close()
    await h?.close()
  })

  const legacyCalls = (route: string) =>
    legacy.received.filter((r) => r.url.startsWith(`/functions/v1/${route}`)).length

  async function post(
    route: string,
    body: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; backend: string | null; body: string }> {
    const res = await fetch(`${gateway.url}/functions/v1/${route}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    })
    return { status: res.status, backend: res.headers.get('x-bff-backend'), body: await res.text() }
  }

  const newUser = () => randomUUID()
  const bearer = async (user: string) => ({ authorization: `Bearer ${await userToken(user)}` })

  // A fresh breaker per cell: the matrix is about replay, not about the breaker opening.
  const resetBreakers = () => {
    for (const id of ['payment-checkout', 'payment-webhook', 'refund-process']) {
      gateway.app.breakers.success(id)
    }
    gateway.app.breakers.success('ai-reply-suggest')
    gateway.app.breakers.success('ai-poll-suggest')
  }

  describe('payment-checkout', () => {
    const cells: Array<[Point, Fault]> = [
      [
        'before-mark',
        { fn: 'checkout_create_order', when: 'before', error: () => netError('ECONNREFUSED') },
      ],
      [
        'after-commit',
        { fn: 'checkout_create_order', when: 'after', error: () => new Error('crash') },
      ],
      [
        'reset-after-commit',
        { fn: 'checkout_create_order', when: 'after', error: () => netError('ECONNRESET') },
      ],
      [
        'timeout',
        { fn: 'checkout_create_order', when: 'after', error: () => netError('ETIMEDOUT') },
      ],
    ]
    it.each(cells)('%s', async (point, fault) => {
      resetBreakers()
      const user = newUser()
      const before = legacyCalls('payment-checkout')
      faults.arm(fault)
      const res = await post(
        'payment-checkout',
        { items: [{ productId: 'tee', quantity: 1 }] },
        { ...(await bearer(user)), 'idempotency-key': randomUUID() },
      )
      faults.disarm()
      const [orders] = await h.sql<{ n: string }>(
        'select count(*) as n from public.orders where user_id = $1',
        [user],
      )
      const native = Number(orders?.n)
      const replayed = legacyCalls('payment-checkout') - before
      expect(native + replayed).toBe(1)
      if (point === 'before-mark') {
        expect([native, replayed, res.backend]).toEqual([0, 1, 'legacy-fallback'])
      } else {
        expect([native, replayed, res.backend]).toEqual([1, 0, 'native'])
        expect(res.status).toBeGreaterThanOrEqual(500)
      }
    })
  })

  describe('refund-process', () => {
    const cells: Array<[Point, Fault | undefined, (paymentKey: string) => void]> = [
      [
        'before-mark',
        { fn: 'refund_reserve', when: 'before', error: () => netError('ECONNREFUSED') },
        () => {},
      ],
      [
        'after-commit',
        { fn: 'refund_reserve', when: 'after', error: () => new Error('crash') },
        () => {},
      ],
      [
        'reset-after-commit',
        { fn: 'refund_reserve', when: 'after', error: () => netError('ECONNRESET') },
        () => {},
      ],
      ['timeout', undefined, (pk) => toss.script(pk, [{ kind: 'slow', delayMs: 1000 }])],
      [
        'after-vendor',
        { fn: 'refund_settle_done', when: 'before', error: () => netError('ECONNRESET') },
        () => {},
      ],
      [
        'vendor-5xx',
        undefined,
        (pk) =>
          toss.script(pk, [{ kind: 'applied-then-error', status: 500, code: 'COMMON_ERROR' }]),
      ],
    ]
    it.each(cells)('%s', async (point, fault, prepare) => {
      resetBreakers()
      const user = newUser()
      const paid = await seedPayment(h.db, { userId: user })
      toss.seed({ paymentKey: paid.paymentKey, orderId: paid.orderId, totalAmount: paid.amount })
      const key = randomUUID()
      const body = { paymentKey: paid.paymentKey, cancelReason: 'matrix', cancelAmount: 1000 }
      const headers = { ...(await bearer(user)), 'idempotency-key': key }
      const before = legacyCalls('refund-process')
      prepare(paid.paymentKey)
      if (fault) faults.arm(fault)
      const res = await post('refund-process', body, headers)
      faults.disarm()
      const cancels = () => toss.payment(paid.paymentKey)?.cancels?.length ?? 0
      const replayed = legacyCalls('refund-process') - before
      expect(cancels() + replayed).toBeLessThanOrEqual(1)
      // refund-process is declared `never`: nothing is replayed, whatever failed.
      expect([replayed, res.backend]).toEqual([0, 'native'])
      if (point === 'before-mark') {
        expect(res.status).toBeGreaterThanOrEqual(500)
        expect(cancels()).toBe(0)
      }
      // The client repeats with its key (after the Toss answer landed): the refund finishes,
      // and Toss has cancelled exactly once.
      await new Promise((r) => setTimeout(r, point === 'timeout' ? 700 : 0))
      const again = await post('refund-process', body, headers)
      expect(again.status).toBe(200)
      expect(cancels()).toBe(1)
      expect(legacyCalls('refund-process') - before).toBe(0)
      const [row] = await h.sql<{ status: string; n: string }>(
        `select min(status) as status, count(*) as n from public.refunds where payment_key = $1`,
        [paid.paymentKey],
      )
      expect([row?.status, Number(row?.n)]).toEqual(['done', 1])
    })
  })

  describe('payment-webhook', () => {
    const cells: Array<[Point, Fault | undefined, () => () => void]> = [
      [
        'before-mark',
        { fn: 'webhook_claim_event', when: 'before', error: () => netError('ECONNREFUSED') },
        () => () => {},
      ],
      [
        'after-commit',
        { fn: 'webhook_claim_event', when: 'after', error: () => new Error('crash') },
        () => () => {},
      ],
      [
        'reset-after-commit',
        { fn: 'webhook_claim_event', when: 'after', error: () => netError('ECONNRESET') },
        () => () => {},
      ],
      [
        'timeout',
        undefined,
        () => {
          toss.setMode({ kind: 'slow', delayMs: 1000 })
          return () => toss.setMode({ kind: 'normal' })
        },
      ],
      [
        'after-vendor',
        { fn: 'webhook_apply_payment_event', when: 'before', error: () => netError('ECONNRESET') },
        () => () => {},
      ],
      [
        'vendor-5xx',
        undefined,
        () => {
          toss.setMode({ kind: 'failing' })
          return () => toss.setMode({ kind: 'normal' })
        },
      ],
    ]
    it.each(cells)('%s', async (point, fault, prepare) => {
      resetBreakers()
      const paid = await seedPayment(h.db, { userId: newUser() })
      const payment = toss.seed({
        paymentKey: paid.paymentKey,
        orderId: paid.orderId,
        totalAmount: paid.amount,
      })
      const transmissionId = randomUUID()
      const before = legacyCalls('payment-webhook')
      const restore = prepare()
      if (fault) faults.arm(fault)
      let res: Awaited<ReturnType<typeof post>>
      try {
        res = await post('payment-webhook', paymentStatusChanged(payment), {
          'tosspayments-webhook-transmission-id': transmissionId,
        })
      } finally {
        faults.disarm()
        restore()
      }
      const replayed = legacyCalls('payment-webhook') - before
      const [events] = await h.sql<{ n: string; outcome: string | null }>(
        `select count(*) as n, max(outcome) as outcome from public.payment_events
          where event_id = $1`,
        [transmissionId],
      )
      if (point === 'before-mark') {
        expect([replayed, Number(events?.n), res.backend]).toEqual([1, 0, 'legacy-fallback'])
        expect(toss.getCount(paid.paymentKey)).toBe(0)
        return
      }
      // After the claim nothing goes to legacy: the answer is non-200 and Toss delivers again.
      expect([replayed, res.backend]).toEqual([0, 'native'])
      expect(res.status).toBeGreaterThanOrEqual(500)
      expect(events?.outcome ?? 'received').toBe('received')
    })
  })

  for (const route of ['ai-reply-suggest', 'ai-poll-suggest'] as const) {
    describe(route, () => {
      const body =
        route === 'ai-reply-suggest'
          ? { message: '오늘 방송 너무 재밌었어요!', count: 3 }
          : { topic: '다음 굿즈', count: 3, optionsPerPoll: 3 }
      const cells: Array<[Point, Fault | undefined, () => () => void]> = [
        [
          'before-mark',
          { fn: 'ai_quota_consume', when: 'before', error: () => netError('ECONNREFUSED') },
          () => () => {},
        ],
        [
          'after-commit',
          { fn: 'ai_quota_consume', when: 'after', error: () => new Error('crash') },
          () => () => {},
        ],
        [
          'reset-after-commit',
          { fn: 'ai_quota_consume', when: 'after', error: () => netError('ECONNRESET') },
          () => () => {},
        ],
        [
          'timeout',
          undefined,
          () => {
            anthropic.setMode({ kind: 'slow', delayMs: 1500 })
            return () =>
              anthropic.setMode({
                kind: 'normal',
                text: (req) => (JSON.stringify(req.body).includes('polls') ? POLLS : REPLY),
              })
          },
        ],
        [
          'after-vendor',
          { fn: 'ai_usage_record', when: 'before', error: () => netError('ECONNRESET') },
          () => () => {},
        ],
        [
          'vendor-5xx',
          undefined,
          () => {
            anthropic.setMode({ kind: 'server-error' })
            return () =>
              anthropic.setMode({
                kind: 'normal',
                text: (req) => (JSON.stringify(req.body).includes('polls') ? POLLS : REPLY),
              })
          },
        ],
      ]
      it.each(cells)('%s', async (point, fault, prepare) => {
        resetBreakers()
        const user = newUser()
        const before = legacyCalls(route)
        const modelCalls = anthropic.requests.length
        const restore = prepare()
        if (fault) faults.arm(fault)
        let res: Awaited<ReturnType<typeof post>>
        try {
          res = await post(route, body, await bearer(user))
        } finally {
          faults.disarm()
          restore()
        }
        const replayed = legacyCalls(route) - before
        const [quota] = await h.sql<{ n: string }>(
          'select count(*) as n from public.ai_quotas where user_id = $1',
          [user],
        )
        const charged = Number(quota?.n)
        expect(charged + replayed).toBe(1)
        if (point === 'before-mark') {
          expect([replayed, res.backend]).toEqual([1, 'legacy-fallback'])
          expect(anthropic.requests.length).toBe(modelCalls)
          return
        }
        expect([replayed, res.backend]).toEqual([0, 'native'])
        if (point === 'after-commit' || point === 'reset-after-commit') {
          expect(res.status).toBeGreaterThanOrEqual(500)
          expect(anthropic.requests.length).toBe(modelCalls)
        } else {
          // The model (or the template) answered; the user was charged once.
          expect(res.status).toBe(200)
        }
      })
    })
  }
})
