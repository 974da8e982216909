import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROUTES } from '../../routes/index.js'
import { DependencyUnavailableError, GatewayError } from '../../src/errors.js'
import type { NativeHandler } from '../../src/types.js'
import { type LegacyStandIn, startLegacyStandIn } from '../fakes/legacy-functions.js'
import { startTestGateway, type TestGateway } from '../helpers/gateway.js'
import { userToken } from '../helpers/tokens.js'

/**
 * Personal data and secrets driven through native, legacy and error paths must never appear in
 * a log line: every line goes through one masking function (src/observability/pii.ts).
 */
const SECRETS = {
  email: 'kim.minsu@example.co.kr',
  phone: '010-2345-6789',
  rrn: '900101-1234568',
  rrnSpaced: '850315 2876541',
  card: '4111 1111 1111 1111',
  account: '110-123-456789',
  password: 'hunter2-correct-horse',
  apiKey: 'sk_live_9f8e7d6c5b4a3210',
  tossKey: 'test_sk_zXLkKEypNArWmo50nX3lmeaxYG5R',
  // Identity verification (PortOne verifiedCustomer): CI is 88 base64 characters, DI 64.
  ci: 'Xb3Kq9Zr/T1mN0pLw+8vYc2dEfGhIjKlMnOpQrStUvWxYz0123456789AbCdEfGhIjKlMnOpQrStUvWxYz012345==',
  di: 'MC0GCCqGSIb3DQIJAyEAq7Xv9Lm2Np4Qr8St0Uv1Wx2Yz3Ab4Cd5Ef6Gh7Ij8Kl9M',
  name: '홍길동',
  birthDate: '1990-01-15',
  identityPhone: '01012345678',
}

const leaky: NativeHandler = async (c) => {
  const mode = new URL(c.req.url).searchParams.get('mode')
  const body = await c.req.json().catch(() => ({}))
  // What careless handler code does: put the request into log fields and error messages.
  c.set('logFields', {
    ...c.get('logFields'),
    body,
    note: `customer ${SECRETS.email} ${SECRETS.phone}`,
    identityNote: `ci=${SECRETS.ci} di ${SECRETS.di}`,
  })
  if (mode === 'crash')
    throw new Error(
      `failed for ${SECRETS.email} card ${SECRETS.card} rrn ${SECRETS.rrn} or ${SECRETS.rrnSpaced}`,
    )
  if (mode === 'identity') throw new Error(`duplicate CI ${SECRETS.ci} (DI ${SECRETS.di})`)
  if (mode === 'dependency')
    throw new DependencyUnavailableError(`db at postgres://app:${SECRETS.password}@db:5432`)
  if (mode === 'invalid') {
    throw new GatewayError({
      status: 422,
      code: 'validation-failed',
      title: 'Bad',
      detail: `account ${SECRETS.account} is not valid`,
    })
  }
  return c.json({ ok: true })
}

let legacy: LegacyStandIn
let gateway: TestGateway
const logs: Record<string, unknown>[] = []
let token: string

beforeAll(async () => {
  legacy = await startLegacyStandIn()
  gateway = await startTestGateway(legacy.functionsUrl, {
    native: { 'ops-manage': leaky },
    flags: { 'ops-manage': { native: 100 } },
    logs,
    // Declared `before-effect` here so the dependency failure takes the fallback path too.
    extra: {
      routes: ROUTES.map((r) =>
        r.id === 'ops-manage' ? { ...r, policy: { ...r.policy, replay: 'before-effect' } } : r,
      ),
    },
  })
  token = await userToken('log-scan-user')
})

afterAll(async () => {
  await gateway.close()
  await legacy.close()
})

const personalBody = JSON.stringify({
  email: SECRETS.email,
  phone: SECRETS.phone,
  residentNumber: SECRETS.rrn,
  cardNumber: SECRETS.card,
  refundAccount: { accountNumber: SECRETS.account },
  password: SECRETS.password,
  apiKey: SECRETS.apiKey,
  note: `call me on ${SECRETS.phone} or write to ${SECRETS.email}; 주민번호 ${SECRETS.rrnSpaced}`,
  verifiedCustomer: {
    name: SECRETS.name,
    birthDate: SECRETS.birthDate,
    phoneNumber: SECRETS.identityPhone,
    ci: SECRETS.ci,
    di: SECRETS.di,
  },
  ci: SECRETS.ci,
  birthDate: SECRETS.birthDate,
})

describe('no personal data or secret reaches a log line', () => {
  it('across native, fallback, legacy and error paths', async () => {
    const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
    const calls: [string, RequestInit][] = [
      ['/functions/v1/ops-manage', { method: 'POST', headers: auth, body: personalBody }],
      [
        '/functions/v1/ops-manage?mode=crash',
        { method: 'POST', headers: auth, body: personalBody },
      ],
      [
        '/functions/v1/ops-manage?mode=identity',
        { method: 'POST', headers: auth, body: personalBody },
      ],
      [
        '/functions/v1/ops-manage?mode=dependency',
        { method: 'POST', headers: auth, body: personalBody },
      ],
      [
        '/functions/v1/ops-manage?mode=invalid',
        { method: 'POST', headers: auth, body: personalBody },
      ],
      // Legacy: personal data in the path, the query and the headers.
      [
        `/functions/v1/echo/${encodeURIComponent(SECRETS.email)}?phone=${SECRETS.phone}&card=${encodeURIComponent(SECRETS.card)}`,
        {
          headers: {
            authorization: `Bearer ${token}`,
            'x-api-key': SECRETS.apiKey,
            cookie: `session=${SECRETS.password}`,
          },
        },
      ],
      ['/functions/v1/error', { method: 'POST', body: personalBody }],
      // The access line writes the gateway's own fields unmasked; what a client controls is
      // masked: its request id, the name of a function not in the table, the path.
      [`/functions/v1/${SECRETS.phone}`, { headers: { 'x-request-id': SECRETS.rrn } }],
      [
        `/functions/v1/${SECRETS.identityPhone}/${SECRETS.account}`,
        { headers: { 'x-request-id': SECRETS.phone, traceparent: SECRETS.card } },
      ],
      // Gateway errors: a forged token, an unknown route, a bad override.
      [
        '/functions/v1/ops-manage',
        { method: 'POST', headers: { authorization: `Bearer ${token}x` }, body: personalBody },
      ],
      [`/api/v1/${encodeURIComponent(SECRETS.email)}`, {}],
      [
        '/functions/v1/ops-manage',
        { method: 'POST', headers: { ...auth, 'x-bff-backend': SECRETS.rrn } },
      ],
    ]
    for (const [path, init] of calls) await (await fetch(gateway.url + path, init)).arrayBuffer()
    const down = await startTestGateway('http://127.0.0.1:1/functions/v1', { logs })
    await (await fetch(`${down.url}/functions/v1/anything?email=${SECRETS.email}`)).arrayBuffer()
    await down.close()

    expect(logs.length).toBeGreaterThan(calls.length)
    const text = logs.map((l) => JSON.stringify(l)).join('\n')
    const encoded = (s: string) => [s, encodeURIComponent(s), s.replace(/[\s-]/g, '')]
    for (const [kind, value] of Object.entries(SECRETS)) {
      for (const form of encoded(value))
        expect(text, `${kind} leaked as ${form}`).not.toContain(form)
    }
    expect(text).not.toContain(token)
    expect(text).not.toMatch(/eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/)
    // The lines are still useful: routing fields survive masking.
    expect(
      logs.some(
        (l) => l.message === 'request' && l.route === 'ops-manage' && l.backend === 'native',
      ),
    ).toBe(true)
    expect(logs.some((l) => l.message === 'native failed, replaying to legacy')).toBe(true)
  })
})
