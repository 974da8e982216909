import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { nativeHandlers } from '../../routes/index.js'
import { loadConfig } from '../../src/config.js'
import { createLogger } from '../../src/observability/log.js'
import { Metrics } from '../../src/observability/metrics.js'
import { otlpNodeExporter } from '../../src/observability/otlp-node.js'
import type { SpanExporter } from '../../src/observability/tracing.js'
import { Tracer } from '../../src/observability/tracing.js'
import { type LegacyStandIn, startLegacyStandIn } from '../fakes/legacy-functions.js'
import {
  type CollectedSpan,
  type OtlpCollector,
  startOtlpCollector,
} from '../fakes/otlp-collector.js'
import { paymentStatusChanged, sendWebhook, startTossFake, type TossFake } from '../fakes/toss.js'
import { startTestGateway, type TestGateway } from '../helpers/gateway.js'
import { TEST_JWT_SECRET, userToken } from '../helpers/tokens.js'
import { type Harness, postgresHarness, seedCatalog, USER_A } from './db-harness.js'

/**
 * OpenTelemetry export on Node, for real: the SDK's OTLP/HTTP exporter sends to a collector
 * stand-in on loopback. A proxied request gives the server, decision and legacy spans in the
 * caller's trace, the legacy span being the one whose id the function received; a native
 * payment gives the handler span and the Toss call under it.
 */

const CLIENT_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736'
const CLIENT_SPAN = '00f067aa0ba902b7'

let collector: OtlpCollector
let exporter: SpanExporter
let legacy: LegacyStandIn
let toss: TossFake
let h: Harness
let gateway: TestGateway

beforeAll(async () => {
  collector = await startOtlpCollector()
  legacy = await startLegacyStandIn()
  toss = await startTossFake()
  h = await postgresHarness()
  await seedCatalog(h)
  exporter = await otlpNodeExporter({
    endpoint: collector.url,
    headers: { authorization: 'Bearer collector-token' },
    serviceName: 'bff-gateway-test',
    environment: 'test',
  })
  const tracer = new Tracer({ exporter, sampleRatio: 1 })
  const env = {
    LEGACY_FUNCTIONS_URL: legacy.functionsUrl,
    SUPABASE_JWT_SECRET: TEST_JWT_SECRET,
    TOSS_SECRET_KEY: toss.secretKey,
    TOSS_API_URL: toss.url,
  }
  const native = nativeHandlers({
    config: loadConfig(env),
    logger: createLogger({ level: 'error', write: () => {} }),
    metrics: new Metrics(),
    db: h.db,
    vendorFetch: { toss: tracer.fetch('toss') },
  })
  gateway = await startTestGateway(legacy.functionsUrl, {
    env,
    native,
    flags: { 'payment-checkout': { native: 100 }, 'payment-webhook': { native: 100 } },
    extra: { tracer },
  })
})

afterAll(async () => {
  await gateway?.close()
  await exporter?.close(2_000)
  await collector?.close()
  await legacy?.close()
  await toss?.close()
  await h?.close()
})

const byName = (spans: CollectedSpan[], name: string) => spans.find((s) => s.name === name)

describe('OpenTelemetry export on Node', () => {
  it('a proxied request: server, decision and legacy spans in the caller trace', async () => {
    const res = await fetch(`${gateway.url}/functions/v1/legacy-only-fn?email=kim@example.com`, {
      headers: { traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01` },
    })
    expect(res.status).toBe(200)
    const sent = legacy.received.at(-1)?.headers.traceparent as string
    expect(sent).toMatch(new RegExp(`^00-${CLIENT_TRACE}-[0-9a-f]{16}-01$`))
    const answered = res.headers.get('traceparent') as string

    const spans = await collector.waitForSpans(CLIENT_TRACE, 3)
    expect(spans.map((s) => s.name).sort()).toEqual([
      'GET legacy-only-fn',
      'decision',
      'legacy legacy-only-fn',
    ])
    const server = byName(spans, 'GET legacy-only-fn')
    const decision = byName(spans, 'decision')
    const proxy = byName(spans, 'legacy legacy-only-fn')
    // The server span is the gateway's span the caller was told about, child of the caller's.
    expect(server).toMatchObject({
      service: 'bff-gateway-test',
      kind: 2,
      parentSpanId: CLIENT_SPAN,
      spanId: answered.split('-')[2],
      attributes: { 'http.route': 'legacy-only-fn', 'http.response.status_code': 200 },
    })
    expect(decision).toMatchObject({ kind: 1, parentSpanId: server?.spanId })
    expect(decision?.attributes['bff.decision_backend']).toBe('legacy')
    // The legacy span has the id the function received, so the function's spans nest under it.
    expect(proxy).toMatchObject({
      kind: 3,
      parentSpanId: server?.spanId,
      spanId: sent.split('-')[2],
      attributes: { 'bff.legacy_function': 'legacy-only-fn', 'http.response.status_code': 200 },
    })
    expect(JSON.stringify(spans)).not.toContain('kim@example.com')
    expect(collector.requests.at(-1)?.authorization).toBe('Bearer collector-token')
  })

  it('a native payment: handler span with the Toss call under it', async () => {
    const token = await userToken(USER_A)
    const checkout = await fetch(`${gateway.url}/functions/v1/payment-checkout`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ items: [{ productId: 'tee', quantity: 1 }] }),
    })
    expect(checkout.status).toBe(201)
    const order = (await checkout.json()) as { orderId: string; amount: number }
    const payment = toss.seed({
      paymentKey: `pk_${randomUUID().replaceAll('-', '')}`,
      orderId: order.orderId,
      totalAmount: order.amount,
      method: '카드',
      secret: null,
    })
    const trace = randomUUID().replaceAll('-', '')
    const before = toss.requests.length
    const res = await sendWebhook(
      gateway.url,
      '/functions/v1/payment-webhook',
      paymentStatusChanged(payment),
      {
        'content-type': 'application/json',
        'tosspayments-webhook-transmission-id': randomUUID(),
        'tosspayments-webhook-transmission-time': new Date().toISOString(),
        'tosspayments-webhook-transmission-retried-count': '0',
        traceparent: `00-${trace}-${CLIENT_SPAN}-01`,
      },
    )
    expect(res.status).toBe(200)
    expect(res.headers.get('x-bff-backend')).toBe('native')

    const spans = await collector.waitForSpans(trace, 4)
    const server = byName(spans, 'POST payment-webhook')
    const handler = byName(spans, 'native payment-webhook')
    const tossCall = byName(spans, 'toss GET')
    expect(handler).toMatchObject({ kind: 1, parentSpanId: server?.spanId })
    expect(tossCall).toMatchObject({
      kind: 3,
      parentSpanId: handler?.spanId,
      attributes: { 'bff.vendor': 'toss', 'http.response.status_code': 200 },
    })
    // Toss received the client span's id: its side of the call joins the same trace.
    const atToss = toss.requests.slice(before).at(-1)?.headers.traceparent
    expect(atToss).toBe(`00-${trace}-${tossCall?.spanId}-01`)
  })
})
