import type { OtlpOptions } from './otlp-node.js'
import type { FinishedSpan, SpanAttributes, SpanExporter } from './tracing.js'

/**
 * OTLP/HTTP JSON export with `fetch`, for Workers: the spans of a request are posted when it
 * ends, under `waitUntil` (an isolate may be frozen between requests, so nothing waits for a
 * timer). The OpenTelemetry SDK is not used there: the spans are made by `tracing.ts`, what is
 * left is this encoding (opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding) and one
 * request, and the SDK would add its whole tracer and exporter to every Worker bundle.
 */

// OTLP's SpanKind: SPAN_KIND_INTERNAL 1, SERVER 2, CLIENT 3; StatusCode: OK 1, ERROR 2.
const KINDS: Record<FinishedSpan['kind'], number> = { internal: 1, server: 2, client: 3 }
/** Spans kept while the collector is unreachable; older ones are dropped beyond it. */
const MAX_QUEUED = 2_048

type AnyValue =
  | { stringValue: string }
  | { intValue: string }
  | { doubleValue: number }
  | {
      boolValue: boolean
    }

function anyValue(value: string | number | boolean): AnyValue {
  if (typeof value === 'string') return { stringValue: value }
  if (typeof value === 'boolean') return { boolValue: value }
  return Number.isInteger(value) ? { intValue: String(value) } : { doubleValue: value }
}

function keyValues(attributes: SpanAttributes) {
  const out: Array<{ key: string; value: AnyValue }> = []
  for (const [key, value] of Object.entries(attributes)) {
    if (value !== undefined) out.push({ key, value: anyValue(value) })
  }
  return out
}

/** Epoch milliseconds (fractional) as OTLP's decimal string of nanoseconds. */
function unixNano(ms: number): string {
  const whole = Math.floor(ms)
  return (BigInt(whole) * 1_000_000n + BigInt(Math.round((ms - whole) * 1e6))).toString()
}

/** The OTLP JSON document for `spans` of one service. */
export function otlpTraceDocument(
  spans: readonly FinishedSpan[],
  resource: Record<string, string>,
): unknown {
  return {
    resourceSpans: [
      {
        resource: { attributes: keyValues(resource) },
        scopeSpans: [
          {
            scope: { name: 'bff-gateway' },
            spans: spans.map((s) => ({
              traceId: s.traceId,
              spanId: s.spanId,
              ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
              name: s.name,
              kind: KINDS[s.kind],
              startTimeUnixNano: unixNano(s.startTime),
              endTimeUnixNano: unixNano(s.endTime),
              attributes: keyValues(s.attributes),
              status: { code: s.status === 'error' ? 2 : 1 },
            })),
          },
        ],
      },
    ],
  }
}

export function otlpFetchExporter(
  options: OtlpOptions & { fetch?: typeof fetch; timeoutMs?: number },
): SpanExporter {
  const send = options.fetch ?? ((input, init) => fetch(input, init))
  const url = `${options.endpoint}/v1/traces`
  const resource = {
    'service.name': options.serviceName,
    'deployment.environment.name': options.environment,
  }
  let queue: FinishedSpan[] = []
  const flush = async () => {
    if (queue.length === 0) return
    const batch = queue
    queue = []
    try {
      const res = await send(url, {
        method: 'POST',
        headers: { ...options.headers, 'content-type': 'application/json' },
        body: JSON.stringify(otlpTraceDocument(batch, resource)),
        signal: AbortSignal.timeout(options.timeoutMs ?? 5_000),
      })
      await res.body?.cancel()
    } catch {
      // The collector is down or slow: traces are best effort, requests never wait on them.
    }
  }
  return {
    export(spans) {
      queue.push(...spans)
      if (queue.length > MAX_QUEUED) queue = queue.slice(-MAX_QUEUED)
    },
    flush,
    close: () => flush(),
  }
}
