import { mkdir } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { Redis } from 'ioredis'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dbAuditTrail } from '../../src/rollout/audit.js'
import { redisFlagStore } from '../../src/rollout/stores/redis.js'
import { launchChromium } from '../helpers/chromium.js'
import {
  ADMIN_TOKEN,
  auditDatabase,
  REDIS_URL,
  startGateway,
  type TestGateway,
  uniqueKey,
} from '../integration/flags-helper.js'

const ARTIFACTS = new URL('../../test-artifacts/', import.meta.url)
const key = uniqueKey('dashboard')
let database: Awaited<ReturnType<typeof auditDatabase>>
let gw: TestGateway
let server: ReturnType<typeof serve>
let base: string
let browser: Browser

beforeAll(async () => {
  await mkdir(ARTIFACTS, { recursive: true })
  database = await auditDatabase()
  gw = await startGateway({
    store: redisFlagStore({ url: REDIS_URL, key }),
    audit: dbAuditTrail(database.db),
  })
  server = serve({ fetch: gw.app.fetch, port: 0, hostname: '127.0.0.1' })
  await new Promise<void>((resolve) => server.once('listening', () => resolve()))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  browser = await launchChromium()
})

afterAll(async () => {
  await browser?.close()
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))
  await gw?.close()
  await database?.drop()
  const redis = new Redis(REDIS_URL)
  await redis.del(key)
  await redis.quit()
})

describe('ops dashboard in Chromium', () => {
  it('logs in, steps a route with a reason and a confirmation, and shows the new stage and audit entry', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
    const page = await context.newPage()
    const external: string[] = []
    page.on('request', (req) => {
      if (!req.url().startsWith(base)) external.push(req.url())
    })

    await page.goto(`${base}/admin`)
    expect(new URL(page.url()).pathname).toBe('/admin/login')
    await page.fill('input[name=token]', 'wrong-token-wrong-token-wrong')
    await page.click('button[type=submit]')
    await expect.poll(() => page.textContent('.notice')).toContain('not the admin token')

    await page.fill('input[name=token]', ADMIN_TOKEN)
    await page.fill('input[name=name]', 'alice')
    await page.click('button[type=submit]')
    await page.waitForURL(`${base}/admin`)
    const cookie = (await context.cookies()).find((c) => c.name === 'bff_admin_session')
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' })

    const card = page.locator('#route-payment-checkout')
    expect(await card.locator('[data-testid=stage]').textContent()).toBe('0 %')
    await page.screenshot({
      path: new URL('dashboard-before.png', ARTIFACTS).pathname,
      fullPage: true,
    })

    await card.locator('form.step input[name=reason]').fill('first canary for checkout')
    await card.locator('form.step button').click()
    await page.waitForSelector('main.confirm')
    expect(await page.textContent('main.confirm')).toContain('from 0 % to 10 %')
    await page.screenshot({ path: new URL('dashboard-confirm.png', ARTIFACTS).pathname })
    await page.click('main.confirm button[type=submit]')

    await page.waitForSelector('.notice.ok')
    expect(await page.textContent('.notice.ok')).toContain('payment-checkout: 0 % → 10 %')
    expect(await page.locator('#route-payment-checkout [data-testid=stage]').textContent()).toBe(
      '10 %',
    )
    const row = page.locator('.audit tbody tr').first()
    expect(await row.textContent()).toContain('first canary for checkout')
    expect(await row.textContent()).toContain('token:alice')
    expect(await row.textContent()).toContain('dashboard')
    await page.screenshot({
      path: new URL('dashboard-after-step.png', ARTIFACTS).pathname,
      fullPage: true,
    })

    // The change is in the store and the trail, not only on the page.
    expect(gw.flags.current().routes.get('payment-checkout')?.percent).toBe(10)
    const [entry] = await dbAuditTrail(database.db).list({ routeId: 'payment-checkout' })
    expect(entry).toMatchObject({ from: 0, to: 10, source: 'dashboard', actor: 'token:alice' })
    expect(external).toEqual([])
    await context.close()
  })

  it('is usable on a phone-sized screen', async () => {
    const context = await browser.newContext({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
    })
    const page = await context.newPage()
    await page.goto(`${base}/admin/login`)
    await page.fill('input[name=token]', ADMIN_TOKEN)
    await page.click('button[type=submit]')
    await page.waitForURL(`${base}/admin`)
    const width = await page.evaluate(() => document.documentElement.scrollWidth)
    expect(width).toBeLessThanOrEqual(390)
    const kill = page.locator('#route-payment-checkout form.kill button')
    const box = await kill.boundingBox()
    expect(box?.height ?? 0).toBeGreaterThanOrEqual(36)
    await page.screenshot({
      path: new URL('dashboard-phone.png', ARTIFACTS).pathname,
      fullPage: true,
    })
    await context.close()
  })

  it('refuses the dashboard without a session', async () => {
    const context = await browser.newContext()
    const page = await context.newPage()
    const res = await page.goto(`${base}/admin/api/flags`)
    expect(res?.status()).toBe(401)
    await context.close()
  })
})
