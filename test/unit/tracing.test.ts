import { describe, expect, it } from 'vitest'
import { traceContextOf } from '../../src/observability/trace-context.js'
import {
  type FinishedSpan,
  otlpHeaders,
  type SpanExporter,
  Tracer,
} from '../../src/observability/tracing.js'

function collecting(): SpanExporter & { spans: FinishedSpan[] } {
  const spans: FinishedSpan[] = []
  return {
    spans,
    export: (batch) => {
      spans.push(...batch)
    },
    flush: () => Promise.resolve(),
    close: () => Promise.resolve(),
  }
}

const CONTINUED = (flags: string) =>
  traceContextOf(`00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-${flags}`)

describe('Tracer', () => {
  it('follows a caller sampled flag and samples new traces by ratio', () => {
    const tracer = (ratio: number, random: number) =>
      new Tracer({ exporter: collecting(), sampleRatio: ratio, random: () => random })
    expect(tracer(0, 0.5).samples(CONTINUED('01'))).toBe(true)
    expect(tracer(1, 0.5).samples(CONTINUED('00'))).toBe(false)
    expect(tracer(0.25, 0.2).samples(traceContextOf(undefined))).toBe(true)
    expect(tracer(0.25, 0.3).samples(traceContextOf(undefined))).toBe(false)
    // Cloud Run's front end: o=1 records, o=0 leaves it to the ratio.
    const cloud = (o: string) =>
      traceContextOf(undefined, `4bf92f3577b34da6a3ce929d0e0e4736/1;o=${o}`)
    expect(tracer(0, 0.5).samples(cloud('1'))).toBe(true)
    expect(tracer(0.25, 0.2).samples(cloud('0'))).toBe(true)
    expect(tracer(0.25, 0.3).samples(cloud('0'))).toBe(false)
  })

  it('nests spans under the current one and exports them with the request', async () => {
    const exporter = collecting()
    const tracer = new Tracer({ exporter, sampleRatio: 1 })
    const trace = CONTINUED('01')
    const { result } = await tracer.request(
      trace,
      'request',
      () =>
        tracer.span('outer', 'internal', () =>
          tracer
            .span('inner', 'client', async () => {
              throw new Error('boom')
            })
            .catch(() => 'caught'),
        ),
      () => ({ name: 'GET route' }),
    )
    expect(result).toBe('caught')
    const [inner, outer, request] = exporter.spans
    expect(request).toMatchObject({
      name: 'GET route',
      kind: 'server',
      spanId: trace.spanId,
      parentSpanId: '00f067aa0ba902b7',
    })
    expect(outer).toMatchObject({ name: 'outer', parentSpanId: trace.spanId, status: 'ok' })
    expect(inner).toMatchObject({ name: 'inner', parentSpanId: outer?.spanId, status: 'error' })
    expect(new Set(exporter.spans.map((s) => s.traceId))).toEqual(new Set([trace.traceId]))
  })

  it('outside a recorded request, spans and traced fetches just run', async () => {
    const exporter = collecting()
    const tracer = new Tracer({ exporter, sampleRatio: 1 })
    expect(await tracer.span('alone', 'internal', async () => 7)).toBe(7)
    const seen: (string | null)[] = []
    const fetched = tracer.fetch('toss', async (_input, init) => {
      seen.push(new Headers(init?.headers).get('traceparent'))
      return new Response('ok')
    })
    await fetched('http://127.0.0.1:9/v1/payments/x')
    expect(seen).toEqual([null])
    expect(exporter.spans).toEqual([])
  })
})

describe('otlpHeaders', () => {
  it('reads name=value pairs with percent-encoded values', () => {
    expect(otlpHeaders('authorization=Bearer%20abc, x-tenant=gw,bad,=x,odd=%')).toEqual({
      authorization: 'Bearer abc',
      'x-tenant': 'gw',
      odd: '%',
    })
    expect(otlpHeaders(undefined)).toEqual({})
  })
})
