import type { CircuitBreakerPolicy, IPolicy, IRetryContext } from 'cockatiel'
import {
  outgoingTraceHeaders,
  type TraceContext,
} from '../../../src/observability/trace-context.js'
import { loadCockatiel } from '../../../src/platform/resilience.js'
import type { NativeServices } from '../../../src/route-table.js'
import { TossError, TossTimeoutError, TossUnavailableError } from './errors.js'
import type {
  TossBilling,
  TossBillingChargeRequest,
  TossBillingIssueRequest,
  TossCancelRequest,
  TossPayment,
} from './types.js'

export { TossError, TossTimeoutError, TossUnavailableError } from './errors.js'
export { tossCodeProblem, tossProblem } from './problems.js'
export type * from './types.js'

/** One call to Toss, reported for metrics and logs. */
export interface TossCallEvent {
  operation:
    | 'getPayment'
    | 'cancelPayment'
    | 'getPaymentByOrderId'
    | 'issueBillingKey'
    | 'chargeBilling'
    | 'deleteBillingKey'
  outcome: 'ok' | 'error' | 'timeout' | 'unreachable' | 'circuit-open'
  status?: number
  code?: string
  attempt: number
}

export interface TossClientOptions {
  secretKey: string
  /** https://api.tosspayments.com by default. */
  baseUrl?: string
  /** Deadline per attempt. */
  timeoutMs?: number
  /** Extra attempts after a timeout, a lost connection or a 5xx (never after a 4xx). */
  retries?: number
  /** First backoff delay; doubles per attempt. */
  retryDelayMs?: number
  /** Consecutive failures that open the circuit. */
  breakerThreshold?: number
  /** How long the circuit stays open before one probe is let through. */
  halfOpenAfterMs?: number
  fetch?: typeof fetch
  onCall?: (event: TossCallEvent) => void
}

/** Errors after which another attempt may succeed: the breaker counts these, retries retry them. */
function isTransient(error: Error): boolean {
  return (
    error instanceof TossTimeoutError ||
    error instanceof TossUnavailableError ||
    (error instanceof TossError && error.status >= 500)
  )
}

/** Connection errors that prove the request never left (undici puts the code on `cause`). */
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
])

function notSent(error: unknown): boolean {
  const cause = (error as { cause?: { code?: unknown; errors?: Array<{ code?: unknown }> } })?.cause
  if (typeof cause?.code === 'string' && NOT_SENT_CODES.has(cause.code)) return true
  // Happy-eyeballs connects fail with an AggregateError listing each address.
  return Boolean(
    cause?.errors?.length && cause.errors.every((e) => NOT_SENT_CODES.has(String(e.code))),
  )
}

/**
 * A fetch-based TossPayments client for Node and Workers: Basic auth with the secret key, a
 * deadline per attempt, retries only for idempotent calls, and a circuit breaker shared by all
 * calls so an outage fails fast with `TossUnavailableError`.
 *
 * @example
 * const toss = new TossClient({ secretKey: config.TOSS_SECRET_KEY, baseUrl: config.TOSS_API_URL })
 * const payment = await toss.cancelPayment(key, { cancelReason, refundableAmount }, refund.idempotencyKey)
 */
export class TossClient {
  readonly #baseUrl: string
  readonly #authorization: string
  readonly #timeoutMs: number
  readonly #halfOpenAfterMs: number
  readonly #fetch: typeof fetch
  readonly #onCall: (event: TossCallEvent) => void
  readonly #breakerThreshold: number
  readonly #retries: number
  readonly #retryDelayMs: number
  #breaker: CircuitBreakerPolicy | undefined
  #policy: Promise<IPolicy<IRetryContext>> | undefined

  constructor({
    secretKey,
    baseUrl = 'https://api.tosspayments.com',
    timeoutMs = 10_000,
    retries = 2,
    retryDelayMs = 200,
    breakerThreshold = 5,
    halfOpenAfterMs = 30_000,
    fetch: fetchImpl = (input, init) => fetch(input, init),
    onCall = () => {},
  }: TossClientOptions) {
    if (!secretKey) throw new TypeError('TossClient needs a secret key')
    this.#baseUrl = baseUrl.replace(/\/+$/, '')
    // docs.tosspayments.com/reference/using-api/authorization: base64("<secretKey>:").
    this.#authorization = `Basic ${btoa(`${secretKey}:`)}`
    this.#timeoutMs = timeoutMs
    this.#halfOpenAfterMs = halfOpenAfterMs
    this.#fetch = fetchImpl
    this.#onCall = onCall
    this.#breakerThreshold = breakerThreshold
    this.#retries = retries
    this.#retryDelayMs = retryDelayMs
  }

  /** Retry inside the breaker: built on the first call (see `loadCockatiel`). */
  #policyReady(): Promise<IPolicy<IRetryContext>> {
    this.#policy ??= loadCockatiel().then(
      ({ circuitBreaker, ConsecutiveBreaker, ExponentialBackoff, handleWhen, retry, wrap }) => {
        this.#breaker = circuitBreaker(handleWhen(isTransient), {
          halfOpenAfter: this.#halfOpenAfterMs,
          breaker: new ConsecutiveBreaker(this.#breakerThreshold),
        })
        const retryPolicy = retry(handleWhen(isTransient), {
          maxAttempts: this.#retries,
          backoff: new ExponentialBackoff({
            initialDelay: this.#retryDelayMs,
            maxDelay: this.#retryDelayMs * 8,
          }),
        })
        return wrap(retryPolicy, this.#breaker)
      },
    )
    return this.#policy
  }

  /** `closed`, `open` or `half-open`, for /ready and the dashboard. */
  get circuitState(): 'closed' | 'open' | 'half-open' {
    // cockatiel's CircuitState: 0 closed, 1 open, 2 half-open, 3 isolated. No breaker yet: closed.
    const state = this.#breaker?.state ?? 0
    if (state === 0) return 'closed'
    if (state === 2) return 'half-open'
    return 'open'
  }

  /**
   * Throw `TossUnavailableError` when the circuit is open, so a caller can refuse before it
   * writes anything (a half-open circuit lets the probe through).
   */
  assertAvailable(): void {
    if (this.circuitState === 'open') {
      throw new TossUnavailableError('circuit-open', Math.ceil(this.#halfOpenAfterMs / 1000))
    }
  }

  /** `GET /v1/payments/{paymentKey}`: the source of truth about a payment. Retried (read-only). */
  getPayment(paymentKey: string, call: TossCallOptions = {}): Promise<TossPayment> {
    return this.#send('getPayment', 'GET', `/v1/payments/${encodeURIComponent(paymentKey)}`, call)
  }

  /**
   * `POST /v1/payments/{paymentKey}/cancel` with `Idempotency-Key` (Toss keeps it 15 days and
   * answers a repeat with the first response), which is what makes retrying it safe. Derive the
   * key from our own refund row so every retry of one refund carries the same key.
   */
  cancelPayment(
    paymentKey: string,
    body: TossCancelRequest,
    idempotencyKey: string,
    call: TossCallOptions = {},
  ): Promise<TossPayment> {
    if (!idempotencyKey || idempotencyKey.length > 300) {
      throw new TypeError('cancelPayment needs an Idempotency-Key of 1-300 characters')
    }
    return this.#send(
      'cancelPayment',
      'POST',
      `/v1/payments/${encodeURIComponent(paymentKey)}/cancel`,
      { ...call, body, idempotencyKey },
    )
  }

  /** `GET /v1/payments/orders/{orderId}`: what Toss knows of an order (a lost charge answer). */
  getPaymentByOrderId(orderId: string, call: TossCallOptions = {}): Promise<TossPayment> {
    return this.#send(
      'getPaymentByOrderId',
      'GET',
      `/v1/payments/orders/${encodeURIComponent(orderId)}`,
      call,
    )
  }

  /**
   * `POST /v1/billing/authorizations/issue`: a billing key from the `authKey` the SDK's
   * `requestBillingAuth` returned for `customerKey`. The key is a card-on-file credential: keep
   * it server-side, never in a response or a log line.
   */
  issueBillingKey(
    body: TossBillingIssueRequest,
    idempotencyKey: string,
    call: TossCallOptions = {},
  ): Promise<TossBilling> {
    return this.#send('issueBillingKey', 'POST', '/v1/billing/authorizations/issue', {
      ...call,
      body,
      idempotencyKey: requireIdempotencyKey('issueBillingKey', idempotencyKey),
    })
  }

  /** `POST /v1/billing/{billingKey}`: charge a registered card; retried only under its Idempotency-Key. */
  chargeBilling(
    billingKey: string,
    body: TossBillingChargeRequest,
    idempotencyKey: string,
    call: TossCallOptions = {},
  ): Promise<TossPayment> {
    return this.#send('chargeBilling', 'POST', `/v1/billing/${encodeURIComponent(billingKey)}`, {
      ...call,
      body,
      idempotencyKey: requireIdempotencyKey('chargeBilling', idempotencyKey),
    })
  }

  /** `DELETE /v1/billing/{billingKey}` (Toss answers 200 with an empty body). */
  async deleteBillingKey(billingKey: string, call: TossCallOptions = {}): Promise<void> {
    await this.#send(
      'deleteBillingKey',
      'DELETE',
      `/v1/billing/${encodeURIComponent(billingKey)}`,
      { ...call, emptyOk: true },
    )
  }

  async #send<T>(
    operation: TossCallEvent['operation'],
    method: string,
    path: string,
    options: SendOptions,
  ): Promise<T> {
    const policy = await this.#policyReady()
    try {
      // Every operation is idempotent (reads, DELETE, POSTs with an Idempotency-Key), so all retry.
      return await policy.execute(({ attempt }) =>
        this.#attempt<T>(operation, method, path, options, attempt + 1),
      )
    } catch (error) {
      if (error instanceof (await loadCockatiel()).BrokenCircuitError) {
        this.#onCall({ operation, outcome: 'circuit-open', attempt: 0 })
        throw new TossUnavailableError('circuit-open', Math.ceil(this.#halfOpenAfterMs / 1000), {
          cause: error,
        })
      }
      throw error
    }
  }

  async #attempt<T>(
    operation: TossCallEvent['operation'],
    method: string,
    path: string,
    { body, idempotencyKey, signal, emptyOk, trace }: SendOptions,
    attempt: number,
  ): Promise<T> {
    const deadline = AbortSignal.timeout(this.#timeoutMs)
    const headers: Record<string, string> = {
      // Each attempt is a span of its own in the request's trace.
      ...outgoingTraceHeaders(trace),
      authorization: this.#authorization,
      accept: 'application/json',
    }
    if (body !== undefined) headers['content-type'] = 'application/json'
    if (idempotencyKey) headers['idempotency-key'] = idempotencyKey
    let response: Response
    let text: string
    try {
      response = await this.#fetch(this.#baseUrl + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: signal ? AbortSignal.any([signal, deadline]) : deadline,
        redirect: 'manual',
      })
      text = await response.text()
    } catch (error) {
      if (signal?.aborted) throw error
      if (notSent(error)) {
        this.#onCall({ operation, outcome: 'unreachable', attempt })
        throw new TossUnavailableError('unreachable', 5, { cause: error })
      }
      this.#onCall({ operation, outcome: 'timeout', attempt })
      throw new TossTimeoutError(operation, { cause: error })
    }
    const json = parseJson(text)
    if (!response.ok) {
      const code = typeof json?.code === 'string' ? json.code : `HTTP_${response.status}`
      const message = typeof json?.message === 'string' ? json.message : response.statusText
      this.#onCall({ operation, outcome: 'error', status: response.status, code, attempt })
      throw new TossError(code, response.status, message)
    }
    if (!json && emptyOk && text.trim() === '') {
      this.#onCall({ operation, outcome: 'ok', status: response.status, attempt })
      return undefined as T
    }
    if (!json) {
      this.#onCall({
        operation,
        outcome: 'error',
        status: response.status,
        code: 'INVALID_RESPONSE',
        attempt,
      })
      throw new TossError(
        'INVALID_RESPONSE',
        502,
        'TossPayments answered with a body that is not JSON',
      )
    }
    this.#onCall({ operation, outcome: 'ok', status: response.status, attempt })
    return json as T
  }
}

/** Per call: the caller's abort signal, and the request's trace (`c.get('trace')`). */
export interface TossCallOptions {
  signal?: AbortSignal | undefined
  /** Sent as `traceparent` of a child span, so Toss's side joins the request's trace. */
  trace?: TraceContext | undefined
}

interface SendOptions extends TossCallOptions {
  body?: unknown
  idempotencyKey?: string
  /** A 2xx with an empty body is a success (DELETE). */
  emptyOk?: boolean
}

function requireIdempotencyKey(operation: string, key: string): string {
  if (!key || key.length > 300) {
    throw new TypeError(`${operation} needs an Idempotency-Key of 1-300 characters`)
  }
  return key
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text)
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

/** The Toss client of this deployment (`TOSS_SECRET_KEY`), or undefined when none is configured. */
export function tossFromServices({
  config,
  vendorFetch,
}: Pick<NativeServices, 'config' | 'vendorFetch'>): TossClient | undefined {
  if (!config.TOSS_SECRET_KEY) return undefined
  return new TossClient({
    secretKey: config.TOSS_SECRET_KEY,
    baseUrl: config.TOSS_API_URL,
    ...(vendorFetch?.toss ? { fetch: vendorFetch.toss } : {}),
  })
}
