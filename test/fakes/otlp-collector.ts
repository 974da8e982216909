import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { gunzipSync } from 'node:zlib'

/**
 * An OpenTelemetry collector stand-in on loopback: `POST /v1/traces` with OTLP/HTTP JSON
 * (opentelemetry.io/docs/specs/otlp/#otlphttp: `resourceSpans` → `scopeSpans` → `spans`, ids
 * as hex strings, attributes as `{key, value: {stringValue | intValue | boolValue}}`). Spans
 * are flattened with their resource's service name.
 */

export interface CollectedSpan {
  service: string | undefined
  traceId: string
  spanId: string
  parentSpanId: string | undefined
  name: string
  /** OTLP's SpanKind: 1 internal, 2 server, 3 client. */
  kind: number
  attributes: Record<string, string | number | boolean>
  /** OTLP's status code: 1 ok, 2 error. */
  status: number | undefined
  startTimeUnixNano: string
  endTimeUnixNano: string
}

export interface OtlpCollector {
  /** The base URL (`OTEL_EXPORTER_OTLP_ENDPOINT`). */
  readonly url: string
  readonly spans: CollectedSpan[]
  /** Headers of every export request. */
  readonly requests: IncomingHttpHeaders[]
  /** Resolves once spans of `traceId` match `count` (bounded by `timeoutMs`). */
  waitForSpans(traceId: string, count: number, timeoutMs?: number): Promise<CollectedSpan[]>
  close(): Promise<void>
}

type OtlpValue = { stringValue?: string; intValue?: string | number; boolValue?: boolean }
interface OtlpSpan {
  traceId: string
  spanId: string
  parentSpanId?: string
  name: string
  kind: number
  startTimeUnixNano: string
  endTimeUnixNano: string
  attributes?: Array<{ key: string; value: OtlpValue }>
  status?: { code?: number }
}
interface OtlpExport {
  resourceSpans: Array<{
    resource?: { attributes?: Array<{ key: string; value: OtlpValue }> }
    scopeSpans: Array<{ spans: OtlpSpan[] }>
  }>
}

function plainValue(v: OtlpValue): string | number | boolean {
  if (v.stringValue !== undefined) return v.stringValue
  if (v.intValue !== undefined) return Number(v.intValue)
  return v.boolValue ?? ''
}

function attributesOf(list: Array<{ key: string; value: OtlpValue }> = []) {
  return Object.fromEntries(list.map((a) => [a.key, plainValue(a.value)]))
}

export async function startOtlpCollector(): Promise<OtlpCollector> {
  const spans: CollectedSpan[] = []
  const requests: IncomingHttpHeaders[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end()
        return
      }
      if (!String(req.headers['content-type']).startsWith('application/json')) {
        res.writeHead(415).end()
        return
      }
      let body = Buffer.concat(chunks)
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body)
      requests.push(req.headers)
      const doc = JSON.parse(body.toString('utf8')) as OtlpExport
      for (const rs of doc.resourceSpans) {
        const service = attributesOf(rs.resource?.attributes)['service.name']
        for (const ss of rs.scopeSpans) {
          for (const s of ss.spans) {
            spans.push({
              service: service === undefined ? undefined : String(service),
              traceId: s.traceId,
              spanId: s.spanId,
              parentSpanId: s.parentSpanId || undefined,
              name: s.name,
              kind: s.kind,
              attributes: attributesOf(s.attributes),
              status: s.status?.code,
              startTimeUnixNano: s.startTimeUnixNano,
              endTimeUnixNano: s.endTimeUnixNano,
            })
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const ofTrace = (traceId: string) => spans.filter((s) => s.traceId === traceId)
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    requests,
    async waitForSpans(traceId, count, timeoutMs = 8_000) {
      const deadline = Date.now() + timeoutMs
      while (ofTrace(traceId).length < count && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 25))
      }
      return ofTrace(traceId)
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
