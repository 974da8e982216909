import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createClient } from '@supabase/supabase-js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { type LegacyStandIn, startLegacyStandIn } from '../fakes/legacy-functions.js'
import { failedStart, type GatewayProcess, spawnGateway } from '../helpers/process.js'

let legacy: LegacyStandIn

/** supabase-js as a client app builds it; Node 20 has no global WebSocket for its realtime part. */
const supabaseAt = (url: string) =>
  createClient(url, 'anon-key-for-tests', { realtime: { transport: WebSocket as never } })
let gateway: GatewayProcess
let dir: string

beforeAll(async () => {
  legacy = await startLegacyStandIn()
  dir = await mkdtemp(join(tmpdir(), 'bff-e2e-'))
  gateway = await spawnGateway({ LEGACY_FUNCTIONS_URL: legacy.functionsUrl })
})

afterAll(async () => {
  await gateway?.stop('SIGKILL')
  await legacy?.close()
  await rm(dir, { recursive: true, force: true })
})

describe('the built server process', () => {
  it('serves a legacy function to supabase-js functions.invoke pointed at the gateway', async () => {
    const supabase = supabaseAt(gateway.url)
    const { data, error } = await supabase.functions.invoke('hello-world', {
      body: { name: '민수' },
    })
    expect(error).toBeNull()
    const echoed = data as {
      method: string
      url: string
      headers: Record<string, string>
      bodyBase64: string
    }
    expect(echoed.method).toBe('POST')
    expect(echoed.url).toBe('/functions/v1/hello-world')
    expect(JSON.parse(Buffer.from(echoed.bodyBase64, 'base64').toString())).toEqual({
      name: '민수',
    })
    expect(echoed.headers.apikey).toBe('anon-key-for-tests')
    expect(echoed.headers['x-client-info']).toMatch(/^supabase-js/)
    expect(echoed.headers.authorization).toBe('Bearer anon-key-for-tests')
  })

  it('surfaces a legacy error to supabase-js as a function error, not a relay error', async () => {
    const supabase = supabaseAt(gateway.url)
    const { error } = await supabase.functions.invoke('error')
    expect(error?.name).toBe('FunctionsHttpError')
  })

  it('writes one JSON access-log line per request with the routing fields', async () => {
    await fetch(`${gateway.url}/functions/v1/echo`, {
      headers: { 'x-request-id': 'e2e-log-line-1' },
    })
    await new Promise((r) => setTimeout(r, 100))
    const line = gateway.stdout
      .map((l) => JSON.parse(l))
      .find((l) => l.requestId === 'e2e-log-line-1')
    expect(line).toMatchObject({
      severity: 'INFO',
      message: 'request',
      route: 'echo',
      backend: 'legacy',
      httpRequest: { requestMethod: 'GET', requestUrl: '/functions/v1/echo', status: 200 },
    })
    expect(line.httpRequest.latency).toMatch(/^\d+\.\d{3,4}s$/)
    expect(line['logging.googleapis.com/spanId']).toMatch(/^[0-9a-f]{16}$/)
    expect(typeof line.latencyMs).toBe('number')
    expect(typeof line.upstreamMs).toBe('number')
  })

  it('exposes per-route metrics in Prometheus text', async () => {
    const text = await (await fetch(`${gateway.url}/metrics`)).text()
    expect(text).toContain('# TYPE bff_requests_total counter')
    expect(text).toMatch(/bff_requests_total\{route="_unknown",backend="legacy",status="2xx"\} \d+/)
    expect(text).toContain('# TYPE bff_request_duration_seconds histogram')
  })

  it('drains in-flight requests on SIGTERM, then exits 0', async () => {
    const local = await spawnGateway({ LEGACY_FUNCTIONS_URL: legacy.functionsUrl })
    const inFlight = fetch(`${local.url}/functions/v1/slow?ms=700`)
    await new Promise((r) => setTimeout(r, 200))
    const code = local.stop('SIGTERM')
    const res = await inFlight
    expect(res.status).toBe(200)
    expect(await res.text()).toBe('late')
    expect(await code).toBe(0)
    await expect(fetch(`${local.url}/health`)).rejects.toThrow()
  })

  it('keeps draining through a second SIGTERM (the default action would kill it mid-request)', async () => {
    const local = await spawnGateway({ LEGACY_FUNCTIONS_URL: legacy.functionsUrl })
    const inFlight = fetch(`${local.url}/functions/v1/slow?ms=700`)
    await new Promise((r) => setTimeout(r, 200))
    const exited = new Promise<[number | null, string | null]>((resolve) =>
      local.child.once('exit', (code, signal) => resolve([code, signal])),
    )
    local.child.kill('SIGTERM')
    await new Promise((r) => setTimeout(r, 100))
    local.child.kill('SIGTERM')
    const res = await inFlight
    expect(res.status).toBe(200)
    expect(await res.text()).toBe('late')
    expect(await exited).toEqual([0, null])
  })
})

describe('start-up refuses bad configuration with one clear line', () => {
  it('names a bad variable', async () => {
    const { code, stderr } = await failedStart({ PORT: 'eighty' })
    expect(code).toBe(1)
    expect(stderr.trim()).toBe(
      'config error: PORT must be an integer from 1 to 65535 (got "eighty")',
    )
  })

  it('names the route and field of a bad flags file', async () => {
    const file = join(dir, 'flags.json')
    await writeFile(file, JSON.stringify({ routes: { 'payment-confirm': { native: 5 } } }))
    const { code, stderr } = await failedStart({ FLAGS_FILE: file })
    expect(code).toBe(1)
    expect(stderr.trim()).toBe(
      `flags error: file:${file}: routes.payment-confirm.native: must be 0, the route has no native handler`,
    )
  })

  it('refuses embedded PGlite in production', async () => {
    const { code, stderr } = await failedStart({
      APP_ENV: 'production',
      SUPABASE_URL: 'https://project.supabase.co',
      SUPABASE_JWT_SECRET: 'production-like-jwt-secret-0123456789abcdef',
      BFF_CANARY_SECRET: 'production-like-canary-secret-0123456789',
      REDIS_URL: 'redis://127.0.0.1:6379',
      ALLOWED_ORIGINS: 'https://app.example.com',
    })
    expect(code).toBe(1)
    expect(stderr.trim()).toBe(
      'config error: DATABASE_URL must be set (or SUPABASE_URL with SUPABASE_SERVICE_ROLE_KEY) in production: embedded PGlite keeps data per instance',
    )
  })

  it('says when the flags file is missing', async () => {
    const { code, stderr } = await failedStart({ FLAGS_FILE: join(dir, 'nope.json') })
    expect(code).toBe(1)
    expect(stderr.trim()).toMatch(
      /^config error: FLAGS_FILE .*nope\.json cannot be read \(ENOENT\)$/,
    )
  })
})
