import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { ROUTES } from '../../routes/index.js'
import { DependencyUnavailableError, GatewayError } from '../../src/errors.js'
import { markEffect } from '../../src/platform/effect.js'
import type { AppContext, NativeHandler, ReplayPolicy } from '../../src/types.js'
import { type LegacyStandIn, startLegacyStandIn } from '../fakes/legacy-functions.js'
import { startTestGateway, type TestGateway } from '../helpers/gateway.js'
import { userToken } from '../helpers/tokens.js'

/**
 * A test native handler, steered by the `mode` query parameter, on three routes that show the
 * three replay policies: `ops-manage` (`never`), `payment-webhook` (`before-effect`) and
 * `payout-statement` (declared `always` here).
 */
const effects: string[] = []
const steerable: NativeHandler = async (c: AppContext) => {
  const mode = new URL(c.req.url).searchParams.get('mode')
  const body = c.req.method === 'POST' ? await c.req.text() : ''
  switch (mode) {
    case 'dependency-down':
      throw new DependencyUnavailableError('database')
    case 'effect-then-crash':
      markEffect(c, 'charge')
      effects.push(`charged:${body}`)
      throw new Error('crashed after the effect')
    case 'crash':
      throw new Error('plain crash')
    case '503':
      return c.json({ native: 'overloaded' }, 503)
    case 'client-error':
      throw new GatewayError({
        status: 422,
        code: 'validation-failed',
        title: 'Bad',
        detail: 'amount: must be positive',
        errors: [{ field: 'amount', message: 'must be positive' }],
      })
    case '404':
      return c.json({ native: 'not found' }, 404)
    default:
      return c.json({ native: true, body })
  }
}

const TEST_POLICIES: Record<string, ReplayPolicy> = {
  'ops-manage': 'never',
  'payment-webhook': 'before-effect',
  'payout-statement': 'always',
}

let legacy: LegacyStandIn
let gateway: TestGateway
const logs: Record<string, unknown>[] = []

beforeAll(async () => {
  legacy = await startLegacyStandIn()
  gateway = await startTestGateway(legacy.functionsUrl, {
    native: {
      'ops-manage': steerable,
      'payment-webhook': steerable,
      'refund-process': steerable,
      'payout-statement': steerable,
    },
    flags: {
      'ops-manage': { native: 100 },
      'payment-webhook': { native: 100 },
      'refund-process': { native: 100 },
      'payout-statement': { native: 100 },
    },
    env: { REPLAY_BUFFER_BYTES: '1024' },
    logs,
    // The three policies on three routes, whatever the table declares for them today.
    extra: {
      routes: ROUTES.map((r) => {
        const replay = TEST_POLICIES[r.id]
        return replay ? { ...r, policy: { ...r.policy, replay } } : r
      }),
    },
  })
})

afterAll(async () => {
  await gateway.close()
  await legacy.close()
})

beforeEach(() => {
  effects.length = 0
  // Each case starts with a closed breaker; the breaker has its own test below.
  gateway.app.breakers.success('ops-manage')
})

let token: string
async function call(path: string, init: RequestInit = {}) {
  token ??= await userToken('fallback-user')
  const res = await fetch(gateway.url + path, {
    ...init,
    headers: { authorization: `Bearer ${token}`, ...init.headers },
  })
  return {
    status: res.status,
    backend: res.headers.get('x-bff-backend'),
    body: await res.text(),
    type: res.headers.get('content-type'),
  }
}

describe('fallback to legacy', () => {
  it('serves natively when the handler succeeds', async () => {
    const res = await call('/functions/v1/ops-manage', { method: 'POST', body: 'x' })
    expect(res).toMatchObject({ status: 200, backend: 'native' })
    expect(JSON.parse(res.body)).toEqual({ native: true, body: 'x' })
  })

  it('the route table declares a replay policy for every route, never by default', () => {
    const policies = new Map(ROUTES.map((r) => [r.id, r.policy.replay]))
    expect(policies.get('payment-webhook')).toBe('before-effect')
    expect(policies.get('refund-process')).toBe('never')
    expect(policies.get('payment-checkout')).toBe('before-effect')
    expect(
      ROUTES.every((r) => ['always', 'before-effect', 'never'].includes(r.policy.replay)),
    ).toBe(true)
  })

  it('before-effect: replays a failure that happened before the effect mark', async () => {
    const before = legacy.received.length
    const res = await call('/functions/v1/payment-webhook?mode=dependency-down', {
      method: 'POST',
      body: 'payload-1',
    })
    expect(res).toMatchObject({ status: 200, backend: 'legacy-fallback' })
    expect(legacy.received.length).toBe(before + 1)
    expect(legacy.received.at(-1)?.body.toString()).toBe('payload-1')
    const crash = await call('/functions/v1/payment-webhook?mode=crash', {
      method: 'POST',
      body: 'x',
    })
    expect(crash).toMatchObject({ status: 200, backend: 'legacy-fallback' })
  })

  it('before-effect: never replays after the effect mark, even with an Idempotency-Key', async () => {
    const before = legacy.received.length
    const res = await call('/functions/v1/payment-webhook?mode=effect-then-crash', {
      method: 'POST',
      body: 'once',
      headers: { 'idempotency-key': 'k-0' },
    })
    expect(res.status).toBe(500)
    expect(res.backend).toBe('native')
    expect(res.type).toBe('application/problem+json')
    expect(res.body).not.toContain('crashed after the effect')
    expect(effects).toEqual(['charged:once'])
    expect(legacy.received.length).toBe(before)
  })

  it('never: no replay, whatever the failure, the method or an Idempotency-Key', async () => {
    const before = legacy.received.length
    const down = await call('/functions/v1/ops-manage?mode=dependency-down', {
      method: 'POST',
      body: 'x',
    })
    expect(down.status).toBeGreaterThanOrEqual(500)
    expect(down.backend).toBe('native')
    const crash = await call('/functions/v1/ops-manage?mode=crash', { method: 'POST', body: 'x' })
    expect(crash.status).toBe(500)
    const get = await call('/functions/v1/ops-manage?mode=effect-then-crash')
    expect(get.status).toBe(500)
    const keyed = await call('/functions/v1/ops-manage?mode=503', {
      method: 'POST',
      body: 'idem',
      headers: { 'idempotency-key': 'k-1' },
    })
    expect(keyed).toMatchObject({ status: 503, backend: 'native' })
    expect(legacy.received.length).toBe(before)
  })

  it('always: replays any native 5xx, even after an effect', async () => {
    const res = await call('/functions/v1/payout-statement?mode=effect-then-crash', {
      method: 'POST',
      body: '{"orderId":"o-1"}',
    })
    expect(res).toMatchObject({ status: 200, backend: 'legacy-fallback' })
    expect(legacy.received.at(-1)?.body.toString()).toBe('{"orderId":"o-1"}')
  })

  it('never replays on a 4xx, thrown or returned', async () => {
    const before = legacy.received.length
    const thrown = await call('/functions/v1/ops-manage?mode=client-error', {
      method: 'POST',
      body: 'x',
      headers: { 'idempotency-key': 'k-2' },
    })
    expect(thrown.status).toBe(422)
    expect(JSON.parse(thrown.body)).toMatchObject({
      code: 'validation-failed',
      errors: [{ field: 'amount' }],
    })
    const returned = await call('/functions/v1/ops-manage?mode=404')
    expect(returned).toMatchObject({ status: 404, backend: 'native' })
    expect(legacy.received.length).toBe(before)
  })

  it('does not replay a body larger than the replay buffer', async () => {
    const before = legacy.received.length
    const big = 'x'.repeat(4096)
    const res = await call('/functions/v1/payout-statement?mode=dependency-down', {
      method: 'POST',
      body: big,
    })
    expect(res.status).toBeGreaterThanOrEqual(500)
    expect(legacy.received.length).toBe(before)
  })

  it('logs and counts every fallback and refusal per route', async () => {
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text()
    expect(metrics).toMatch(
      /bff_fallbacks_total\{route="payment-webhook",reason="before-effect"\} \d+/,
    )
    expect(metrics).toMatch(
      /bff_fallbacks_total\{route="payout-statement",reason="replay-always"\} \d+/,
    )
    expect(metrics).toMatch(
      /bff_fallback_refused_total\{route="payment-webhook",reason="side-effect"\} \d+/,
    )
    expect(metrics).toMatch(
      /bff_fallback_refused_total\{route="ops-manage",reason="policy-never"\} \d+/,
    )
    expect(
      logs.some(
        (l) => l.message === 'native failed, replaying to legacy' && l.route === 'payment-webhook',
      ),
    ).toBe(true)
  })

  it('opens the native breaker after repeated failures and serves legacy until the cool-down', async () => {
    const local = await startTestGateway(legacy.functionsUrl, {
      native: { 'refund-process': steerable },
      flags: { 'refund-process': { native: 100 } },
    })
    try {
      // Five users, so the route's rate limit (5 a minute per user) stays out of the way.
      for (let i = 0; i < 5; i++) {
        const authorization = `Bearer ${await userToken(`breaker-${i}`)}`
        await fetch(`${local.url}/functions/v1/refund-process?mode=crash`, {
          method: 'POST',
          body: 'x',
          headers: { authorization },
        })
      }
      expect(local.app.breakers.state('refund-process')).toBe('open')
      const res = await fetch(`${local.url}/functions/v1/refund-process`, {
        method: 'POST',
        body: 'x',
        headers: { authorization: `Bearer ${await userToken('breaker-5')}` },
      })
      expect(res.headers.get('x-bff-backend')).toBe('legacy')
      const metrics = await (await fetch(`${local.url}/metrics`)).text()
      expect(metrics).toContain('bff_native_breaker_open{route="refund-process"} 1')
      expect(metrics).toContain(
        'bff_decisions_total{route="refund-process",backend="legacy",reason="breaker-open"} 1',
      )
    } finally {
      await local.close()
    }
  })
})
