import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '../../src/observability/log.js'
import { parseTraceparent } from '../../src/observability/trace-context.js'
import { type LegacyStandIn, startLegacyStandIn } from '../fakes/legacy-functions.js'
import { startTestGateway, type TestGateway } from '../helpers/gateway.js'

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736'
const CALLER_SPAN = '00f067aa0ba902b7'

interface Echo {
  headers: Record<string, string | undefined>
}

let legacy: LegacyStandIn
const gateways: Record<'node' | 'fetch', TestGateway> = {} as never

beforeAll(async () => {
  legacy = await startLegacyStandIn()
  gateways.node = await startTestGateway(legacy.functionsUrl, { transport: 'node' })
  gateways.fetch = await startTestGateway(legacy.functionsUrl, { transport: 'fetch' })
})

afterAll(async () => {
  await gateways.node.close()
  await gateways.fetch.close()
  await legacy.close()
})

async function call(transport: 'node' | 'fetch', headers: Record<string, string>) {
  const res = await fetch(`${gateways[transport].url}/functions/v1/echo`, { headers })
  const echo = (await res.json()) as Echo
  return { res, legacyHeaders: echo.headers }
}

describe.each(['node', 'fetch'] as const)('W3C trace context through the %s transport', (t) => {
  it('continues the caller’s trace: legacy and the response carry its trace id', async () => {
    const { res, legacyHeaders } = await call(t, {
      traceparent: `00-${TRACE}-${CALLER_SPAN}-01`,
      tracestate: 'vendor=abc',
    })
    const answered = parseTraceparent(res.headers.get('traceparent'))
    const sent = parseTraceparent(legacyHeaders.traceparent)
    expect(answered).toMatchObject({ traceId: TRACE, flags: 1 })
    expect(sent).toMatchObject({ traceId: TRACE, flags: 1 })
    // Legacy gets a child span of the gateway's, never the caller's own span id.
    expect(sent?.parentId).not.toBe(CALLER_SPAN)
    expect(sent?.parentId).not.toBe(answered?.parentId)
    expect(answered?.parentId).not.toBe(CALLER_SPAN)
    expect(legacyHeaders.tracestate).toBe('vendor=abc')
  })

  it('starts a trace when none is sent, and legacy sees the one the response names', async () => {
    const { res, legacyHeaders } = await call(t, {})
    const answered = parseTraceparent(res.headers.get('traceparent'))
    expect(answered?.traceId).toMatch(/^[0-9a-f]{32}$/)
    expect(parseTraceparent(legacyHeaders.traceparent)?.traceId).toBe(answered?.traceId)
  })

  it('replaces a malformed traceparent and drops its tracestate', async () => {
    const { res, legacyHeaders } = await call(t, {
      traceparent: `00-${'0'.repeat(32)}-${CALLER_SPAN}-01`,
      tracestate: 'vendor=abc',
    })
    const answered = parseTraceparent(res.headers.get('traceparent'))
    expect(answered?.traceId).not.toBe('0'.repeat(32))
    expect(parseTraceparent(legacyHeaders.traceparent)?.traceId).toBe(answered?.traceId)
    expect(legacyHeaders.tracestate).toBeUndefined()
  })

  it('continues X-Cloud-Trace-Context and does not pass it on', async () => {
    const { res, legacyHeaders } = await call(t, { 'x-cloud-trace-context': `${TRACE}/42;o=1` })
    expect(parseTraceparent(res.headers.get('traceparent'))?.traceId).toBe(TRACE)
    expect(parseTraceparent(legacyHeaders.traceparent)?.traceId).toBe(TRACE)
    expect(legacyHeaders['x-cloud-trace-context']).toBeUndefined()
  })
})

describe('trace context on answers the gateway writes itself', () => {
  it('a problem answer carries traceparent too', async () => {
    const res = await fetch(`${gateways.node.url}/functions/v1/payment-checkout`, {
      method: 'GET',
      headers: { traceparent: `00-${TRACE}-${CALLER_SPAN}-00` },
    })
    expect(res.status).toBeGreaterThanOrEqual(400)
    expect(parseTraceparent(res.headers.get('traceparent'))).toMatchObject({
      traceId: TRACE,
      flags: 0,
    })
    await res.arrayBuffer()
  })
})

describe('the access-log line names the trace as Cloud Logging links it', () => {
  it('carries projects/<GOOGLE_CLOUD_PROJECT>/traces/<traceId>, the span id and the sampling flag', async () => {
    const lines: Record<string, unknown>[] = []
    const gateway = await startTestGateway(legacy.functionsUrl, {
      env: { GOOGLE_CLOUD_PROJECT: 'bff-gateway-prod' },
      extra: {
        logger: createLogger({
          level: 'info',
          traceProject: 'bff-gateway-prod',
          write: (line) => lines.push(JSON.parse(line)),
        }),
      },
    })
    try {
      const res = await fetch(`${gateway.url}/functions/v1/echo`, {
        headers: { 'x-cloud-trace-context': `${TRACE}/42;o=1`, 'x-request-id': 'trace-log-0001' },
      })
      const echo = (await res.json()) as Echo
      const answered = parseTraceparent(res.headers.get('traceparent'))
      const line = lines.find((l) => l.requestId === 'trace-log-0001')
      expect(line).toMatchObject({
        severity: 'INFO',
        message: 'request',
        'logging.googleapis.com/trace': `projects/bff-gateway-prod/traces/${TRACE}`,
        'logging.googleapis.com/spanId': answered?.parentId,
        'logging.googleapis.com/trace_sampled': true,
      })
      // Legacy's span is a child of the one the log line names.
      expect(parseTraceparent(echo.headers.traceparent)?.traceId).toBe(TRACE)
    } finally {
      await gateway.close()
    }
  })
})
