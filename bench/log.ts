import pino from 'pino'
import { type AccessRecord, accessLine, createLogger } from '../src/observability/log.js'
import { maskPii, maskString } from '../src/observability/pii.js'
import { traceContextOf } from '../src/observability/trace-context.js'
import { type BenchOptions, benchOptions, isMain, log, report } from './lib/options.js'
import { type Row, spread } from './lib/stats.js'

/**
 * The access-log line in isolation: CPU time per line to build it from a finished request,
 * over a rotating mix of realistic records, for three ways of writing it:
 *
 * - `gateway`: `createLogger().access` (`src/observability/log.ts`): a dedicated serializer
 *   that masks only what a client controls (path, its own request id, an unknown function's
 *   name, handler fields);
 * - `pino`: pino 10 at `info` with the same Cloud Logging fields (`messageKey: 'message'`,
 *   `severity` from a level formatter, ISO time) and the same selective masking done before the
 *   call, writing to a no-op stream;
 * - `mask everything`: the previous design, every field of the record through `maskPii`, then
 *   `JSON.stringify` (what the logger did for every line before).
 *
 * Lines go to a no-op sink, so only building them is counted: the write itself (batched per
 * event-loop turn in the gateway) shows in the proxy figure's `info` − `warn` difference.
 */

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736'

function records(): AccessRecord[] {
  const base = {
    requestIdFromClient: false,
    method: 'GET',
    routeKnown: true,
    backend: 'legacy',
    reason: 'flag',
    bucket: undefined as number | undefined,
    subjectSource: 'jwt',
    status: 200,
    upstreamMs: 11.4,
    extra: {} as Record<string, unknown>,
  }
  const out: AccessRecord[] = []
  for (let i = 0; i < 64; i++) {
    const trace =
      i % 2
        ? traceContextOf(`00-${TRACE}-00f067aa0ba902b7-01`)
        : traceContextOf(undefined, `${TRACE}/${1000 + i};o=1`)
    const id = crypto.randomUUID()
    const variant = i % 8
    const r: AccessRecord = {
      ...base,
      requestId: id,
      path: '/functions/v1/payment-checkout',
      route: 'payment-checkout',
      latencyMs: 12.3 + i / 10,
      trace,
      bucket: (i * 37) % 100,
    }
    if (variant === 1) Object.assign(r, { path: '/api/v1/checkout', method: 'POST' })
    if (variant === 2)
      Object.assign(r, { path: `/functions/v1/bench-echo`, route: 'bench-echo', routeKnown: false })
    if (variant === 3)
      Object.assign(r, {
        path: '/api/v1/settlement/export/2026-05',
        route: 'settlement-export',
        backend: 'native',
      })
    if (variant === 4)
      Object.assign(r, { requestId: `app-${i}-req-0001`, requestIdFromClient: true })
    if (variant === 5)
      Object.assign(r, { status: 401, extra: { authError: 'expired' }, upstreamMs: undefined })
    if (variant === 6)
      Object.assign(r, {
        path: `/functions/v1/legacy-fn/${id}`,
        route: 'legacy-fn',
        routeKnown: false,
      })
    if (variant === 7)
      Object.assign(r, {
        backend: 'legacy-fallback',
        extra: { fallback: 'before-effect', nativeStatus: 503 },
      })
    out.push(r)
  }
  return out
}

const SEVERITY: Record<string, string> = {
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARNING',
  error: 'ERROR',
}
const BASE = { service: 'bff-gateway', env: 'production' }
const PROJECT = 'bff-gateway-prod'

type Writer = (r: AccessRecord) => void

function writers(sink: (line: string) => void): Record<string, Writer> {
  const gateway = createLogger({ level: 'info', base: BASE, write: sink, traceProject: PROJECT })
  const p = pino(
    {
      level: 'info',
      messageKey: 'message',
      base: BASE,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ severity: SEVERITY[label] ?? 'DEFAULT' }) },
    },
    { write: sink },
  )
  return {
    gateway: (r) => gateway.access(r),
    pino: (r) => {
      const t = r.trace
      const extra = r.extra && Object.keys(r.extra).length ? (maskPii(r.extra) as object) : {}
      p.info(
        {
          ...extra,
          requestId: r.requestIdFromClient ? maskString(r.requestId) : r.requestId,
          httpRequest: {
            requestMethod: r.method,
            requestUrl: maskString(r.path),
            status: r.status,
            latency: `${(r.latencyMs / 1000).toFixed(4)}s`,
          },
          'logging.googleapis.com/trace': t ? `projects/${PROJECT}/traces/${t.traceId}` : undefined,
          'logging.googleapis.com/spanId': t?.spanId,
          'logging.googleapis.com/trace_sampled': t?.sampled,
          route: r.routeKnown ? r.route : maskString(r.route),
          backend: r.backend,
          reason: r.reason,
          bucket: r.bucket,
          subjectSource: r.subjectSource,
          latencyMs: r.latencyMs,
          upstreamMs: r.upstreamMs,
        },
        'request',
      )
    },
    'mask everything': (r) => {
      const t = r.trace
      const record = maskPii({
        ...BASE,
        requestId: r.requestId,
        method: r.method,
        path: r.path,
        route: r.route,
        backend: r.backend,
        reason: r.reason,
        bucket: r.bucket,
        subjectSource: r.subjectSource,
        status: r.status,
        latencyMs: r.latencyMs,
        upstreamMs: r.upstreamMs,
        traceId: t?.traceId,
        spanId: t?.spanId,
        ...r.extra,
        msg: 'request',
      }) as Record<string, unknown>
      sink(JSON.stringify({ time: new Date().toISOString(), level: 'info', ...record }))
    },
  }
}

/** CPU microseconds (user + system) per call of `write` over `lines` records. */
function measure(write: Writer, recs: AccessRecord[], lines: number): number {
  const before = process.cpuUsage()
  for (let i = 0; i < lines; i++) write(recs[i & 63] as AccessRecord)
  const used = process.cpuUsage(before)
  return (used.user + used.system) / lines
}

export async function logLineCost(opts: BenchOptions): Promise<Row[]> {
  const recs = records()
  let bytes = 0
  const sink = (line: string) => {
    bytes += line.length
  }
  const all = writers(sink)
  const lines = opts.quick ? 100_000 : 300_000
  // Warm-up: every writer optimised before any is measured.
  for (const w of Object.values(all)) measure(w, recs, 50_000)
  const cost = new Map<string, number[]>()
  const sizes = new Map<string, number>()
  for (let run = 0; run < opts.runs; run++) {
    const order = Object.entries(all)
    for (const [name, w] of run % 2 ? order.reverse() : order) {
      bytes = 0
      const us = measure(w, recs, lines)
      sizes.set(name, Math.round(bytes / lines))
      cost.set(name, [...(cost.get(name) ?? []), us])
    }
    log(
      `run ${run + 1}/${opts.runs}: ${[...cost].map(([n, xs]) => `${n} ${xs.at(-1)?.toFixed(2)} µs`).join(', ')}`,
    )
  }
  const rows: Row[] = []
  for (const [name, xs] of cost) {
    const value = spread(xs)
    rows.push({
      figure: `access-log line, ${name}`,
      baseline: '',
      value,
      unit: 'µs',
      target: name === 'gateway' ? '≤ 10 µs' : '',
      met: name === 'gateway' ? value.median <= 10 : undefined,
      detail: `CPU per line over ${lines.toLocaleString('en')} lines (64 records rotating), ${sizes.get(name)} bytes per line`,
    })
  }
  return rows
}

/** One record's line, for a reader who wants to see it. */
export function sampleLine(): string {
  return accessLine(new Date().toISOString(), '', records()[1] as AccessRecord, PROJECT)
}

if (isMain(import.meta.url)) {
  logLineCost(benchOptions()).then(
    (rows) => {
      log(`sample: ${sampleLine()}`)
      report('log', rows)
      process.exit(0)
    },
    (error) => {
      console.error(error)
      process.exit(1)
    },
  )
}
