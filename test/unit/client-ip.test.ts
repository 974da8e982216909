import fc from 'fast-check'
import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { clientAddress } from '../../src/security/client-ip.js'

/** The rule as the documentation states it: split on commas, trim, take the hops-th from the right. */
function byTheBook(header: string, hops: number): string | undefined {
  const entries = header.split(',').map((h) => h.trim())
  const ip = entries[entries.length - hops]
  return ip?.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1') || undefined
}

async function addressOf(header: string, hops: number): Promise<string> {
  const app = new Hono()
  app.get('/', (c) =>
    c.text(
      clientAddress(c, { trustedIpHeader: 'x-forwarded-for', forwardedHops: hops }) ?? '(none)',
    ),
  )
  const response = await app.request('/', { headers: { 'x-forwarded-for': header } })
  return response.text()
}

describe('clientAddress with X-Forwarded-For', () => {
  it('takes the entry the trusted proxies appended, counted from the right', async () => {
    expect(await addressOf('198.51.100.1', 1)).toBe('198.51.100.1')
    expect(await addressOf('6.6.6.6, 198.51.100.1', 1)).toBe('198.51.100.1')
    expect(await addressOf('6.6.6.6, 198.51.100.1 , 10.0.0.1', 2)).toBe('198.51.100.1')
    expect(await addressOf('198.51.100.1', 2)).toBe('(none)')
    expect(await addressOf(',198.51.100.1', 2)).toBe('(none)')
    expect(await addressOf('::ffff:192.0.2.4', 1)).toBe('192.0.2.4')
  })

  it('agrees with splitting the list for any header and hop count', async () => {
    const header = fc.stringMatching(/^[0-9a-f.:, ]{0,40}$/)
    await fc.assert(
      fc.asyncProperty(header, fc.integer({ min: 1, max: 4 }), async (value, hops) => {
        // Header values reach the app trimmed, as an HTTP parser delivers them.
        const sent = value.trim()
        expect(await addressOf(sent, hops)).toBe(byTheBook(sent, hops) ?? '(none)')
      }),
      { numRuns: 300 },
    )
  })
})
