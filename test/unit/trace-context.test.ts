import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  childSpan,
  cloudTraceName,
  formatTraceparent,
  outgoingTraceHeaders,
  parseCloudTraceContext,
  parseTraceparent,
  traceContextOf,
} from '../../src/observability/trace-context.js'

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736'
const SPAN = '00f067aa0ba902b7'
const VALID = `00-${TRACE}-${SPAN}-01`

describe('parseTraceparent', () => {
  it('reads a version 00 header', () => {
    expect(parseTraceparent(VALID)).toEqual({ traceId: TRACE, parentId: SPAN, flags: 1 })
    expect(parseTraceparent(`00-${TRACE}-${SPAN}-00`)?.flags).toBe(0)
    expect(parseTraceparent(` ${VALID} `)?.traceId).toBe(TRACE)
  })

  it.each([
    ['all-zero trace id', `00-${'0'.repeat(32)}-${SPAN}-01`],
    ['all-zero span id', `00-${TRACE}-${'0'.repeat(16)}-01`],
    ['upper-case hex', `00-${TRACE.toUpperCase()}-${SPAN}-01`],
    ['version ff', `ff-${TRACE}-${SPAN}-01`],
    ['version 00 with a suffix', `${VALID}-extra`],
    ['short trace id', `00-${TRACE.slice(1)}-${SPAN}-01`],
    ['non-hex flags', `00-${TRACE}-${SPAN}-zz`],
    ['wrong separators', `00_${TRACE}_${SPAN}_01`],
    ['non-hex version', `0x-${TRACE}-${SPAN}-01`],
    ['empty', ''],
    ['injection', `00-${TRACE}-${SPAN}-01\r\nx-evil: 1`],
    ['huge', `00-${TRACE}-${SPAN}-01${'-a'.repeat(5000)}`],
  ])('refuses %s', (_, header) => {
    expect(parseTraceparent(header)).toBeUndefined()
  })

  it('reads a future version by its first fields', () => {
    expect(parseTraceparent(`01-${TRACE}-${SPAN}-01-what-comes-next`)?.traceId).toBe(TRACE)
    expect(parseTraceparent(`01-${TRACE}-${SPAN}-01x`)).toBeUndefined()
  })

  it('never throws and accepts only what it can format back', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (s) => {
        const parsed = parseTraceparent(s)
        if (parsed) {
          expect(parsed.traceId).toMatch(/^[0-9a-f]{32}$/)
          expect(parsed.parentId).toMatch(/^[0-9a-f]{16}$/)
        }
      }),
    )
  })
})

describe('parseCloudTraceContext', () => {
  it('reads TRACE_ID/SPAN_ID;o=1 with a decimal span id', () => {
    expect(parseCloudTraceContext(`${TRACE}/1;o=1`)).toEqual({
      traceId: TRACE,
      parentId: '0000000000000001',
      flags: 1,
    })
    expect(parseCloudTraceContext(`${TRACE.toUpperCase()}/18446744073709551615;o=0`)).toEqual({
      traceId: TRACE,
      parentId: 'ffffffffffffffff',
      flags: 0,
    })
    expect(parseCloudTraceContext(TRACE)?.parentId).toBe('')
  })

  it.each([
    ['all-zero trace id', `${'0'.repeat(32)}/1;o=1`],
    ['non-hex trace id', `${'g'.repeat(32)}/1;o=1`],
    ['bad option', `${TRACE}/1;o=2`],
    ['hex span id', `${TRACE}/ab;o=1`],
    ['trailing junk', `${TRACE}/1;o=1;x`],
  ])('refuses %s', (_, header) => {
    expect(parseCloudTraceContext(header)).toBeUndefined()
  })

  it('drops a span id beyond 64 bits or zero, keeping the trace', () => {
    expect(parseCloudTraceContext(`${TRACE}/18446744073709551616;o=1`)?.parentId).toBe('')
    expect(parseCloudTraceContext(`${TRACE}/0;o=1`)?.parentId).toBe('')
  })
})

describe('traceContextOf', () => {
  it('continues a traceparent with a new span of its own', () => {
    const ctx = traceContextOf(VALID, `${'a'.repeat(32)}/5;o=1`)
    expect(ctx).toMatchObject({ traceId: TRACE, parentSpanId: SPAN, sampled: true })
    expect(ctx.source).toBe('traceparent')
    expect(ctx.spanId).toMatch(/^[0-9a-f]{16}$/)
    expect(ctx.spanId).not.toBe(SPAN)
  })

  it('falls back to X-Cloud-Trace-Context when traceparent is absent or malformed', () => {
    const ctx = traceContextOf('garbage', `${TRACE}/255;o=1`)
    expect(ctx).toMatchObject({
      traceId: TRACE,
      parentSpanId: '00000000000000ff',
      sampled: true,
      source: 'x-cloud-trace-context',
    })
  })

  it('starts a new trace when neither is acceptable', () => {
    const a = traceContextOf(undefined, undefined)
    const b = traceContextOf(`00-${'0'.repeat(32)}-${SPAN}-01`, 'nope')
    for (const ctx of [a, b]) {
      expect(ctx.source).toBe('new')
      expect(ctx.traceId).toMatch(/^[0-9a-f]{32}$/)
      expect(ctx.traceId).not.toBe('0'.repeat(32))
      expect(ctx.parentSpanId).toBeUndefined()
      expect(ctx.sampled).toBe(false)
    }
    expect(a.traceId).not.toBe(b.traceId)
  })

  it('draws distinct ids across many requests (the pooled random source refills)', () => {
    const ids = new Set<string>()
    for (let i = 0; i < 2000; i++) ids.add(traceContextOf(undefined).traceId)
    expect(ids.size).toBe(2000)
  })
})

describe('outgoing trace context', () => {
  it('a child keeps the trace and flags, with a new span whose parent is ours', () => {
    const ctx = traceContextOf(VALID)
    const child = childSpan(ctx)
    expect(child.traceId).toBe(TRACE)
    expect(child.parentSpanId).toBe(ctx.spanId)
    expect(child.spanId).not.toBe(ctx.spanId)
    const header = outgoingTraceHeaders(ctx).traceparent as string
    expect(parseTraceparent(header)).toMatchObject({ traceId: TRACE, flags: 1 })
    expect(header).not.toContain(ctx.spanId)
    expect(formatTraceparent(ctx)).toBe(`00-${TRACE}-${ctx.spanId}-01`)
    expect(outgoingTraceHeaders(undefined)).toEqual({})
  })

  it('names the Cloud Logging trace only with a project id', () => {
    expect(cloudTraceName('my-proj', TRACE)).toBe(`projects/my-proj/traces/${TRACE}`)
    expect(cloudTraceName(undefined, TRACE)).toBeUndefined()
  })
})
