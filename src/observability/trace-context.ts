/**
 * W3C trace context (https://www.w3.org/TR/trace-context/) for one request: where it comes
 * from, the ids the gateway works under, and the `traceparent` it sends on and answers with.
 *
 * - An incoming `traceparent` of version `00` with non-zero ids is continued (same trace id,
 *   the caller's span becomes our parent). Anything malformed is ignored and a new trace is
 *   started, as the specification asks.
 * - Without one, Google's `X-Cloud-Trace-Context: TRACE_ID/SPAN_ID;o=1` (span id in decimal),
 *   which Cloud Run's front end sets, is continued the same way.
 * - Otherwise a new trace id is created.
 *
 * Ids come from `crypto.getRandomValues` (Node and Workers), drawn from a pooled buffer so a
 * request costs no call into the random source most of the time.
 */

export interface TraceContext {
  /** 32 lower-case hex digits, never all zero. */
  readonly traceId: string
  /** The span the gateway works under for this request: 16 lower-case hex digits. */
  readonly spanId: string
  /** The caller's span (from `traceparent` or `X-Cloud-Trace-Context`), if any. */
  readonly parentSpanId: string | undefined
  /** The caller's sampling decision (flag `01` / `o=1`); false for a trace started here. */
  readonly sampled: boolean
  /** Where the trace id came from. */
  readonly source: 'traceparent' | 'x-cloud-trace-context' | 'new'
}

const HEX = /^[0-9a-f]+$/
const ZERO_TRACE = '00000000000000000000000000000000'
const ZERO_SPAN = '0000000000000000'

export interface ParsedTraceparent {
  traceId: string
  parentId: string
  flags: number
}

/**
 * A `traceparent` header, or undefined when it is not acceptable: version `00` exactly 55
 * characters, lower-case hex, non-zero ids. A future version (`01`–`fe`) is read by its first
 * four fields when it is at least as long and the next character is `-` (the specification's
 * forward-compatibility rule); `ff` is invalid.
 */
export function parseTraceparent(value: string | null | undefined): ParsedTraceparent | undefined {
  if (!value || value.length < 55 || value.length > 512) return undefined
  const header = value.trim()
  if (header.length < 55) return undefined
  const version = header.slice(0, 2)
  if (!HEX.test(version) || version === 'ff') return undefined
  if (version === '00' ? header.length !== 55 : header.length > 55 && header[55] !== '-') {
    return undefined
  }
  if (header[2] !== '-' || header[35] !== '-' || header[52] !== '-') return undefined
  const traceId = header.slice(3, 35)
  const parentId = header.slice(36, 52)
  const flags = header.slice(53, 55)
  if (!HEX.test(traceId) || !HEX.test(parentId) || !HEX.test(flags)) return undefined
  if (traceId === ZERO_TRACE || parentId === ZERO_SPAN) return undefined
  return { traceId, parentId, flags: Number.parseInt(flags, 16) }
}

const CLOUD_TRACE = /^([0-9a-fA-F]{32})(?:\/(\d{1,20}))?(?:;o=([01]))?$/
const MAX_U64 = 0xffffffffffffffffn

/**
 * `X-Cloud-Trace-Context: TRACE_ID/SPAN_ID;o=OPTIONS`: a 32-hex trace id, the span id as an
 * unsigned 64-bit decimal, `o=1` when sampled. Undefined when malformed or all zero.
 */
export function parseCloudTraceContext(
  value: string | null | undefined,
): ParsedTraceparent | undefined {
  if (!value || value.length > 128) return undefined
  const match = CLOUD_TRACE.exec(value.trim())
  if (!match) return undefined
  const traceId = (match[1] as string).toLowerCase()
  if (traceId === ZERO_TRACE) return undefined
  let parentId = ''
  if (match[2] !== undefined) {
    const span = BigInt(match[2])
    if (span > 0n && span <= MAX_U64) parentId = span.toString(16).padStart(16, '0')
  }
  return { traceId, parentId, flags: match[3] === '1' ? 1 : 0 }
}

// Random ids: one getRandomValues call fills ids for 170 requests.
const POOL_BYTES = 4096
const pool = new Uint8Array(POOL_BYTES)
let poolAt = POOL_BYTES
const BYTE_HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

function randomHex(bytes: number): string {
  for (;;) {
    if (poolAt + bytes > POOL_BYTES) {
      crypto.getRandomValues(pool)
      poolAt = 0
    }
    let out = ''
    let zero = true
    for (let i = 0; i < bytes; i++) {
      const b = pool[poolAt++] as number
      if (b !== 0) zero = false
      out += BYTE_HEX[b]
    }
    // All-zero ids are invalid; 2^-64 at worst, but drawn again rather than sent.
    if (!zero) return out
  }
}

/** A new 16-hex span id. */
export function newSpanId(): string {
  return randomHex(8)
}

/** A new 32-hex trace id. */
export function newTraceId(): string {
  return randomHex(16)
}

/**
 * The trace context of an incoming request, from its `traceparent` and, failing that, its
 * `X-Cloud-Trace-Context`; a new trace when neither is acceptable. Always a fresh span id.
 */
export function traceContextOf(
  traceparent: string | null | undefined,
  cloudTraceContext?: string | null,
): TraceContext {
  const w3c = parseTraceparent(traceparent)
  if (w3c) {
    return {
      traceId: w3c.traceId,
      spanId: newSpanId(),
      parentSpanId: w3c.parentId,
      sampled: (w3c.flags & 1) === 1,
      source: 'traceparent',
    }
  }
  const google = parseCloudTraceContext(cloudTraceContext)
  if (google) {
    return {
      traceId: google.traceId,
      spanId: newSpanId(),
      parentSpanId: google.parentId || undefined,
      sampled: google.flags === 1,
      source: 'x-cloud-trace-context',
    }
  }
  return newTraceContext()
}

/** A trace started here (not sampled: no caller asked for it). */
export function newTraceContext(sampled = false): TraceContext {
  return {
    traceId: newTraceId(),
    spanId: newSpanId(),
    parentSpanId: undefined,
    sampled,
    source: 'new',
  }
}

/**
 * A child span of `parent`: same trace id and sampling decision, a new span id, `parent`'s
 * span as its parent. One per outgoing call (legacy function, Toss, Anthropic).
 */
export function childSpan(parent: TraceContext): TraceContext {
  return {
    traceId: parent.traceId,
    spanId: newSpanId(),
    parentSpanId: parent.spanId,
    sampled: parent.sampled,
    source: parent.source,
  }
}

/** The `traceparent` value naming `ctx`'s span: `00-<trace>-<span>-<flags>`. */
export function formatTraceparent(ctx: TraceContext): string {
  return `00-${ctx.traceId}-${ctx.spanId}-${ctx.sampled ? '01' : '00'}`
}

/**
 * Headers for a call the gateway makes on behalf of a request (Toss, Anthropic, a legacy
 * function): `traceparent` of a new child span of `trace`. Empty without a trace (a job, a
 * test calling a client directly).
 *
 * @example
 * await fetch(url, { headers: { ...outgoingTraceHeaders(c.get('trace')), accept: 'application/json' } })
 */
export function outgoingTraceHeaders(trace: TraceContext | undefined): Record<string, string> {
  return trace ? { traceparent: formatTraceparent(childSpan(trace)) } : {}
}

/**
 * Cloud Logging's trace field value, `projects/<project>/traces/<traceId>`, which groups a
 * request's log lines and links them to Cloud Trace; undefined without a project id.
 */
export function cloudTraceName(projectId: string | undefined, traceId: string): string | undefined {
  return projectId ? `projects/${projectId}/traces/${traceId}` : undefined
}
