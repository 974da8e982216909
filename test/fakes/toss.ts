import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { TossCancel, TossPayment } from '../../routes/payments/toss/client.js'

/**
 * A TossPayments API v1 stand-in (docs.tosspayments.com/reference), for what the gateway
 * calls: `GET /v1/payments/{paymentKey}` and `POST /v1/payments/{paymentKey}/cancel`.
 * Payments are seeded by the test. Behaviour follows the documented one: Basic auth with
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

export async function startTossFake({
  secretKey = 'test_sk_fake0000000000000000',
  port = 0,
  timestamps = 'increasing',
}: {
  secretKey?: string
  port?: number
  /**
   * `increasing`: every transaction a second after the last (ordering never depends on the
   * wall clock). `wall`: Toss's own behaviour, the current time to the second, so cancels in
   * the same second carry the same `canceledAt`.
   */
  timestamps?: 'increasing' | 'wall'
} = {}): Promise<TossFake> {
  const scripts = new Map<string, TossScriptStep[]>()
  const appliedBy = new Map<string, string>()
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
