import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { docsScriptFromDisk } from '../../src/entries/docs-script-node.js'
import { launchChromium } from '../helpers/chromium.js'
import { startTestGateway, type TestGateway } from '../helpers/gateway.js'

// /docs in a real browser: the reference renders the generated document with its script from
// the gateway itself, under the page's CSP (no 'unsafe-eval', no inline script without the nonce).

let gw: TestGateway
let browser: Browser

beforeAll(async () => {
  // Nothing is proxied here; the legacy URL is never called.
  gw = await startTestGateway('http://127.0.0.1:9/functions/v1', {
    extra: { docsScript: docsScriptFromDisk() },
  })
  browser = await launchChromium()
})

afterAll(async () => {
  await browser?.close()
  await gw?.close()
})

describe('/docs in Chromium', () => {
  it('renders the API reference from /openapi.json, same-origin only, without CSP violations', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    const external: string[] = []
    const violations: string[] = []
    const pageErrors: string[] = []
    page.on('request', (req) => {
      if (!req.url().startsWith(gw.url) && !req.url().startsWith('data:')) external.push(req.url())
    })
    page.on('console', (msg) => {
      if (/content security policy/i.test(msg.text())) violations.push(msg.text())
    })
    page.on('pageerror', (error) => pageErrors.push(error.message))

    const response = await page.goto(`${gw.url}/docs`)
    const csp = response?.headers()['content-security-policy'] ?? ''
    expect(csp).toContain("script-src 'self' 'nonce-")
    expect(csp).not.toContain('unsafe-eval')
    expect(csp.split('; ').find((d) => d.startsWith('script-src'))).not.toContain('unsafe-inline')

    // The document's title and a native route's operation, rendered by the reference.
    await page.getByText('BFF gateway', { exact: false }).first().waitFor({ timeout: 30_000 })
    await page
      .getByText('Create an order priced from the catalog', { exact: false })
      .first()
      .waitFor({ timeout: 30_000 })
    const text = (await page.locator('body').textContent()) ?? ''
    expect(text).toContain('payment-checkout')

    expect(external).toEqual([])
    expect(violations).toEqual([])
    expect(pageErrors).toEqual([])
    await page.close()
  }, 90_000)

  it('serves the reference script itself, cacheable', async () => {
    const res = await fetch(`${gw.url}/docs/scalar.js`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('javascript')
    expect(res.headers.get('cache-control')).toContain('max-age')
    expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(100_000)
  })
})
