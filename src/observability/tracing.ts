import { AsyncLocalStorage } from 'node:async_hooks'
import {
  childSpan,
  formatTraceparent,
  parseTraceparent,
  type TraceContext,
} from './trace-context.js'

/**
 * Spans of a request, for OpenTelemetry export (`OTEL_EXPORTER_OTLP_ENDPOINT`). Spans are made
 * here from the request's W3C trace context (`trace-context.ts`), so the span ids exported are
 * the ones sent in `traceparent` to the legacy function and the vendors, and their own spans
 * hang under ours. A request's spans are collected while it runs and handed to the runtime's
 * exporter together when it ends (`otlp-node.ts` on Node, `otlp-fetch.ts` on Workers).
 *
 * Nothing here runs unless tracing is configured: the app installs the span middleware and
 * wraps the decision, the native handlers, the legacy call and the vendor fetches only then.
 */

export type SpanKind = 'server' | 'client' | 'internal'
export type SpanAttributes = Record<string, string | number | boolean | undefined>

export interface FinishedSpan {
  name: string
  kind: SpanKind
  traceId: string
  spanId: string
  parentSpanId: string | undefined
  /** Unix epoch milliseconds. */
  startTime: number
  endTime: number
  attributes: SpanAttributes
  /** `error` for a failed operation (a throw, a 5xx). */
  status: 'ok' | 'error'
}

/** Where finished spans go: an OTLP/HTTP exporter. */
export interface SpanExporter {
  /** Queue the spans of one request. */
  export(spans: readonly FinishedSpan[]): void
  /** Send what is queued (on Workers, under `waitUntil` at the end of each request). */
  flush(): Promise<void>
  /** Send what is queued and stop, waiting at most `timeoutMs`. */
  close(timeoutMs: number): Promise<void>
}

interface SpanScope {
  /** The request's spans so far. */
  readonly spans: FinishedSpan[]
  /** The span that new spans are children of. */
  readonly current: TraceContext
}

const scopes = new AsyncLocalStorage<SpanScope>()

/**
 * Unix epoch milliseconds, with the monotonic clock's resolution where the runtime has a time
 * origin (Node); workerd has none, and its clocks advance only across I/O anyway.
 */
const now =
  typeof performance !== 'undefined' && performance.timeOrigin > 0
    ? () => performance.timeOrigin + performance.now()
    : () => Date.now()

export interface TracerOptions {
  exporter: SpanExporter
  /** Share of new traces (not continued from a caller) recorded, 0 to 1. */
  sampleRatio: number
  random?: () => number
}

type Describe<T> = (outcome: { result?: T; error?: unknown }) => {
  attributes?: SpanAttributes
  /** Whether the operation failed; by default, whether it threw. */
  failed?: boolean
  /** A name known only at the end (the route of a request). */
  name?: string
}

export class Tracer {
  readonly #exporter: SpanExporter
  readonly #ratio: number
  readonly #random: () => number

  constructor({ exporter, sampleRatio, random = Math.random }: TracerOptions) {
    this.#exporter = exporter
    this.#ratio = sampleRatio
    this.#random = random
  }

  /**
   * Whether a request is recorded: a trace continued from a `traceparent` follows its caller's
   * sampled flag (the W3C parent-based rule, so one trace is recorded everywhere or nowhere); a
   * new one is recorded with the configured ratio. Cloud Run's front end puts
   * `X-Cloud-Trace-Context` on every request and sets `o=1` only for the few Cloud Trace
   * samples, so there `o=1` records and `o=0` leaves the choice to the ratio.
   */
  samples(trace: TraceContext): boolean {
    if (trace.sampled) return true
    return trace.source === 'traceparent' ? false : this.#random() < this.#ratio
  }

  /**
   * Run a request as the server span `trace` (the gateway's span of the request, child of the
   * caller's), collecting the spans made inside it; then hand them all to the exporter.
   * Resolves with `fn`'s result and the export, which Workers keep alive with `waitUntil`.
   */
  async request<T>(
    trace: TraceContext,
    name: string,
    fn: () => Promise<T>,
    describe: Describe<T>,
  ): Promise<{ result: T; exported: Promise<void> }> {
    const spans: FinishedSpan[] = []
    const send = () => {
      this.#exporter.export(spans)
      return this.#exporter.flush()
    }
    try {
      const result = await this.#timed(
        spans,
        trace,
        trace.parentSpanId,
        name,
        'server',
        fn,
        describe,
      )
      return { result, exported: send() }
    } catch (error) {
      send().catch(() => {})
      throw error
    }
  }

  /**
   * Run `fn` as a child span of the current one (which it becomes for what `fn` calls). Outside
   * a recorded request, `fn` just runs.
   */
  span<T>(
    name: string,
    kind: SpanKind,
    fn: () => Promise<T>,
    describe: Describe<T> = () => ({}),
  ): Promise<T> {
    const scope = scopes.getStore()
    if (!scope) return fn()
    return this.#timed(
      scope.spans,
      childSpan(scope.current),
      scope.current.spanId,
      name,
      kind,
      fn,
      describe,
    )
  }

  /**
   * A client span for a call that carries `traceparent` (the legacy proxy builds its own from
   * the request's trace): the span takes the id sent, so the callee's spans are its children.
   */
  clientSpan<T>(
    name: string,
    traceparent: string | undefined,
    fn: () => Promise<T>,
    describe: Describe<T>,
  ): Promise<T> {
    const scope = scopes.getStore()
    if (!scope) return fn()
    const sent = parseTraceparent(traceparent)
    const ids = childSpan(scope.current)
    const span = sent ? { ...ids, spanId: sent.parentId } : ids
    return this.#timed(scope.spans, span, scope.current.spanId, name, 'client', fn, describe)
  }

  /**
   * A vendor's `fetch` with a client span per call. The call carries the span's `traceparent`
   * (the vendor client's own when it set one, else the span's), so the vendor can join the
   * trace. Only the host and status are recorded: vendor paths carry order and payment ids.
   */
  fetch(vendor: string, base: typeof fetch = (input, init) => fetch(input, init)): typeof fetch {
    const tracer = this
    return function tracedFetch(input, init) {
      const scope = scopes.getStore()
      if (!scope) return base(input, init)
      const request = input instanceof Request ? input : undefined
      const headers = new Headers(init?.headers ?? request?.headers)
      const method = init?.method ?? request?.method ?? 'GET'
      const url = request ? request.url : String(input)
      if (!headers.has('traceparent')) {
        // The span made below is a child of the current one, with this id.
        const span = childSpan(scope.current)
        headers.set('traceparent', formatTraceparent(span))
      }
      return tracer.clientSpan(
        `${vendor} ${method}`,
        headers.get('traceparent') ?? undefined,
        () => base(input, { ...init, headers }),
        ({ result }) => ({
          attributes: {
            'bff.vendor': vendor,
            'http.request.method': method,
            'server.address': URL.canParse(url) ? new URL(url).host : undefined,
            'http.response.status_code': result?.status,
          },
          failed: result === undefined || result.status >= 500,
        }),
      )
    }
  }

  async #timed<T>(
    spans: FinishedSpan[],
    span: TraceContext,
    parentSpanId: string | undefined,
    name: string,
    kind: SpanKind,
    fn: () => Promise<T>,
    describe: Describe<T>,
  ): Promise<T> {
    const startTime = now()
    const finish = (outcome: { result?: T; error?: unknown }) => {
      const described = describe(outcome)
      const { attributes = {}, failed = outcome.error !== undefined } = described
      spans.push({
        name: described.name ?? name,
        kind,
        traceId: span.traceId,
        spanId: span.spanId,
        parentSpanId,
        startTime,
        endTime: now(),
        attributes,
        status: failed ? 'error' : 'ok',
      })
    }
    try {
      const result = await scopes.run({ spans, current: span }, fn)
      finish({ result })
      return result
    } catch (error) {
      finish({ error })
      throw error
    }
  }
}

/**
 * `OTEL_EXPORTER_OTLP_HEADERS` (`name=value,…`, values percent-encoded, as the OpenTelemetry
 * SDKs read it) as a record.
 * @example otlpHeaders('authorization=Bearer%20abc') // { authorization: 'Bearer abc' }
 */
export function otlpHeaders(value: string | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  for (const pair of value ? value.split(',') : []) {
    const at = pair.indexOf('=')
    if (at <= 0) continue
    const raw = pair.slice(at + 1).trim()
    let decoded = raw
    try {
      decoded = decodeURIComponent(raw)
    } catch {
      // A lone `%` is taken as written.
    }
    out[pair.slice(0, at).trim()] = decoded
  }
  return out
}

/** The vendors whose calls native handlers make: their fetches, each with a client span. */
export function vendorFetches(tracer: Tracer): Record<string, typeof fetch> {
  return {
    toss: tracer.fetch('toss'),
    anthropic: tracer.fetch('anthropic'),
    portone: tracer.fetch('portone'),
  }
}
