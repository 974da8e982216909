import { mkdir } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dbAuditTrail } from '../../src/rollout/audit.js'
import { redisFlagStore } from '../../src/rollout/stores/redis.js'
import { redisFleetStore } from '../../src/rollout/stores/redis-fleet.js'
import { launchChromium } from '../helpers/chromium.js'
import {
  ADMIN_TOKEN,
  auditDatabase,
  REDIS_URL,
  startGateway,
  type TestGateway,
  uniqueKey,
} from '../integration/flags-helper.js'

/**
 * The ramp gate and the progress view in Chromium: two instances share the real Redis; traffic
 * goes through both; the dashboard of one shows the fleet's figures, refuses a step, lets ops
 * force it with a reason, and draws the progress page with inline SVG charts.
 */

const ARTIFACTS = new URL('../../test-artifacts/', import.meta.url)
const flagKey = uniqueKey('migration-dashboard')
const fleetPrefix = uniqueKey('migration-fleet')
let database: Awaited<ReturnType<typeof auditDatabase>>
let a: TestGateway
let b: TestGateway
let server: ReturnType<typeof serve>
let base: string
let browser: Browser

const instance = () =>
  startGateway({
    store: redisFlagStore({ url: REDIS_URL, key: flagKey }),
    audit: dbAuditTrail(database.db),
    fleetStore: redisFleetStore({ url: REDIS_URL, prefix: fleetPrefix }),
    routes: {
      'payment-checkout': { native: 0, group: 'payments' },
      'payment-webhook': { native: 10, group: 'payments', rollback: { enabled: false } },
      'refund-process': { native: 0, group: 'payments' },
      'ai-reply-suggest': { native: 0 },
    },
  })

beforeAll(async () => {
  await mkdir(ARTIFACTS, { recursive: true })
  database = await auditDatabase()
  a = await instance()
  b = await instance()
  server = serve({ fetch: a.app.fetch, port: 0, hostname: '127.0.0.1' })
  await new Promise<void>((resolve) => server.once('listening', () => resolve()))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  browser = await launchChromium()
})

afterAll(async () => {
  await browser?.close()
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))
  await a?.close()
  await b?.close()
  await Promise.all([a?.fleet.store.close(), b?.fleet.store.close()])
  await database?.drop()
})

const deliver = async (gw: TestGateway, backend: 'native' | 'legacy', n: number) => {
  for (let i = 0; i < n; i++) {
    const res = await gw.app.request('/functions/v1/payment-webhook', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-bff-backend': backend },
      body: JSON.stringify({ orderId: `order-${backend}-${i}` }),
    })
    await res.arrayBuffer()
  }
}

describe('migration safety on the dashboard in Chromium', () => {
  it('shows the gate refusing a step on fleet figures, forces it with a reason, and draws progress', async () => {
    // Both instances: 4 native attempts each fail (under each breaker's threshold), legacy is clean.
    for (const gw of [a, b]) {
      gw.control.failing = true
      await deliver(gw, 'native', 4)
      gw.control.failing = false
      await deliver(gw, 'native', 26)
      await deliver(gw, 'legacy', 30)
    }
    await Promise.all([a.fleet.flush(), b.fleet.flush()])

    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
    const page = await context.newPage()
    const external: string[] = []
    page.on('request', (req) => {
      if (!req.url().startsWith(base)) external.push(req.url())
    })
    await page.goto(`${base}/admin/login`)
    await page.fill('input[name=token]', ADMIN_TOKEN)
    await page.fill('input[name=name]', 'bob')
    await page.click('button[type=submit]')
    await page.waitForURL(`${base}/admin`)

    const card = page.locator('#route-payment-webhook')
    await card.locator('form.step input[name=reason]').fill('webhook to half')
    await card.locator('form.step button').click()
    await page.waitForSelector('main.confirm')
    const gate = page.locator('[data-testid=gate]')
    // The figures are the fleet's: 60 native attempts from two instances.
    expect(await gate.textContent()).toContain('native 60 req, 13.33 % errors')
    expect(await gate.textContent()).toContain('legacy 60 req, 0.00 % errors')
    expect(await gate.textContent()).toContain(
      "native error rate 13.33 % (8 of 60) is worse than legacy's 0.00 %: the limit is 5.00 %",
    )
    await page.screenshot({ path: new URL('migration-gate-refused.png', ARTIFACTS).pathname })

    // Without ticking "force" the browser does not submit; with it, the step goes through.
    await page.click('main.confirm button[type=submit]')
    expect(new URL(page.url()).pathname).toBe('/admin/routes/payment-webhook/step')
    expect(a.flags.current().routes.get('payment-webhook')?.percent).toBe(10)
    await page.fill(
      'main.confirm input[name=reason]',
      'INC-9: the failures were a bad deploy, fixed',
    )
    await page.check('main.confirm input[name=force]')
    await page.click('main.confirm button[type=submit]')
    await page.waitForSelector('.notice.ok')
    expect(await page.textContent('.notice.ok')).toContain(
      'payment-webhook: 10 % → 50 % (version v1, audit #1), forced past the ramp gate',
    )
    const [entry] = await dbAuditTrail(database.db).list({ routeId: 'payment-webhook' })
    expect(entry).toMatchObject({ from: 10, to: 50, source: 'dashboard', actor: 'token:bob' })
    expect(entry?.reason).toBe(
      'FORCED past the ramp gate (error-rate 13.33 %>5.00 %): INC-9: the failures were a bad deploy, fixed',
    )

    await page.click('a[href="/admin/progress"]')
    await page.waitForSelector('[data-testid=summary]')
    expect(await page.textContent('[data-testid=summary]')).toContain('1 ramping')
    const webhook = page.locator('#progress-payment-webhook')
    expect(await webhook.locator('[data-testid=state]').textContent()).toBe('ramping')
    expect(await webhook.locator('[data-testid=share-24h] small').textContent()).toBe(
      '24 h: 120 req · native 43.3 % · legacy 50.0 % · fallback 6.7 %',
    )
    expect(await webhook.locator('[data-testid=last-change]').textContent()).toContain(
      '10 % → 50 % by token:bob',
    )
    expect(await webhook.locator('[data-testid=removable]').textContent()).toBe(
      'Not removable: at 50 %, not 100 %',
    )
    // Inline SVG: both series drawn, nothing fetched from elsewhere.
    const chart = webhook.locator('[data-testid=chart-errors-payment-webhook] svg')
    expect(await chart.locator('polyline.native-line').count()).toBeGreaterThan(0)
    expect(await chart.locator('polyline.legacy-line').count()).toBeGreaterThan(0)
    const box = await chart.boundingBox()
    expect(box?.width).toBeGreaterThan(100)
    await page.screenshot({
      path: new URL('migration-progress.png', ARTIFACTS).pathname,
      fullPage: true,
    })
    expect(external).toEqual([])
    await context.close()
  })
})
