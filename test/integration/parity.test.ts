import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadHooks, loadRouteCases, routesWithCases } from '../../scripts/parity/cases.js'
import { formatResults, runParity } from '../../scripts/parity/runner.js'
import { TEST_JWT_SECRET } from '../helpers/tokens.js'
import {
  PARITY_ADMIN_TOKEN,
  PARITY_CANARY_SECRET,
  type ParityHarness,
  startParityHarness,
} from '../parity/harness.js'

/**
 * `npm run parity` for every native route against the legacy stand-in: each route the gateway
 * can serve natively must have case files, and every case must be at parity.
 */
let h: ParityHarness
beforeAll(async () => {
  h = await startParityHarness()
})
afterAll(async () => {
  await h?.close()
})

describe('parity of every native route with its legacy contract', () => {
  it('every native-capable route has case files and a legacy contract', () => {
    const withCases = routesWithCases()
    expect(h.nativeRoutes.length).toBeGreaterThan(0)
    expect(h.nativeRoutes.filter((id) => !withCases.includes(id))).toEqual([])
    expect(h.nativeRoutes.filter((id) => !h.legacy.routes.includes(id))).toEqual([])
  })

  for (const route of routesWithCases()) {
    it(`${route}: every case is at parity`, async () => {
      const files = loadRouteCases(route)
      const before = h.legacy.calls.get(route) ?? 0
      const results = await runParity(files, {
        ...(await h.options()),
        hooks: await loadHooks(route),
      })
      const report = formatResults(results)
      expect(
        results.filter((r) => !r.ok).map((r) => r.name),
        report,
      ).toEqual([])
      // The legacy runs really reached the stand-in (not answered by the gateway alone).
      expect(h.legacy.calls.get(route) ?? 0).toBeGreaterThan(before)
    })
  }
})

describe('npm run parity (the command)', () => {
  const run = (args: string[]) =>
    new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/parity.ts', ...args], {
        env: {
          PATH: process.env.PATH ?? '',
          SUPABASE_JWT_SECRET: TEST_JWT_SECRET,
          BFF_CANARY_SECRET: PARITY_CANARY_SECRET,
          DATABASE_URL: h.db.url ?? '',
          BFF_ADMIN_TOKEN: PARITY_ADMIN_TOKEN,
        },
      })
      let out = ''
      child.stdout.on('data', (d) => {
        out += d
      })
      child.stderr.on('data', (d) => {
        out += d
      })
      child.once('exit', (code) => resolve({ code, out }))
    })

  it('exits 0, prints a table per case, and records the run on the progress view', async () => {
    const { code, out } = await run(['payment-checkout', '--gateway', h.gateway.url, '--report'])
    expect(out).toContain('PASS  payment-checkout › creates an order priced from the catalog')
    expect(out).toContain('12 of 12 cases at parity')
    expect(code).toBe(0)
    const progress = await fetch(`${h.gateway.url}/admin/api/progress`, {
      headers: { authorization: `Bearer ${PARITY_ADMIN_TOKEN}` },
    })
    const checkout = (
      (await progress.json()) as { routes: { id: string; parity: unknown }[] }
    ).routes.find((r) => r.id === 'payment-checkout')
    expect(checkout?.parity).toMatchObject({ passed: 12, failed: 0, actor: 'token' })
  })

  it('exits 1 naming the field and both values when a case differs', async () => {
    // The same success case without its rule for the order id, which differs per order.
    const dir = mkdtempSync(join(tmpdir(), 'parity-cases-'))
    const file = join(dir, 'unmasked.json')
    const original = JSON.parse(readFileSync('test/parity/payment-checkout/checkout.json', 'utf8'))
    writeFileSync(
      file,
      JSON.stringify({
        ...original,
        rules: { mask: ['$.customerKey'] },
        cases: [original.cases[0]],
      }),
    )
    const { code, out } = await run([
      'payment-checkout',
      '--gateway',
      h.gateway.url,
      '--cases',
      file,
    ])
    expect(out).toContain('FAIL  payment-checkout › creates an order priced from the catalog')
    expect(out).toMatch(/body:\$\.orderId\s+\S+\s+\S+\s+DIFF/)
    expect(out).toContain('0 of 1 cases at parity')
    expect(code).toBe(1)
  })

  it('refuses an override without a canary token: the native run is reported, not silently legacy', async () => {
    const child = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const proc = spawn(
        process.execPath,
        ['--import', 'tsx', 'scripts/parity.ts', 'ai-poll-suggest', '--gateway', h.gateway.url],
        { env: { PATH: process.env.PATH ?? '', SUPABASE_JWT_SECRET: TEST_JWT_SECRET } },
      )
      let out = ''
      proc.stdout.on('data', (d) => {
        out += d
      })
      proc.once('exit', (code) => resolve({ code, out }))
    })
    expect(child.out).toContain('canary-token-required')
    expect(child.code).toBe(1)
  })
})
