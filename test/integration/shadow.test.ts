import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROUTES } from '../../routes/index.js'
import { compileFlags, FlagsError } from '../../src/rollout/flags.js'
import { flagRulesFor } from '../../src/route-table.js'
import { startTestGateway, type TestGateway } from '../helpers/gateway.js'
import { userToken } from '../helpers/tokens.js'
import { type ExportBackends, startExportBackends } from '../shared/export-backends.js'

const waitFor = async (check: () => boolean, what: string) => {
  for (let i = 0; i < 200; i++) {
    if (check()) return
    await new Promise((r) => setTimeout(r, 10))
  }
  throw new Error(`timed out waiting for ${what}`)
}

describe('shadow traffic on a read-only route', () => {
  let backends: ExportBackends
  let gw: TestGateway
  beforeAll(async () => {
    backends = await startExportBackends()
    gw = await startTestGateway(backends.functionsUrl, {
      native: { 'settlement-export': backends.native },
      flags: { 'settlement-export': { native: 50, shadow: 100 } },
    })
  })
  afterAll(async () => {
    await gw?.close()
    await backends?.close()
  })

  const get = async (user: string, month = '2026-01') =>
    fetch(`${gw.url}/api/v1/settlement/export?month=${month}`, {
      headers: { authorization: `Bearer ${await userToken(user)}` },
    })

  it('sends each request to the other backend too and counts matches', async () => {
    const served: string[] = []
    for (let i = 0; i < 8; i++) {
      const res = await get(`client-${i}`)
      expect(res.status).toBe(200)
      served.push(res.headers.get('x-bff-backend') as string)
      expect(await res.json()).toMatchObject({ month: '2026-01', total: 170000 })
    }
    await waitFor(() => gw.app.shadow.pending === 0, 'the shadow queue')
    // Both backends served someone, and every request reached both.
    expect(new Set(served)).toEqual(new Set(['native', 'legacy']))
    expect(backends.nativeCalls).toBe(8)
    expect(backends.legacyCalls).toBe(8)
    expect(gw.app.shadow.counts().get('settlement-export')).toMatchObject({ match: 8, mismatch: 0 })
    const metrics = await (await fetch(`${gw.url}/metrics`)).text()
    expect(metrics).toContain('bff_shadow_total{route="settlement-export",result="match"} 8')
  })

  it('counts a mismatch and keeps the differing field for the dashboard', async () => {
    backends.diverge('legacy-total')
    try {
      const res = await get('client-mismatch')
      expect(res.status).toBe(200)
      await waitFor(() => gw.app.shadow.pending === 0, 'the shadow queue')
    } finally {
      backends.diverge('none')
    }
    expect(gw.app.shadow.counts().get('settlement-export')?.mismatch).toBe(1)
    const [sample] = gw.app.shadow.samples('settlement-export')
    expect(sample?.differences).toEqual([
      { field: 'body:$.total', native: '170000', legacy: '170001' },
    ])
  })

  it('answers the client before the shadow call to legacy has been answered', async () => {
    // client-0 is served natively (its bucket is fixed); legacy holds every answer.
    const nativeClient = await (async () => {
      for (let i = 0; i < 50; i++) {
        const res = await get(`probe-${i}`)
        await res.arrayBuffer()
        if (res.headers.get('x-bff-backend') === 'native') return `probe-${i}`
      }
      throw new Error('no natively served client')
    })()
    await waitFor(() => gw.app.shadow.pending === 0, 'the shadow queue')
    backends.hold()
    try {
      const legacyBefore = backends.legacyCalls
      const res = await get(nativeClient, '2026-02')
      expect(res.headers.get('x-bff-backend')).toBe('native')
      expect(await res.json()).toMatchObject({ month: '2026-02' })
      // The client has its answer while the shadow call waits on legacy.
      await waitFor(() => backends.legacyCalls > legacyBefore, 'the shadow call to reach legacy')
      expect(gw.app.shadow.pending).toBe(1)
    } finally {
      backends.release()
    }
    await waitFor(() => gw.app.shadow.pending === 0, 'the shadow queue')
  })
})

describe('a shadow percentage on a route that is not read-only', () => {
  const native = {
    'payment-checkout': async () => new Response(),
    'settlement-export': async () => new Response(),
  }
  const rules = flagRulesFor(ROUTES, native)

  it('is refused at load time, naming the route and the field', () => {
    let error: unknown
    try {
      compileFlags(
        { routes: { 'payment-checkout': { native: 10, shadow: 5 } } },
        rules,
        'flags.json',
        'v1',
      )
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(FlagsError)
    expect((error as FlagsError).problems).toEqual([
      'routes.payment-checkout.shadow: must be 0, only read-only routes with a native handler are shadowed',
    ])
    expect(
      compileFlags(
        { routes: { 'settlement-export': { native: 0, shadow: 5 } } },
        rules,
        'f',
        'v1',
      ).routes.get('settlement-export')?.shadow,
    ).toBe(5)
  })
})
