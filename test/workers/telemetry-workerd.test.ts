import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { promisify } from 'node:util'
import { Miniflare } from 'miniflare'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type LegacyStandIn, startLegacyStandIn } from '../fakes/legacy-functions.js'
import { type OtlpCollector, startOtlpCollector } from '../fakes/otlp-collector.js'
import { type SentryFake, startSentryFake } from '../fakes/sentry.js'
import { userToken } from '../helpers/tokens.js'
import { COMPATIBILITY_DATE, startWorkerd } from '../helpers/workerd.js'

/**
 * Sentry and OpenTelemetry on Workers, in workerd: the wrangler-built entry exports a proxied
 * request's spans to a collector stand-in (posted under waitUntil) and keeps serving with a
 * DSN set; `@sentry/cloudflare` under the entry's wrapper reports a 500 and not a 400.
 */

const TRACE = '5b8efff798038103d269b633813fc60c'
const CALLER_SPAN = 'eee19b7ec3c1b174'

let legacy: LegacyStandIn
let collector: OtlpCollector
let sentry: SentryFake
let entry: Miniflare
let reporting: Miniflare
let outdir: string
/** What the entry's isolate wrote on stdout. */
const logs: string[] = []

beforeAll(async () => {
  legacy = await startLegacyStandIn()
  collector = await startOtlpCollector()
  sentry = await startSentryFake()
  outdir = await mkdtemp(join(tmpdir(), 'bff-worker-telemetry-'))
  await promisify(execFile)(
    'npx',
    ['wrangler', 'deploy', '--dry-run', '--env', '', '--outdir', outdir],
    { env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: 'true' } },
  )
  entry = new Miniflare({
    handleRuntimeStdio: (stdout: Readable) => {
      stdout.setEncoding('utf8').on('data', (chunk: string) => logs.push(chunk))
    },
    modules: true,
    script: await readFile(join(outdir, 'worker.js'), 'utf8'),
    compatibilityDate: COMPATIBILITY_DATE,
    compatibilityFlags: ['nodejs_compat'],
    bindings: {
      APP_ENV: 'development',
      LEGACY_FUNCTIONS_URL: legacy.functionsUrl,
      SENTRY_DSN: sentry.dsn,
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20collector-secret',
      OTEL_SERVICE_NAME: 'bff-gateway-workers',
    },
  })
  reporting = await startWorkerd('test/workers/telemetry-worker.ts', {
    LEGACY_FUNCTIONS_URL: legacy.functionsUrl,
    SENTRY_DSN: sentry.dsn,
  })
}, 180_000)

afterAll(async () => {
  await entry?.dispose()
  await reporting?.dispose()
  await collector?.close()
  await sentry?.close()
  await legacy?.close()
  await rm(outdir, { recursive: true, force: true })
})

describe('telemetry on Workers', () => {
  it('the entry exports the server, decision and legacy spans of a proxied request', async () => {
    const res = await entry.dispatchFetch(
      'http://gw.test/functions/v1/echo?email=kim@example.com',
      {
        headers: { traceparent: `00-${TRACE}-${CALLER_SPAN}-01` },
      },
    )
    expect(res.status).toBe(200)
    await res.arrayBuffer()
    const sent = legacy.received.at(-1)?.headers.traceparent as string
    const spans = await collector.waitForSpans(TRACE, 3)
    expect(spans.map((s) => s.name).sort()).toEqual(['GET echo', 'decision', 'legacy echo'])
    const server = spans.find((s) => s.name === 'GET echo')
    expect(server).toMatchObject({ service: 'bff-gateway-workers', parentSpanId: CALLER_SPAN })
    expect(spans.find((s) => s.name === 'legacy echo')).toMatchObject({
      parentSpanId: server?.spanId,
      spanId: sent.split('-')[2],
    })
    const starts = spans.map((s) => Number(BigInt(s.startTimeUnixNano) / 1_000_000n))
    expect(starts.every((ms) => Math.abs(ms - Date.now()) < 60_000)).toBe(true)
    expect(JSON.stringify(spans)).not.toContain('kim@example.com')
    expect(collector.requests.at(-1)?.authorization).toBe('Bearer collector-secret')
    expect(logs.join('\n')).toContain(
      `"errorReporting":"sentry ${new URL(sentry.dsn).host}","traces":"otlp ${new URL(collector.url).host}"`,
    )
    expect(logs.join('\n')).not.toContain(sentry.key)
    // Served through the Sentry wrapper (a DSN is set), and a 200 reports nothing.
    expect(sentry.items).toEqual([])
  })

  it('reports a 500 with its request id and trace id, and not a 400', async () => {
    const token = await userToken('workers-user')
    const call = (mode: string) =>
      reporting.dispatchFetch(`http://gw.test/functions/v1/ops-manage?mode=${mode}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          traceparent: `00-${TRACE}-${CALLER_SPAN}-01`,
          'cf-connecting-ip': '203.0.113.77',
        },
        body: 'card 4111-1111-1111-1111',
      })
    expect((await call('bad-request')).status).toBe(400)
    const crash = await call('crash')
    expect(crash.status).toBe(500)
    const requestId = crash.headers.get('x-request-id')
    const [event] = await sentry.waitForEvents(1)
    // Let a wrongly reported 400 arrive too, if it were going to.
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(sentry.events()).toHaveLength(1)
    expect(event).toMatchObject({
      environment: 'workerd-test',
      tags: { request_id: requestId, route: 'ops-manage', trace_id: TRACE },
      contexts: { trace: { trace_id: TRACE } },
      exception: { values: [{ type: 'TypeError', value: 'lookup failed for [email]' }] },
    })
    expect(event).not.toHaveProperty('request')
    const raw = sentry.raw.join('\n')
    for (const personal of ['kim.minsu', '203.0.113.77', '4111-1111', token]) {
      expect(raw).not.toContain(personal)
    }
  })
})
