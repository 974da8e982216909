import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import {
  TossClient,
  TossError,
  TossTimeoutError,
  TossUnavailableError,
  tossProblem,
} from '../../routes/payments/toss/client.js'
import { startTossFake, type TossFake } from '../fakes/toss.js'

describe('TossClient against the Toss stand-in', () => {
  let toss: TossFake
  const client = (options: Partial<ConstructorParameters<typeof TossClient>[0]> = {}) =>
    new TossClient({
      secretKey: toss.secretKey,
      baseUrl: toss.url,
      timeoutMs: 300,
      retries: 2,
      retryDelayMs: 1,
      ...options,
    })

  beforeAll(async () => {
    toss = await startTossFake()
  })
  afterAll(async () => {
    await toss.close()
  })
  beforeEach(() => {
    toss.setMode({ kind: 'normal' })
  })

  it('authenticates with base64(secretKey + ":") and reads a payment', async () => {
    toss.seed({ paymentKey: 'pk_read', orderId: 'ord_read_01', totalAmount: 1000 })
    const payment = await client().getPayment('pk_read')
    expect(payment).toMatchObject({ paymentKey: 'pk_read', status: 'DONE', balanceAmount: 1000 })
    expect(toss.requests.at(-1)?.headers.authorization).toBe(`Basic ${btoa(`${toss.secretKey}:`)}`)
  })

  it('never retries a 4xx, and retries a 5xx read', async () => {
    const before = toss.requests.length
    const missing = await client()
      .getPayment('pk_none')
      .catch((e: unknown) => e)
    expect(missing).toBeInstanceOf(TossError)
    expect(missing).toMatchObject({ code: 'NOT_FOUND_PAYMENT', status: 404 })
    expect(toss.requests.length - before).toBe(1)
    toss.setMode({ kind: 'failing' })
    const failing = await client()
      .getPayment('pk_read')
      .catch((e: unknown) => e)
    expect(failing).toMatchObject({ code: 'COMMON_ERROR', status: 500 })
    expect(toss.requests.length - before).toBe(1 + 3)
  })

  it('tells a timeout (outcome unknown) apart, and replays the cancel by Idempotency-Key', async () => {
    toss.seed({ paymentKey: 'pk_slow', orderId: 'ord_slow_01', totalAmount: 5000 })
    toss.setMode({ kind: 'slow', delayMs: 2000 })
    const timedOut = await client({ retries: 0 })
      .cancelPayment('pk_slow', { cancelReason: 'r', cancelAmount: 1000 }, 'refund_key_1')
      .catch((e: unknown) => e)
    expect(timedOut).toBeInstanceOf(TossTimeoutError)
    expect(tossProblem(timedOut).status).toBe(504)
    toss.setMode({ kind: 'normal' })
    const replay = await client().cancelPayment(
      'pk_slow',
      { cancelReason: 'r', cancelAmount: 1000 },
      'refund_key_1',
    )
    expect(replay.balanceAmount).toBe(4000)
    expect(toss.payment('pk_slow')?.cancels).toHaveLength(1)
  })

  it('opens the circuit after consecutive failures and fails fast with Retry-After', async () => {
    const breaker = client({ retries: 0, breakerThreshold: 2, halfOpenAfterMs: 120_000 })
    toss.setMode({ kind: 'failing' })
    await breaker.getPayment('pk_read').catch(() => {})
    await breaker.getPayment('pk_read').catch(() => {})
    expect(breaker.circuitState).toBe('open')
    const before = toss.requests.length
    const open = await breaker.getPayment('pk_read').catch((e: unknown) => e)
    expect(open).toBeInstanceOf(TossUnavailableError)
    expect(toss.requests.length).toBe(before)
    const problem = tossProblem(open)
    expect([problem.status, problem.code, problem.headers['retry-after']]).toEqual([
      503,
      'toss-unavailable',
      '120',
    ])
    expect(() => breaker.assertAvailable()).toThrow(TossUnavailableError)
  })

  it('reports a refused connection as unavailable (nothing was sent)', async () => {
    // A port that was just free: nothing listens there (port 9 would be refused by fetch itself).
    const server = createServer().listen(0, '127.0.0.1')
    await once(server, 'listening')
    const { port } = server.address() as AddressInfo
    await new Promise((resolve) => server.close(resolve))
    const nowhere = new TossClient({
      secretKey: 'test_sk_x',
      baseUrl: `http://127.0.0.1:${port}`,
      retries: 0,
    })
    const error = await nowhere.getPayment('pk').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TossUnavailableError)
    expect(error).toMatchObject({ reason: 'unreachable' })
  })
})
