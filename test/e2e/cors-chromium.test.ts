import { mkdirSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cors, strictOrigin } from '../../src/middleware/cors.js'
import { launchChromium } from '../helpers/chromium.js'
import { routeMatch, securityApp } from '../integration/security-app.js'

/**
 * CORS is enforced by browsers, so only a browser can show it works: two pages on loopback
 * origins (one allowed, one not) call a gateway with `Authorization` and `apikey`, which forces
 * a preflight, exactly as supabase-js does.
 */

const ARTIFACTS = 'test-artifacts'

type Listening = { url: string; close: () => Promise<void> }

async function originServer(host: string): Promise<Listening> {
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
    res.end('<!doctype html><title>origin</title><body><pre id="out">ready</pre></body>')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://${host}:${port}`,
    close: () => {
      server.closeAllConnections()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}

let allowedPage: Listening
let blockedPage: Listening
let gateway: Listening
let browser: Browser
const seen = { preflights: 0, checkouts: 0 }

beforeAll(async () => {
  allowedPage = await originServer('127.0.0.1')
  blockedPage = await originServer('localhost')
  const allowedOrigins = [allowedPage.url]
  const app = securityApp((a) => {
    a.use(async (c, next) => {
      if (c.req.method === 'OPTIONS') seen.preflights++
      await next()
      c.header('x-request-id', 'req-e2e')
    })
    a.use(cors({ allowedOrigins }))
    a.use(strictOrigin({ allowedOrigins }))
    a.post('/api/v1/checkout', (c) => {
      seen.checkouts++
      return c.json({ orderId: 'ORD-1', amount: 39000 })
    })
  }, routeMatch('payment-checkout'))
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' })
  await new Promise<void>((resolve) => server.once('listening', () => resolve()))
  gateway = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
  browser = await launchChromium()
  mkdirSync(ARTIFACTS, { recursive: true })
})

afterAll(async () => {
  await browser?.close()
  await Promise.all([allowedPage, blockedPage, gateway].map((s) => s?.close()))
})

/** Runs supabase-js-like calls in the page and shows the outcome in it for the screenshot. */
async function callFromPage(pageUrl: string, shot: string) {
  const page = await browser.newPage()
  try {
    await page.goto(pageUrl, { timeout: 15_000 })
    const result = await page.evaluate(async (target) => {
      const out: Record<string, unknown> = {}
      try {
        const res = await fetch(`${target}/api/v1/checkout`, {
          method: 'POST',
          headers: {
            authorization: 'Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig',
            apikey: 'sb_publishable_test',
            'x-client-info': 'supabase-js-web/2.109.0',
            'content-type': 'application/json',
          },
          body: JSON.stringify({ items: [{ productId: 'p1', quantity: 1 }] }),
        })
        out.cors = {
          status: res.status,
          requestId: res.headers.get('x-request-id'),
          body: await res.json(),
        }
      } catch (error) {
        out.cors = { blocked: String(error) }
      }
      // A "simple" request needs no preflight: the browser sends it and only hides the answer.
      try {
        await fetch(`${target}/api/v1/checkout`, {
          method: 'POST',
          mode: 'no-cors',
          headers: { 'content-type': 'text/plain' },
          body: '{}',
        })
        out.simple = 'sent'
      } catch (error) {
        out.simple = String(error)
      }
      const shown = document.getElementById('out')
      if (shown) shown.textContent = JSON.stringify(out, null, 2)
      return out
    }, gateway.url)
    await page.screenshot({ path: `${ARTIFACTS}/${shot}.png` })
    return result as {
      cors: { status?: number; requestId?: string | null; body?: unknown; blocked?: string }
      simple: string
    }
  } finally {
    await page.close()
  }
}

describe('CORS in headless Chromium', () => {
  it('an allowed origin passes the preflight and reads the answer and exposed headers', async () => {
    const before = { ...seen }
    const result = await callFromPage(allowedPage.url, 'cors-allowed-origin')
    expect(result.cors).toEqual({
      status: 200,
      requestId: 'req-e2e',
      body: { orderId: 'ORD-1', amount: 39000 },
    })
    expect(seen.preflights - before.preflights).toBe(1)
    // The CORS call and the simple one both reach checkout from an allowed origin.
    expect(seen.checkouts - before.checkouts).toBe(2)
  })

  it('a disallowed origin is blocked by the browser, and strictOrigin stops the simple POST', async () => {
    const before = { ...seen }
    const result = await callFromPage(blockedPage.url, 'cors-disallowed-origin')
    expect(result.cors.blocked).toMatch(/TypeError|Failed to fetch/)
    expect(result.simple).toBe('sent')
    expect(seen.preflights - before.preflights).toBe(1)
    expect(seen.checkouts - before.checkouts).toBe(0)
  })
})
