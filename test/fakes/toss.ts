import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { TossCancel, TossPayment } from '../../routes/payments/toss/client.js'

/**
 * A TossPayments API v1 stand-in (docs.tosspayments.com/reference), for what the gateway
 * calls: `GET /v1/payments/{paymentKey}`, `POST /v1/payments/{paymentKey}/cancel`,
 * `GET /v1/payments/orders/{orderId}` and billing (docs.tosspayments.com/guides/billing):
 * `POST /v1/billing/authorizations/issue`, `POST /v1/billing/{billingKey}`,
 * `DELETE /v1/billing/{billingKey}`. Payments are seeded by the test or made by billing charges. Behaviour follows the documented one: Basic auth with
 * `secretKey + ':'`, `{code, message}` errors, Idempotency-Key replays the first response, and
 * the cancel rules (refundableAmount, over-cancel, virtual-account refund account).
 */

export type TossFakeMode =
  | { kind: 'normal' }
  /** Apply the operation, then wait before answering (a response that arrives too late). */
  | { kind: 'slow'; delayMs: number }
  /** Answer every call with a 500 without applying anything. */
  | {
      kind: 'failing'
      code?: 'FAILED_REFUND_PROCESS' | 'COMMON_ERROR' | 'FAILED_INTERNAL_SYSTEM_PROCESSING'
    }

/**
 * One scripted answer to the next cancel of a payment (consumed in order, before the
 * Idempotency-Key is looked up, as an outage in front of Toss's processing would be):
 * `slow` processes normally and answers late; `error` answers `{code, message}` without
 * processing or remembering anything; `applied-then-error` processes the cancel (and remembers
 * its answer for the Idempotency-Key) but the caller sees an error; `applied-then-reset`
 * processes it and drops the connection without answering.
 */
export type TossScriptStep =
  | { kind: 'slow'; delayMs: number }
  | { kind: 'error'; status: number; code: string; message?: string }
  | { kind: 'applied-then-error'; status: number; code: string }
  | { kind: 'applied-then-reset' }

export interface TossFakeRequest {
  method: string
  path: string
  headers: Record<string, string | string[] | undefined>
  body: unknown
}

export interface TossFake {
  readonly url: string
  readonly secretKey: string
  /** Every request received, in order. */
  readonly requests: TossFakeRequest[]
  /** Cancels actually applied (idempotent replays are not counted). */
  readonly cancelCount: number
  seed(payment: SeedPayment): TossPayment
  payment(paymentKey: string): TossPayment | undefined
  setMode(mode: TossFakeMode): void
  /** Billing charges actually applied (idempotent replays are not counted). */
  readonly chargeCount: number
  /** Applied charges per orderId: any value above 1 is a duplicate charge. */
  readonly chargesByOrder: ReadonlyMap<string, number>
  /** Every billing key issued, deleted or not (to prove none leaks anywhere). */
  readonly issuedBillingKeys: readonly string[]
  /** Billing keys deleted through the API. */
  readonly deletedBillingKeys: ReadonlySet<string>
  /**
   * What the SDK's `requestBillingAuth` gives the client: an authKey bound to `customerKey`.
   * `method` other than the contracted card makes the issue fail with NOT_SUPPORTED_METHOD.
   */
  billingAuth(customerKey: string, options?: { method?: string }): string
  /** Register cards as if their billing keys had been issued (bulk seeding for benchmarks). */
  registerCards(cards: ReadonlyArray<{ customerKey: string; billingKey: string }>): void
  /** The next charges on cards of `customerKey` fail, one code each (HTTP 400 unless 5xx-coded). */
  failCharges(customerKey: string, codes: string[]): void
  /** The next `count` charges are applied, then the connection is dropped before the answer. */
  dropChargeAnswers(count: number): void
  /** Delay before every answer (a slow provider), in milliseconds. */
  setLatency(ms: number): void
  /** Script the next cancels of a payment (see `TossScriptStep`). */
  script(paymentKey: string, steps: TossScriptStep[]): void
  /** The transaction key of the cancel a given Idempotency-Key applied (the stand-in's truth). */
  transactionFor(idempotencyKey: string): string | undefined
  /** `GET /v1/payments/{paymentKey}` calls received for a payment. */
  getCount(paymentKey?: string): number
  /** Force the next cancel of a payment to fail with a given Toss error. */
  failNextCancel(paymentKey: string, status: number, code: string, message?: string): void
  /** Stop listening and drop open connections: calls fail with ECONNREFUSED. */
  down(): Promise<void>
  /** Listen again on the same port. */
  up(): Promise<void>
  close(): Promise<void>
}

export type SeedPayment = Pick<TossPayment, 'paymentKey' | 'orderId' | 'totalAmount'> &
  Partial<TossPayment>

const VIRTUAL_ACCOUNT = '가상계좌'

/** Toss timestamps are ISO 8601 in KST with an offset, e.g. 2024-02-13T12:18:14+09:00. */
export function kstIso(ms: number): string {
  return `${new Date(ms + 9 * 3600_000).toISOString().slice(0, 19)}+09:00`
}

class HttpError {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly message: string,
  ) {}
}

/** Card errors of the billing charge API (docs.tosspayments.com/reference/error-codes). */
export const BILLING_CARD_ERRORS = [
  'INVALID_CARD_EXPIRATION',
  'INVALID_STOPPED_CARD',
  'INVALID_REJECT_CARD',
  'PROVIDER_ERROR',
] as const

interface BillingCard {
  customerKey: string
  billingKey: string
  deleted: boolean
}

export async function startTossFake({
  secretKey = 'test_sk_fake0000000000000000',
  port = 0,
  latencyMs = 0,
  timestamps = 'increasing',
}: {
  secretKey?: string
  port?: number
  latencyMs?: number
  /**
   * `increasing`: every transaction a second after the last (ordering never depends on the
   * wall clock). `wall`: Toss's own behaviour, the current time to the second, so cancels in
   * the same second carry the same `canceledAt`.
   */
  timestamps?: 'increasing' | 'wall'
} = {}): Promise<TossFake> {
  const scripts = new Map<string, TossScriptStep[]>()
  const appliedBy = new Map<string, string>()
  const authKeys = new Map<string, { customerKey: string; method: string; billingKey?: string }>()
  const cards = new Map<string, BillingCard>()
  const issuedBillingKeys: string[] = []
  const deletedBillingKeys = new Set<string>()
  const chargeFailures = new Map<string, string[]>()
  const chargesByOrder = new Map<string, number>()
  const orders = new Map<string, string>()
  const inFlight = new Set<string>()
  let chargeCount = 0
  let dropAnswers = 0
  let latency = latencyMs
  const payments = new Map<string, TossPayment>()
  const idempotent = new Map<string, { status: number; body: unknown }>()
  const forcedFailures = new Map<string, HttpError>()
  const requests: TossFakeRequest[] = []
  let mode: TossFakeMode = { kind: 'normal' }
  let cancelCount = 0
  let clock = Date.now()
  // Strictly increasing transaction times, so ordering never depends on the wall clock.
  const tick = () => {
    clock = Math.max(clock + 1000, Date.now())
    return kstIso(clock)
  }

  const expected = `Basic ${Buffer.from(`${secretKey}:`).toString('base64')}`

  function cancel(payment: TossPayment, body: Record<string, unknown>): TossPayment {
    const reason = body.cancelReason
    if (typeof reason !== 'string' || reason.length === 0 || reason.length > 200) {
      throw new HttpError(
        400,
        'INVALID_REQUEST',
        'cancelReason is required (at most 200 characters).',
      )
    }
    const forced = forcedFailures.get(payment.paymentKey)
    if (forced) {
      forcedFailures.delete(payment.paymentKey)
      throw forced
    }
    if (payment.status === 'CANCELED') {
      throw new HttpError(400, 'ALREADY_REFUND_PAYMENT', '이미 취소된 결제 입니다.')
    }
    if (payment.status !== 'DONE' && payment.status !== 'PARTIAL_CANCELED') {
      throw new HttpError(403, 'NOT_CANCELABLE_PAYMENT', '취소 할 수 없는 결제 입니다.')
    }
    if (body.refundableAmount !== undefined && body.refundableAmount !== payment.balanceAmount) {
      throw new HttpError(400, 'NOT_MATCHES_REFUNDABLE_AMOUNT', '잔액 결과가 일치하지 않습니다.')
    }
    const amount = body.cancelAmount === undefined ? payment.balanceAmount : body.cancelAmount
    if (
      typeof amount !== 'number' ||
      !Number.isInteger(amount) ||
      amount <= 0 ||
      amount > payment.balanceAmount
    ) {
      throw new HttpError(403, 'NOT_CANCELABLE_AMOUNT', '취소 할 수 없는 금액 입니다.')
    }
    if (payment.method === VIRTUAL_ACCOUNT) {
      const account = body.refundReceiveAccount as Record<string, unknown> | undefined
      if (
        !account ||
        typeof account.bank !== 'string' ||
        typeof account.holderName !== 'string' ||
        account.holderName.length > 60 ||
        typeof account.accountNumber !== 'string' ||
        !/^\d{1,20}$/.test(account.accountNumber)
      ) {
        throw new HttpError(
          400,
          'INVALID_REFUND_ACCOUNT_INFO',
          '환불 수취 계좌번호와 예금주명이 일치하지 않습니다.',
        )
      }
    }
    const transactionKey = randomUUID().replaceAll('-', '').toUpperCase()
    const balance = payment.balanceAmount - amount
    const record: TossCancel = {
      transactionKey,
      cancelReason: reason,
      cancelAmount: amount,
      canceledAt: timestamps === 'wall' ? kstIso(Date.now()) : tick(),
      refundableAmount: balance,
      cancelStatus: 'DONE',
    }
    payment.cancels = [...(payment.cancels ?? []), record]
    payment.balanceAmount = balance
    payment.status = balance === 0 ? 'CANCELED' : 'PARTIAL_CANCELED'
    payment.lastTransactionKey = transactionKey
    cancelCount++
    return payment
  }

  function issue(body: Record<string, unknown>): Record<string, unknown> {
    const { authKey, customerKey } = body
    if (
      typeof authKey !== 'string' ||
      typeof customerKey !== 'string' ||
      customerKey.length > 300
    ) {
      throw new HttpError(400, 'INVALID_REQUEST', 'authKey and customerKey are required.')
    }
    const auth = authKeys.get(authKey)
    // An authKey Toss never issued: the stand-in answers the generic INVALID_REQUEST.
    if (!auth) throw new HttpError(400, 'INVALID_REQUEST', '유효하지 않은 authKey 입니다.')
    if (auth.customerKey !== customerKey) {
      throw new HttpError(400, 'NOT_MATCHES_CUSTOMER_KEY', '인증키와 고객키가 일치하지 않습니다.')
    }
    if (auth.method !== 'CARD') {
      throw new HttpError(400, 'NOT_SUPPORTED_METHOD', '지원되지 않는 결제 수단입니다.')
    }
    if (!auth.billingKey) {
      auth.billingKey = `bk_${randomUUID().replaceAll('-', '')}`
      cards.set(auth.billingKey, { customerKey, billingKey: auth.billingKey, deleted: false })
      issuedBillingKeys.push(auth.billingKey)
    }
    return {
      mId: 'tvivarepublica',
      customerKey,
      authenticatedAt: kstIso(Date.now()),
      method: '카드',
      billingKey: auth.billingKey,
      card: {
        issuerCode: '71',
        acquirerCode: '71',
        number: '43301234****123*',
        cardType: '신용',
        ownerType: '개인',
      },
    }
  }

  function charge(billingKey: string, body: Record<string, unknown>): TossPayment {
    const card = cards.get(billingKey)
    if (!card || card.deleted) {
      // Unknown or deleted key: the stand-in answers the generic INVALID_REQUEST.
      throw new HttpError(400, 'INVALID_REQUEST', '유효하지 않은 빌링키 입니다.')
    }
    const { customerKey, amount, orderId, orderName } = body
    if (typeof customerKey !== 'string' || customerKey !== card.customerKey) {
      throw new HttpError(400, 'NOT_MATCHES_CUSTOMER_KEY', '빌링키와 고객키가 일치하지 않습니다.')
    }
    if (typeof orderId !== 'string' || !/^[A-Za-z0-9_-]{6,64}$/.test(orderId)) {
      throw new HttpError(400, 'INVALID_REQUEST', 'orderId must be 6-64 characters.')
    }
    if (typeof orderName !== 'string' || orderName.length === 0 || orderName.length > 100) {
      throw new HttpError(400, 'INVALID_REQUEST', 'orderName must be 1-100 characters.')
    }
    if (typeof amount !== 'number' || !Number.isInteger(amount) || amount <= 0) {
      throw new HttpError(400, 'INVALID_REQUEST', 'amount must be a positive integer.')
    }
    if (amount < 100) {
      throw new HttpError(
        400,
        'BELOW_MINIMUM_AMOUNT',
        '신용카드는 결제금액이 100원 이상이어야 합니다.',
      )
    }
    if (orders.has(orderId)) {
      throw new HttpError(
        400,
        'DUPLICATED_ORDER_ID',
        '이미 승인 및 취소가 진행된 중복된 주문번호 입니다.',
      )
    }
    const queued = chargeFailures.get(card.customerKey)
    const code = queued?.shift()
    if (code) {
      throw new HttpError(code.startsWith('FAILED_') ? 500 : 400, code, `card error ${code}`)
    }
    const approvedAt = tick()
    const payment: TossPayment = {
      paymentKey: `pk_${randomUUID().replaceAll('-', '')}`,
      orderId,
      orderName,
      type: 'BILLING',
      status: 'DONE',
      method: '카드',
      totalAmount: amount,
      balanceAmount: amount,
      currency: 'KRW',
      requestedAt: approvedAt,
      approvedAt,
      lastTransactionKey: randomUUID().replaceAll('-', ''),
      secret: null,
      cancels: null,
    }
    payments.set(payment.paymentKey, payment)
    orders.set(orderId, payment.paymentKey)
    chargesByOrder.set(orderId, (chargesByOrder.get(orderId) ?? 0) + 1)
    chargeCount++
    return payment
  }

  /**
   * POST with an Idempotency-Key: the operation is applied at once, the answer comes after
   * `delayMs`; a repeat meanwhile gets 409 IDEMPOTENT_REQUEST_PROCESSING, a repeat afterwards the
   * first response.
   */
  async function idempotentPost(
    key: string | string[] | undefined,
    scope: string,
    delayMs: number,
    run: () => unknown,
  ): Promise<{ status: number; body: unknown } | HttpError> {
    const slot = typeof key === 'string' ? `${scope} ${key}` : undefined
    if (slot) {
      if ((key as string).length > 300) {
        return new HttpError(400, 'INVALID_IDEMPOTENCY_KEY', 'Idempotency-Key is too long.')
      }
      const first = idempotent.get(slot)
      if (first) return first
      if (inFlight.has(slot)) {
        return new HttpError(409, 'IDEMPOTENT_REQUEST_PROCESSING', '요청을 처리중 입니다.')
      }
      inFlight.add(slot)
    }
    let outcome: { status: number; body: unknown }
    try {
      outcome = { status: 200, body: structuredClone(run()) }
    } catch (error) {
      if (!(error instanceof HttpError)) throw error
      outcome = { status: error.status, body: { code: error.code, message: error.message } }
    }
    if (delayMs) await new Promise((r) => setTimeout(r, delayMs))
    if (slot) {
      idempotent.set(slot, outcome)
      inFlight.delete(slot)
    }
    return outcome
  }

  async function handleBilling(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    body: unknown,
    send: (status: number, payload: unknown) => Promise<void>,
    fail: (error: HttpError) => Promise<void>,
  ): Promise<void> {
    const input = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>
    const key = req.headers['idempotency-key']
    if (req.method === 'POST' && path === '/v1/billing/authorizations/issue') {
      const outcome = await idempotentPost(key, path, latency, () => issue(input))
      return outcome instanceof HttpError ? fail(outcome) : send(outcome.status, outcome.body)
    }
    const billingKey = decodeURIComponent(path.slice('/v1/billing/'.length))
    if (req.method === 'DELETE') {
      const card = cards.get(billingKey)
      if (!card || card.deleted) {
        return fail(new HttpError(400, 'INVALID_REQUEST', '유효하지 않은 빌링키 입니다.'))
      }
      card.deleted = true
      deletedBillingKeys.add(billingKey)
      if (latency) await new Promise((r) => setTimeout(r, latency))
      res.writeHead(200)
      res.end()
      return
    }
    if (req.method !== 'POST')
      return fail(new HttpError(405, 'INVALID_REQUEST', 'Method not allowed'))
    const outcome = await idempotentPost(key, `charge ${billingKey}`, latency, () =>
      charge(billingKey, input),
    )
    if (!(outcome instanceof HttpError) && outcome.status === 200 && dropAnswers > 0) {
      dropAnswers--
      res.destroy()
      return
    }
    return outcome instanceof HttpError ? fail(outcome) : send(outcome.status, outcome.body)
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const raw = Buffer.concat(chunks).toString('utf8')
    let body: unknown
    try {
      body = raw ? JSON.parse(raw) : undefined
    } catch {
      body = raw
    }
    const path = new URL(req.url ?? '/', 'http://fake').pathname
    requests.push({ method: req.method ?? '', path, headers: req.headers, body })

    const send = async (status: number, payload: unknown) => {
      const current = mode
      if (current.kind === 'slow') await new Promise((r) => setTimeout(r, current.delayMs))
      else if (latency && !path.startsWith('/v1/billing/')) {
        await new Promise((r) => setTimeout(r, latency))
      }
      if (res.destroyed) return
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(JSON.stringify(payload))
    }
    const fail = (error: HttpError) =>
      send(error.status, { code: error.code, message: error.message })

    if (req.headers.authorization !== expected) {
      return fail(
        new HttpError(
          401,
          'UNAUTHORIZED_KEY',
          '인증되지 않은 시크릿 키 혹은 클라이언트 키 입니다.',
        ),
      )
    }
    if (mode.kind === 'failing') {
      const code = mode.code ?? (req.method === 'POST' ? 'FAILED_REFUND_PROCESS' : 'COMMON_ERROR')
      return fail(new HttpError(500, code, '일시적인 오류가 발생했습니다.'))
    }
    if (path.startsWith('/v1/billing/')) {
      return handleBilling(req, res, path, body, send, fail)
    }
    const byOrder = /^\/v1\/payments\/orders\/([^/]+)$/.exec(path)
    if (byOrder && req.method === 'GET') {
      const paymentKey = orders.get(decodeURIComponent(byOrder[1] as string))
      const found = paymentKey ? payments.get(paymentKey) : undefined
      if (!found) {
        return fail(new HttpError(404, 'NOT_FOUND_PAYMENT', '존재하지 않는 결제 정보 입니다.'))
      }
      return send(200, structuredClone(found))
    }
    const match = /^\/v1\/payments\/([^/]+)(\/cancel)?$/.exec(path)
    if (!match) return fail(new HttpError(404, 'NOT_FOUND', 'Not found'))
    const payment = payments.get(decodeURIComponent(match[1] as string))

    if (req.method === 'GET' && !match[2]) {
      if (!payment)
        return fail(new HttpError(404, 'NOT_FOUND_PAYMENT', '존재하지 않는 결제 정보 입니다.'))
      return send(200, structuredClone(payment))
    }
    if (req.method !== 'POST' || !match[2])
      return fail(new HttpError(405, 'INVALID_REQUEST', 'Method not allowed'))

    const paymentKey = decodeURIComponent(match[1] as string)
    const step = scripts.get(paymentKey)?.shift()
    if (step?.kind === 'error') {
      return fail(new HttpError(step.status, step.code, step.message ?? step.code))
    }
    const key = req.headers['idempotency-key']
    if (typeof key === 'string') {
      if (key.length > 300)
        return fail(new HttpError(400, 'INVALID_REQUEST', 'Idempotency-Key is too long.'))
      const first = idempotent.get(key)
      if (first) return send(first.status, first.body)
    }
    if (!payment)
      return fail(new HttpError(404, 'NOT_FOUND_PAYMENT', '존재하지 않는 결제 정보 입니다.'))
    let outcome: { status: number; body: unknown }
    try {
      outcome = {
        status: 200,
        body: structuredClone(cancel(payment, (body ?? {}) as Record<string, unknown>)),
      }
    } catch (error) {
      if (!(error instanceof HttpError)) throw error
      outcome = { status: error.status, body: { code: error.code, message: error.message } }
    }
    // Stored before any delay: a repeat arriving while the first is still "in flight" gets it too.
    if (typeof key === 'string') {
      idempotent.set(key, outcome)
      if (outcome.status === 200) {
        appliedBy.set(key, (outcome.body as TossPayment).lastTransactionKey as string)
      }
    }
    if (step?.kind === 'slow') {
      await new Promise((r) => setTimeout(r, step.delayMs))
    } else if (step?.kind === 'applied-then-error') {
      return fail(new HttpError(step.status, step.code, step.code))
    } else if (step?.kind === 'applied-then-reset') {
      req.socket.destroy()
      return
    }
    return send(outcome.status, outcome.body)
  }

  let server: Server = createServer()
  let boundPort = port
  const listen = async () => {
    server = createServer((req, res) => {
      handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ code: 'FAKE_ERROR', message: String(error) }))
      })
    })
    await new Promise<void>((resolve) => server.listen(boundPort, '127.0.0.1', resolve))
    boundPort = (server.address() as AddressInfo).port
  }
  const stop = async () => {
    if (!server.listening) return
    const closed = new Promise<void>((resolve) => server.close(() => resolve()))
    server.closeAllConnections()
    await closed
  }
  await listen()

  return {
    get url() {
      return `http://127.0.0.1:${boundPort}`
    },
    secretKey,
    requests,
    get cancelCount() {
      return cancelCount
    },
    get chargeCount() {
      return chargeCount
    },
    chargesByOrder,
    issuedBillingKeys,
    deletedBillingKeys,
    billingAuth(customerKey, { method = 'CARD' } = {}) {
      const authKey = `bln_${randomUUID().replaceAll('-', '')}`
      authKeys.set(authKey, { customerKey, method })
      return authKey
    },
    registerCards(list) {
      for (const { customerKey, billingKey } of list) {
        cards.set(billingKey, { customerKey, billingKey, deleted: false })
        issuedBillingKeys.push(billingKey)
      }
    },
    failCharges(customerKey, codes) {
      chargeFailures.set(customerKey, [...(chargeFailures.get(customerKey) ?? []), ...codes])
    },
    dropChargeAnswers(count) {
      dropAnswers = count
    },
    setLatency(ms) {
      latency = ms
    },
    seed(input) {
      const requestedAt = tick()
      const payment: TossPayment = {
        orderName: 'order',
        status: 'DONE',
        method: '카드',
        balanceAmount: input.totalAmount,
        currency: 'KRW',
        requestedAt,
        approvedAt: input.status && input.status !== 'DONE' ? null : tick(),
        lastTransactionKey: randomUUID().replaceAll('-', ''),
        secret: null,
        cancels: null,
        ...input,
      }
      payments.set(payment.paymentKey, payment)
      return structuredClone(payment)
    },
    payment: (paymentKey) => {
      const payment = payments.get(paymentKey)
      return payment && structuredClone(payment)
    },
    setMode(next) {
      mode = next
    },
    script(paymentKey, steps) {
      scripts.set(paymentKey, [...(scripts.get(paymentKey) ?? []), ...steps])
    },
    transactionFor: (idempotencyKey) => appliedBy.get(idempotencyKey),
    getCount: (paymentKey) =>
      requests.filter(
        (r) =>
          r.method === 'GET' &&
          (paymentKey === undefined || r.path === `/v1/payments/${encodeURIComponent(paymentKey)}`),
      ).length,
    failNextCancel(paymentKey, status, code, message = code) {
      forcedFailures.set(paymentKey, new HttpError(status, code, message))
    },
    down: stop,
    up: listen,
    close: stop,
  }
}

/** Headers Toss puts on every webhook delivery (docs.tosspayments.com/reference/using-api/webhook-events). */
export function webhookHeaders({
  transmissionId = randomUUID(),
  retriedCount = 0,
}: {
  transmissionId?: string | null
  retriedCount?: number
} = {}): Record<string, string> {
  return {
    'content-type': 'application/json',
    ...(transmissionId === null ? {} : { 'tosspayments-webhook-transmission-id': transmissionId }),
    'tosspayments-webhook-transmission-time': kstIso(Date.now()),
    'tosspayments-webhook-transmission-retried-count': String(retriedCount),
  }
}

/** `PAYMENT_STATUS_CHANGED`: `{eventType, createdAt, data: Payment}`. */
export function paymentStatusChanged(payment: TossPayment): Record<string, unknown> {
  return { eventType: 'PAYMENT_STATUS_CHANGED', createdAt: kstIso(Date.now()), data: payment }
}

/** `DEPOSIT_CALLBACK`: flat, without `eventType`. */
export function depositCallback(input: {
  orderId: string
  secret: string
  status: string
  transactionKey?: string
  createdAt?: string
}): Record<string, unknown> {
  return {
    createdAt: input.createdAt ?? kstIso(Date.now()),
    secret: input.secret,
    status: input.status,
    transactionKey: input.transactionKey ?? randomUUID().replaceAll('-', ''),
    orderId: input.orderId,
  }
}

/**
 * Deliver a webhook the way Toss does (POST, JSON, its headers) to a URL or to anything with
 * Hono's `request(path, init)`.
 */
export async function sendWebhook(
  target: string | { request(path: string, init: RequestInit): Response | Promise<Response> },
  path: string,
  body: unknown,
  headers: Record<string, string> = webhookHeaders(),
): Promise<Response> {
  const init: RequestInit = {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
  }
  return typeof target === 'string' ? fetch(target + path, init) : target.request(path, init)
}
