import {
  type SpanKind as OtelSpanKind,
  ROOT_CONTEXT,
  SpanStatusCode,
  TraceFlags,
  trace,
} from '@opentelemetry/api'
import type { FinishedSpan, SpanExporter } from './tracing.js'

export interface OtlpOptions {
  /** `OTEL_EXPORTER_OTLP_ENDPOINT`: the collector's base URL; traces go to `/v1/traces`. */
  endpoint: string
  /** Sent with every export (`OTEL_EXPORTER_OTLP_HEADERS`, read with `otlpHeaders`). */
  headers: Record<string, string>
  serviceName: string
  environment: string
}

// @opentelemetry/api's SpanKind values (INTERNAL 0, SERVER 1, CLIENT 2).
const KINDS: Record<FinishedSpan['kind'], OtelSpanKind> = { internal: 0, server: 1, client: 2 }

/**
 * OTLP/HTTP (JSON) export on Node with the OpenTelemetry SDK: its tracer provider, batch
 * processor and exporter (batching, retries, timeouts, the OTLP encoding), imported only when
 * an endpoint is configured and kept out of the bundle. The spans themselves are made by
 * `tracing.ts` with the ids the gateway propagates; the SDK's id generator is handed those
 * ids for each span it records, so what the collector gets matches every `traceparent` sent.
 */
export async function otlpNodeExporter(options: OtlpOptions): Promise<SpanExporter> {
  const [{ TracerProvider, BatchSpanProcessor, AlwaysOnSampler }, { OTLPTraceExporter }, res] =
    await Promise.all([
      import('@opentelemetry/sdk-trace'),
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/resources'),
    ])
  const next = { traceId: '', spanId: '' }
  const provider = new TracerProvider({
    resource: res.resourceFromAttributes({
      'service.name': options.serviceName,
      'deployment.environment.name': options.environment,
    }),
    sampler: new AlwaysOnSampler(),
    idGenerator: {
      generateTraceId: () => next.traceId,
      generateSpanId: () => next.spanId,
    },
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: new OTLPTraceExporter({
          url: `${options.endpoint}/v1/traces`,
          headers: options.headers,
        }),
        scheduledDelayMillis: 1_000,
      }),
    ],
  })
  const tracer = provider.getTracer('bff-gateway')
  return {
    export(spans) {
      for (const span of spans) {
        // startSpan asks the id generator synchronously (the span id, and the trace id for a
        // span without a parent): the ids are set right before.
        next.traceId = span.traceId
        next.spanId = span.spanId
        const parent = span.parentSpanId
          ? trace.setSpanContext(ROOT_CONTEXT, {
              traceId: span.traceId,
              spanId: span.parentSpanId,
              traceFlags: TraceFlags.SAMPLED,
              isRemote: true,
            })
          : ROOT_CONTEXT
        const otel = tracer.startSpan(
          span.name,
          { kind: KINDS[span.kind], startTime: span.startTime, attributes: defined(span) },
          parent,
        )
        otel.setStatus({ code: span.status === 'error' ? SpanStatusCode.ERROR : SpanStatusCode.OK })
        otel.end(span.endTime)
      }
    },
    // The batch processor sends on its own schedule; Node keeps running between requests.
    flush: () => Promise.resolve(),
    async close(timeoutMs) {
      let timer: ReturnType<typeof setTimeout> | undefined
      await Promise.race([
        provider.shutdown(),
        new Promise((resolve) => {
          timer = setTimeout(resolve, timeoutMs)
        }),
      ])
      clearTimeout(timer)
    },
  }
}

function defined(span: FinishedSpan): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {}
  for (const [key, value] of Object.entries(span.attributes)) {
    if (value !== undefined) out[key] = value
  }
  return out
}
