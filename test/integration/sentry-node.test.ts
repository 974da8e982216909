import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROUTES } from '../../routes/index.js'
import { GatewayError } from '../../src/errors.js'
import type { ErrorReporter } from '../../src/observability/error-report.js'
import { sentryNodeReporter } from '../../src/observability/sentry-node.js'
import type { AppContext, NativeHandler } from '../../src/types.js'
import { type LegacyStandIn, startLegacyStandIn } from '../fakes/legacy-functions.js'
import { type SentryFake, startSentryFake } from '../fakes/sentry.js'
import { startTestGateway, type TestGateway } from '../helpers/gateway.js'
import { userToken } from '../helpers/tokens.js'

/**
 * Sentry on Node, for real: `@sentry/node` sends envelopes over HTTP to a loopback ingest
 * stand-in. An unexpected error is reported with the request id, route and no personal data;
 * a client error and a problem the gateway answers on purpose are not reported.
 */

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736'
const EMAIL = 'kim.minsu@example.com'
const PHONE = '010-2345-6789'
const CLIENT_IP = '203.0.113.77'
const BODY_SECRET = 'card 4111-1111-1111-1111 from the body'

const steerable: NativeHandler = async (c: AppContext) => {
  const mode = new URL(c.req.url).searchParams.get('mode')
  await c.req.text()
  if (mode === 'crash') throw new TypeError(`lookup failed for ${EMAIL} (${PHONE})`)
  if (mode === 'bad-request')
    throw new GatewayError({ status: 400, code: 'bad-request', title: 'Bad request' })
  if (mode === 'upstream-down')
    throw new GatewayError({ status: 503, code: 'unavailable', title: 'Service unavailable' })
  return c.json({ ok: true })
}

const REPLAY: Record<string, 'never' | 'always'> = {
  'ops-manage': 'never',
  'payout-statement': 'always',
}

let sentry: SentryFake
let reporter: ErrorReporter
let legacy: LegacyStandIn
let gateway: TestGateway
let token: string

beforeAll(async () => {
  sentry = await startSentryFake()
  reporter = await sentryNodeReporter({ dsn: sentry.dsn, environment: 'test' })
  legacy = await startLegacyStandIn()
  gateway = await startTestGateway(legacy.functionsUrl, {
    native: { 'ops-manage': steerable, 'payout-statement': steerable },
    flags: { 'ops-manage': { native: 100 }, 'payout-statement': { native: 100 } },
    env: { TRUSTED_IP_HEADER: 'x-forwarded-for' },
    extra: {
      errorReporter: reporter,
      // ops-manage answers a failure; payout-statement replays it to legacy.
      routes: ROUTES.map((r) => {
        const replay = REPLAY[r.id]
        return replay ? { ...r, policy: { ...r.policy, replay } } : r
      }),
    },
  })
  token = await userToken('sentry-user', { email: EMAIL })
})

afterAll(async () => {
  await gateway?.close()
  await legacy?.close()
  await sentry?.close()
})

function call(mode: string, route = 'ops-manage') {
  return fetch(`${gateway.url}/functions/v1/${route}?mode=${mode}&email=${EMAIL}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      cookie: `sb-access-token=${token}`,
      'x-forwarded-for': CLIENT_IP,
      'content-type': 'text/plain',
      traceparent: `00-${TRACE}-00f067aa0ba902b7-01`,
    },
    body: BODY_SECRET,
  })
}

describe('Sentry on Node', () => {
  it('reports a 500 with its request id and route, and nothing personal', async () => {
    const clientError = await call('bad-request')
    expect(clientError.status).toBe(400)
    const deliberate = await call('upstream-down')
    expect(deliberate.status).toBe(503)
    const res = await call('crash')
    expect(res.status).toBe(500)
    const requestId = res.headers.get('x-request-id')

    const [event] = await sentry.waitForEvents(1)
    expect(event).toMatchObject({
      environment: 'test',
      tags: { request_id: requestId, route: 'ops-manage', trace_id: TRACE },
      contexts: {
        trace: { trace_id: TRACE, span_id: res.headers.get('traceparent')?.split('-')[2] },
        gateway: {
          requestId,
          route: 'ops-manage',
          method: 'POST',
          path: '/functions/v1/ops-manage',
        },
      },
      exception: { values: [{ type: 'TypeError', value: 'lookup failed for [email] ([phone])' }] },
    })
    expect(event).not.toHaveProperty('request')
    expect(event).not.toHaveProperty('user')

    const sent = sentry.raw.join('\n')
    for (const personal of [EMAIL, PHONE, CLIENT_IP, BODY_SECRET, token, 'kim.minsu']) {
      expect(sent).not.toContain(personal)
    }
  })

  it('reports a native crash replayed to legacy, not a deliberate 503 replayed', async () => {
    const deliberate = await call('upstream-down', 'payout-statement')
    expect(deliberate.headers.get('x-bff-backend')).toBe('legacy-fallback')
    const res = await call('crash', 'payout-statement')
    expect(res.status).toBe(200)
    expect(res.headers.get('x-bff-backend')).toBe('legacy-fallback')
    const events = await sentry.waitForEvents(2)
    expect(events.at(-1)).toMatchObject({
      tags: {
        request_id: res.headers.get('x-request-id'),
        route: 'payout-statement',
        outcome: 'replayed-to-legacy',
      },
      exception: { values: [{ type: 'TypeError' }] },
    })
    // Everything queued has left once the client closes: the 400s and 503s never were.
    await reporter.close(2_000)
    expect(sentry.events()).toHaveLength(2)
  })
})
