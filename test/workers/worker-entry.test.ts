import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Miniflare } from 'miniflare'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type LegacyStandIn, startLegacyStandIn } from '../fakes/legacy-functions.js'
import { COMPATIBILITY_DATE } from '../helpers/workerd.js'

/** The deployable itself: wrangler bundles src/entries/worker.ts from wrangler.toml, workerd runs it. */
let legacy: LegacyStandIn
let mf: Miniflare
let outdir: string
const ADMIN_TOKEN = 'worker-admin-token-0123456789abcdef'

beforeAll(async () => {
  legacy = await startLegacyStandIn()
  outdir = await mkdtemp(join(tmpdir(), 'bff-worker-'))
  await promisify(execFile)(
    'npx',
    ['wrangler', 'deploy', '--dry-run', '--env', '', '--outdir', outdir],
    {
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: 'true' },
    },
  )
  mf = new Miniflare({
    modules: true,
    script: await readFile(join(outdir, 'worker.js'), 'utf8'),
    compatibilityDate: COMPATIBILITY_DATE,
    compatibilityFlags: ['nodejs_compat'],
    bindings: {
      APP_ENV: 'development',
      LEGACY_FUNCTIONS_URL: legacy.functionsUrl,
      BFF_ADMIN_TOKEN: ADMIN_TOKEN,
    },
  })
}, 180_000)

afterAll(async () => {
  await mf?.dispose()
  await legacy?.close()
  await rm(outdir, { recursive: true, force: true })
})

describe('the wrangler-built worker in workerd', () => {
  it('serves /health', async () => {
    const res = await mf.dispatchFetch('http://gw.test/health')
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ status: 'ok' })
  })

  it('proxies a function to LEGACY_FUNCTIONS_URL with the gateway headers', async () => {
    const res = await mf.dispatchFetch('http://gw.test/functions/v1/cookies', {
      headers: { apikey: 'k' },
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('x-bff-backend')).toBe('legacy')
    expect(res.headers.get('x-request-id')).toBeTruthy()
    expect(res.headers.getSetCookie()).toHaveLength(3)
    expect(legacy.received.at(-1)?.headers.apikey).toBe('k')
  })

  it('serves /openapi.json from the zod schemas, and /docs with its script from the static assets', async () => {
    const res = await mf.dispatchFetch('http://gw.test/openapi.json')
    expect(res.status).toBe(200)
    const doc = (await res.json()) as {
      paths: Record<string, Record<string, { requestBody?: unknown; responses: object }>>
      components: { examples: Record<string, unknown> }
    }
    expect(doc.paths['/api/v1/checkout']?.post?.requestBody).toBeDefined()
    expect(doc.components.examples['validation-failed']).toBeDefined()
    const page = await mf.dispatchFetch('http://gw.test/docs')
    expect(page.status).toBe(200)
    expect(page.headers.get('content-security-policy')).toMatch(/script-src 'self' 'nonce-/)
    // On Workers the script is a static asset (wrangler.toml [assets]), served before the Worker.
    expect(await page.text()).toContain('<script src="/docs/scalar.js"')
  })

  it('serves the admin API with the live flag table, and refuses it without the token', async () => {
    const refused = await mf.dispatchFetch('http://gw.test/admin/api/flags')
    expect(refused.status).toBe(401)
    const res = await mf.dispatchFetch('http://gw.test/admin/api/flags', {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    })
    expect(res.status).toBe(200)
    const table = (await res.json()) as { routes: { id: string }[] }
    expect(table.routes.map((r) => r.id)).toContain('payment-checkout')
  })

  it('answers a clear problem when the upstream is unreachable', async () => {
    const down = new Miniflare({
      modules: true,
      script: await readFile(join(outdir, 'worker.js'), 'utf8'),
      compatibilityDate: COMPATIBILITY_DATE,
      compatibilityFlags: ['nodejs_compat'],
      bindings: { APP_ENV: 'development', LEGACY_FUNCTIONS_URL: 'http://127.0.0.1:9/functions/v1' },
    })
    try {
      const res = await down.dispatchFetch('http://gw.test/functions/v1/x')
      expect(res.status).toBe(502)
      expect(await res.json()).toMatchObject({ code: 'upstream-unavailable' })
    } finally {
      await down.dispose()
    }
  })
})
