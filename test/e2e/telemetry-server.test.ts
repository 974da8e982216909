import { readFile } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type LegacyStandIn, startLegacyStandIn } from '../fakes/legacy-functions.js'
import { type OtlpCollector, startOtlpCollector } from '../fakes/otlp-collector.js'
import { type SentryFake, startSentryFake } from '../fakes/sentry.js'
import { buildOnce, type GatewayProcess, spawnGateway } from '../helpers/process.js'

/**
 * The built server (`node dist/node.js`) with Sentry and OpenTelemetry configured: the SDKs,
 * kept out of the bundle, load from node_modules at start; the start-up line names where
 * reports and traces go without the DSN's key; a proxied request's spans reach the collector.
 */

const TRACE = '0af7651916cd43dd8448eb211c80319c'

let legacy: LegacyStandIn
let collector: OtlpCollector
let sentry: SentryFake
let gateway: GatewayProcess

beforeAll(async () => {
  legacy = await startLegacyStandIn()
  collector = await startOtlpCollector()
  sentry = await startSentryFake()
  gateway = await spawnGateway({
    LEGACY_FUNCTIONS_URL: legacy.functionsUrl,
    SENTRY_DSN: sentry.dsn,
    OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
    OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20collector-secret',
    OTEL_SERVICE_NAME: 'bff-gateway-e2e',
  })
})

afterAll(async () => {
  await gateway?.stop('SIGKILL')
  await collector?.close()
  await sentry?.close()
  await legacy?.close()
})

describe('telemetry in the built server', () => {
  it('keeps the Sentry and OpenTelemetry SDKs out of the bundle', async () => {
    await buildOnce()
    const bundle = await readFile('dist/node.js', 'utf8')
    expect(bundle).toContain('import("@sentry/node")')
    expect(bundle).not.toContain('sentry.javascript.node')
    expect(bundle).not.toContain('node_modules/@opentelemetry/sdk-trace/')
  })

  it('says at start where reports and traces go, never the key', () => {
    const listening = gateway.stdout
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((line) => line.message === 'listening')
    const sentryHost = new URL(sentry.dsn).host
    expect(listening).toMatchObject({
      errorReporting: `sentry ${sentryHost}`,
      traces: `otlp ${new URL(collector.url).host}`,
    })
    const output = [...gateway.stdout, ...gateway.stderr].join('\n')
    expect(output).not.toContain(sentry.key)
    expect(output).not.toContain('collector-secret')
  })

  it('exports the spans of a proxied request to the collector', async () => {
    const res = await fetch(`${gateway.url}/functions/v1/echo`, {
      headers: { traceparent: `00-${TRACE}-b7ad6b7169203331-01` },
    })
    expect(res.status).toBe(200)
    const spans = await collector.waitForSpans(TRACE, 3)
    expect(spans.map((s) => s.name).sort()).toEqual(['GET echo', 'decision', 'legacy echo'])
    expect(spans.every((s) => s.service === 'bff-gateway-e2e')).toBe(true)
    expect(collector.requests.at(-1)?.authorization).toBe('Bearer collector-secret')
  })
})
