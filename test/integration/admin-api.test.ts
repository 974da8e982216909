import { afterEach, describe, expect, it } from 'vitest'
import { memoryAuditTrail } from '../../src/rollout/audit.js'
import { memoryFlagStore } from '../../src/rollout/stores/memory.js'
import { serviceToken, userToken } from '../helpers/tokens.js'
import { ADMIN_TOKEN, adminCall, startGateway, type TestGateway } from './flags-helper.js'

const open: TestGateway[] = []
async function gateway() {
  const gw = await startGateway({ store: memoryFlagStore(), audit: memoryAuditTrail() })
  open.push(gw)
  return gw
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((g) => g.close()))
})

// biome-ignore lint/suspicious/noExplicitAny: answers are checked field by field, deep paths included
type Json = Record<string, any>

const json = async (res: Response) => (await res.json()) as Json

describe('admin access', () => {
  it('refuses requests without credentials, with a wrong token, or from a non-ops user', async () => {
    const gw = await gateway()
    const none = await gw.app.request('/admin/api/flags')
    expect(none.status).toBe(401)
    expect(none.headers.get('content-type')).toBe('application/problem+json')
    expect((await adminCall(gw, 'GET', '/flags', undefined, 'not-the-token')).status).toBe(401)
    const user = await adminCall(gw, 'GET', '/flags', undefined, await userToken('fan-1'))
    expect(user.status).toBe(403)
    expect((await json(user)).code).toBe('forbidden-role')
    // user_metadata is the user's own to write: it never grants ops.
    const selfMade = await adminCall(
      gw,
      'GET',
      '/flags',
      undefined,
      await userToken('fan-2', { user_metadata: { role: 'ops' } }),
    )
    expect(selfMade.status).toBe(403)
    expect((await adminCall(gw, 'GET', '/flags', undefined, await serviceToken())).status).toBe(403)
    const change = await gw.app.request('/admin/api/flags/payment-checkout/kill', {
      method: 'POST',
      body: '{}',
    })
    expect(change.status).toBe(401)
  })

  it('accepts an ops JWT and records its subject as the actor', async () => {
    const gw = await gateway()
    const ops = await userToken('ops-user-1', { app_metadata: { role: 'ops' } })
    const res = await adminCall(
      gw,
      'POST',
      '/flags/payment-checkout/kill',
      { reason: 'ops via jwt' },
      ops,
    )
    expect(res.status).toBe(200)
    expect((await json(res)).audit.actor).toBe('jwt:ops-user-1')
  })

  it('keeps the dashboard behind a login and refuses cross-origin posts', async () => {
    const gw = await gateway()
    const page = await gw.app.request('/admin')
    expect(page.status).toBe(303)
    expect(page.headers.get('location')).toBe('/admin/login')
    const forged = await gw.app.request('/admin/login', {
      method: 'POST',
      headers: {
        origin: 'https://evil.example',
        host: 'gw.test',
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: `token=${ADMIN_TOKEN}`,
    })
    expect(forged.status).toBe(403)
    const login = await gw.app.request('/admin/login', {
      method: 'POST',
      headers: {
        origin: 'http://gw.test',
        host: 'gw.test',
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: `token=${ADMIN_TOKEN}&name=alice`,
    })
    expect(login.status).toBe(303)
    const cookie = login.headers.get('set-cookie') ?? ''
    expect(cookie).toMatch(/HttpOnly/)
    expect(cookie).toMatch(/SameSite=Strict/)
    const session = cookie.split(';')[0] as string
    const noCsrf = await gw.app.request('/admin/routes/payment-checkout/kill', {
      method: 'POST',
      headers: {
        origin: 'http://gw.test',
        host: 'gw.test',
        cookie: session,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'reason=no+token&confirm=yes',
    })
    expect(noCsrf.status).toBe(403)
    const dashboard = await gw.app.request('/admin', { headers: { cookie: session } })
    expect(dashboard.status).toBe(200)
    expect(dashboard.headers.get('content-security-policy')).toContain("default-src 'none'")
    const html = await dashboard.text()
    expect(html).toContain('payment-checkout')
    expect(html).not.toMatch(/<script|https?:\/\/(?!gw\.test)[a-z]/i)
    const tampered = session.replace(/.$/, (ch) => (ch === 'A' ? 'B' : 'A'))
    expect((await gw.app.request('/admin', { headers: { cookie: tampered } })).status).toBe(303)
  })
})

describe('admin API', () => {
  it('reads the effective table with its source and version', async () => {
    const gw = await gateway()
    const body = await json(await adminCall(gw, 'GET', '/flags'))
    expect(body).toMatchObject({
      source: 'file:test-flags.json',
      version: 'file-test',
      store: { store: 'memory', reachable: true },
    })
    expect(body.routes.find((r: Json) => r.id === 'payment-checkout')).toMatchObject({
      native: 0,
      group: 'payments',
      hasNative: true,
    })
  })

  it('sets, steps and kills with a reason, and keeps every change on record', async () => {
    const gw = await gateway()
    const set = await adminCall(gw, 'PUT', '/flags/payment-checkout', {
      native: 5,
      reason: 'canary',
      version: 'file-test',
    })
    expect(set.status).toBe(200)
    expect(await json(set)).toMatchObject({ from: 0, to: 5, version: 'v1' })
    // No traffic flows in this test: past 0 % the ramp gate refuses, so the steps are forced.
    const step = await json(
      await adminCall(gw, 'POST', '/flags/payment-checkout/step', {
        reason: 'looks fine',
        version: 'v1',
        force: true,
      }),
    )
    expect(step).toMatchObject({ from: 5, to: 10, version: 'v2', forced: true })
    await adminCall(gw, 'POST', '/flags/payment-checkout/step', {
      reason: 'next',
      version: 'v2',
      force: true,
    })
    await adminCall(gw, 'POST', '/flags/payment-checkout/step', {
      reason: 'full',
      version: 'v3',
      force: true,
    })
    const atEnd = await adminCall(gw, 'POST', '/flags/payment-checkout/step', {
      reason: 'more',
      version: 'v4',
      force: true,
    })
    expect(atEnd.status).toBe(409)
    expect((await json(atEnd)).code).toBe('already-at-last-stage')
    const kill = await json(
      await adminCall(gw, 'POST', '/flags/payment-checkout/kill', { reason: 'incident 42' }),
    )
    expect(kill).toMatchObject({ from: 100, to: 0, version: 'v5' })
    const history = await json(await adminCall(gw, 'GET', '/audit?route=payment-checkout&limit=10'))
    expect(history.entries.map((e: Json) => `${e.from}->${e.to}`)).toEqual([
      '100->0',
      '50->100',
      '10->50',
      '5->10',
      '0->5',
    ])
    expect(history.entries[0]).toMatchObject({
      actor: 'token',
      source: 'api',
      reason: 'incident 42',
      version: 'v5',
    })
  })

  it('refuses a change without a reason, with a stale version, or to a route that cannot go native', async () => {
    const gw = await gateway()
    const noReason = await adminCall(gw, 'PUT', '/flags/payment-checkout', {
      native: 10,
      version: 'file-test',
    })
    expect(noReason.status).toBe(422)
    expect((await json(noReason)).errors[0].field).toBe('reason')
    const stale = await adminCall(gw, 'PUT', '/flags/payment-checkout', {
      native: 10,
      reason: 'old view',
      version: 'v7',
    })
    expect(stale.status).toBe(409)
    expect(await json(stale)).toMatchObject({
      code: 'version-conflict',
      currentVersion: 'file-test',
    })
    const stay = await adminCall(gw, 'PUT', '/flags/payment-confirm', {
      native: 10,
      reason: 'nope',
      version: 'file-test',
    })
    expect(stay.status).toBe(422)
    const noHandler = await adminCall(gw, 'PUT', '/flags/payout-calculate', {
      native: 10,
      reason: 'nope',
      version: 'file-test',
    })
    expect(noHandler.status).toBe(422)
    expect((await json(noHandler)).errors[0].field).toBe('routes.payout-calculate.native')
    const odd = await adminCall(gw, 'PUT', '/flags/payment-checkout', {
      native: 10.001,
      reason: 'fine grain',
      version: 'file-test',
    })
    expect(odd.status).toBe(422)
    expect(
      (
        await adminCall(gw, 'PUT', '/flags/no-such-route', {
          native: 1,
          reason: 'x',
          version: 'file-test',
        })
      ).status,
    ).toBe(404)
    expect((await json(await adminCall(gw, 'GET', '/audit'))).entries).toEqual([])
  })

  it('explains a decision: bucket, percentage, breaker, hold', async () => {
    const gw = await gateway()
    await adminCall(gw, 'PUT', '/flags/payment-checkout', {
      native: 50,
      reason: 'half',
      version: 'file-test',
    })
    const why = await json(
      await adminCall(gw, 'GET', '/explain?route=payment-checkout&subject=user-123'),
    )
    expect(why).toMatchObject({
      route: 'payment-checkout',
      scope: 'payments',
      percent: 50,
      threshold: 5000,
      breaker: 'closed',
      hold: null,
    })
    expect(why.backend).toBe(why.bucket <= 5000 ? 'native' : 'legacy')
    // The gateway decides the same way for that subject.
    const token = await userToken('user-123')
    const served = await gw.app.request('/functions/v1/payment-checkout', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{}',
    })
    expect(served.headers.get('x-bff-backend')).toBe(why.backend)
    const byClient = await json(
      await adminCall(gw, 'GET', '/explain?route=payment-webhook&clientId=abc'),
    )
    expect(byClient).toMatchObject({ subject: 'client:abc', subjectSource: 'client-id' })
    expect((await adminCall(gw, 'GET', '/explain?route=payment-checkout')).status).toBe(422)
  })
})
