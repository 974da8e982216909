import { randomBytes, randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { identityCrypto, sealAad } from '../../routes/identity/index.js'
import { ops } from '../../routes/ops/index.js'
import { loadConfig } from '../../src/config.js'
import { createLogger } from '../../src/observability/log.js'
import { Metrics } from '../../src/observability/metrics.js'
import { type LegacyStandIn, startLegacyStandIn } from '../fakes/legacy-functions.js'
import { startTossFake, type TossFake } from '../fakes/toss.js'
import { startTestGateway, type TestGateway } from '../helpers/gateway.js'
import { TEST_JWT_SECRET, userToken } from '../helpers/tokens.js'
import { type Harness, postgresHarness, seedCatalog, seedPayment } from './db-harness.js'

const KEYS = `k1:${randomBytes(32).toString('base64')}`
const HASH_KEY = 'ops-test-hash-key-0123456789abcdef-0123'
const OPERATOR = randomUUID()
const BASE = '/functions/v1/ops-manage'

describe('ops-manage on PostgreSQL', () => {
  let h: Harness
  let toss: TossFake
  let legacy: LegacyStandIn
  let gw: TestGateway
  let opsToken: string
  let userTok: string
  const logLines: string[] = []

  beforeAll(async () => {
    h = await postgresHarness()
    await seedCatalog(h)
    toss = await startTossFake()
    legacy = await startLegacyStandIn()
    const config = loadConfig({
      LEGACY_FUNCTIONS_URL: legacy.functionsUrl,
      SUPABASE_JWT_SECRET: TEST_JWT_SECRET,
      TOSS_SECRET_KEY: toss.secretKey,
      TOSS_API_URL: toss.url,
      IDENTITY_CI_KEYS: KEYS,
      IDENTITY_CI_HASH_KEY: HASH_KEY,
    })
    const logger = createLogger({ level: 'debug', write: (line) => logLines.push(line) })
    gw = await startTestGateway(legacy.functionsUrl, {
      native: ops.nativeHandlers({ config, logger, metrics: new Metrics(), db: h.db }),
      flags: { 'ops-manage': { native: 100 } },
    })
    opsToken = await userToken(OPERATOR, { app_metadata: { role: 'ops' } })
    userTok = await userToken(randomUUID(), { user_metadata: { role: 'ops' } })
  })
  afterAll(async () => {
    await gw?.close()
    await legacy?.close()
    await toss?.close()
    await h?.close()
  })

  const call = (path: string, init: { method?: string; body?: unknown; token?: string } = {}) =>
    fetch(`${gw.url}${BASE}/${path}`, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers: {
        authorization: `Bearer ${init.token ?? opsToken}`,
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(init.body === undefined
        ? {}
        : { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) }),
    })
  const json = async <T = Record<string, unknown>>(res: Response) => (await res.json()) as T
  const auditCount = async () =>
    Number((await h.sql<{ n: string }>('select count(*) as n from public.ops_audit'))[0]?.n)
  const fields = async (res: Response) =>
    (await json<{ errors?: Array<{ field: string }> }>(res)).errors?.map((e) => e.field) ?? []

  it('refuses a user without the ops role (user_metadata never counts) and writes nothing', async () => {
    const before = await auditCount()
    const creator = randomUUID()
    for (const res of [
      await call(`users/${creator}`, { token: userTok }),
      await call(`creators/${creator}/payout-hold`, { token: userTok, body: { reason: 'x' } }),
      await call('audit', { token: userTok }),
    ]) {
      expect(res.status).toBe(403)
      expect(res.headers.get('content-type')).toBe('application/problem+json')
      expect((await json<{ code: string }>(res)).code).toBe('ops-only')
    }
    expect(await auditCount()).toBe(before)
    expect(await h.sql('select * from public.creator_payout_holds')).toHaveLength(0)
  })

  it("lists a user's orders, payments and refunds, paginated and filtered", async () => {
    const user = randomUUID()
    const payments = []
    for (let i = 0; i < 3; i++) payments.push(await seedPayment(h.db, { userId: user }))
    const first = await call(`users/${user}/orders?limit=2`)
    expect(first.status).toBe(200)
    const page1 = await json<{ items: Array<{ orderId: string }>; nextCursor: string }>(first)
    expect(page1.items).toHaveLength(2)
    expect(page1.nextCursor).toBeTruthy()
    const page2 = await json<{ items: Array<{ orderId: string }>; nextCursor: string | null }>(
      await call(`users/${user}/orders?limit=2&cursor=${page1.nextCursor}`),
    )
    expect(page2.items).toHaveLength(1)
    expect(page2.nextCursor).toBeNull()
    const seen = [...page1.items, ...page2.items].map((o) => o.orderId).sort()
    expect(seen).toEqual(payments.map((p) => p.orderId).sort())

    const done = await json<{ items: unknown[] }>(await call(`users/${user}/payments?status=DONE`))
    expect(done.items).toHaveLength(3)
    const none = await json<{ items: unknown[] }>(
      await call(`users/${user}/payments?status=CANCELED`),
    )
    expect(none.items).toHaveLength(0)
    const future = new Date(Date.now() + 3600_000).toISOString()
    const later = await json<{ items: unknown[] }>(
      await call(`users/${user}/orders?from=${encodeURIComponent(future)}`),
    )
    expect(later.items).toHaveLength(0)
    const pledges = await json<{ items: unknown[] }>(await call(`users/${user}/pledges`))
    expect(pledges.items).toEqual([])
  })

  it.each([
    ['users/not-a-uuid/orders', 422, 'param:userId'],
    [`users/${randomUUID()}/orders?limit=0`, 422, 'query:limit'],
    [`users/${randomUUID()}/orders?limit=abc`, 422, 'query:limit'],
    [`users/${randomUUID()}/orders?from=yesterday`, 422, 'query:from'],
    [`users/${randomUUID()}/orders?cursor=bm9wZQ`, 422, 'query:cursor'],
    [`users/${randomUUID()}/orders?sort=asc`, 422, 'query:sort'],
    [`users/${randomUUID()}/settlements`, 404, 'param:section'],
    [`users/${randomUUID()}/nonsense`, 404, 'param:section'],
    ['audit?targetType=planet', 422, 'query:targetType'],
    // Valid ISO 8601 but past PostgreSQL's ±15:59 offsets: refused here, not a 500 in the database.
    [`audit?from=${encodeURIComponent('2026-02-28T22:42:28+21:22')}`, 422, 'query:from'],
    [
      `users/${randomUUID()}/orders?to=${encodeURIComponent('2026-01-01T00:00:00-16:00')}`,
      422,
      'query:to',
    ],
  ])('GET %s answers %i naming %s', async (path, status, field) => {
    const res = await call(path)
    expect(res.status).toBe(status)
    expect(await fields(res)).toContain(field)
  })

  it('holds and releases payouts with an audit row each, and records nothing for a no-op', async () => {
    const creator = randomUUID()
    const before = await auditCount()
    const held = await call(`creators/${creator}/payout-hold`, {
      body: { reason: '정산 이의 조사' },
    })
    expect(held.status).toBe(200)
    expect(await json(held)).toMatchObject({
      changed: true,
      before: { held: false },
      after: { held: true },
    })
    expect(
      (await h.sql<{ r: boolean }>('select public.payout_hold_active($1) as r', [creator]))[0]?.r,
    ).toBe(true)
    const again = await call(`creators/${creator}/payout-hold`, { body: { reason: 'again' } })
    expect(await json(again)).toMatchObject({ changed: false })
    const released = await call(`creators/${creator}/payout-release`, {
      body: { reason: '조사 종료' },
    })
    expect(await json(released)).toMatchObject({ changed: true, after: { held: false } })
    expect(await auditCount()).toBe(before + 2)

    const trail = await json<{ items: Array<Record<string, unknown>> }>(
      await call(`audit?targetType=creator&targetId=${creator}`),
    )
    expect(trail.items.map((e) => e.action)).toEqual(['payout.release', 'payout.hold'])
    expect(trail.items[1]).toMatchObject({
      actor: `jwt:${OPERATOR}`,
      before: { held: false },
      after: { held: true },
      reason: '정산 이의 조사',
    })
  })

  it.each([
    [{}, 'reason'],
    [{ reason: '   ' }, 'reason'],
    [{ reason: 'x'.repeat(501) }, 'reason'],
    [{ reason: 'ok', extra: true }, '(root)'],
  ])('refuses a payout hold with %j naming %s, writing nothing', async (body, field) => {
    const before = await auditCount()
    const creator = randomUUID()
    const res = await call(`creators/${creator}/payout-hold`, { body })
    expect(res.status).toBe(422)
    expect(await fields(res)).toContain(field)
    expect(await auditCount()).toBe(before)
    expect(
      await h.sql('select 1 from public.creator_payout_holds where creator_id = $1', [creator]),
    ).toHaveLength(0)
  })

  it('sets an AI quota with before → after in the trail, and validates every field', async () => {
    const user = randomUUID()
    const res = await call(`users/${user}/ai-quota`, {
      body: { feature: 'reply-suggest', remaining: 7, reason: '보상 지급' },
    })
    expect(res.status).toBe(200)
    expect(await json(res)).toMatchObject({ before: { remaining: null }, after: { remaining: 7 } })
    const [quota] = await h.sql<{ remaining: number }>(
      `select remaining from public.ai_quotas where user_id = $1 and feature = 'reply-suggest'`,
      [user],
    )
    expect(quota?.remaining).toBe(7)
    const before = await auditCount()
    for (const [body, field] of [
      [{ feature: 'no-such-feature', remaining: 1, reason: 'r' }, 'feature'],
      [{ feature: 'reply-suggest', remaining: -1, reason: 'r' }, 'remaining'],
      [{ feature: 'reply-suggest', remaining: 1.5, reason: 'r' }, 'remaining'],
      [{ feature: 'reply-suggest', remaining: 1 }, 'reason'],
    ] as const) {
      const bad = await call(`users/${user}/ai-quota`, { body })
      expect(bad.status).toBe(422)
      expect(await fields(bad)).toContain(field)
    }
    expect(await auditCount()).toBe(before)
    const bodyNotJson = await call(`users/${user}/ai-quota`, { body: '{' })
    expect(bodyNotJson.status).toBe(400)
  })

  it('resends a pending refund through the payments retry path, once', async () => {
    const payment = await seedPayment(h.db)
    toss.seed({
      paymentKey: payment.paymentKey,
      orderId: payment.orderId,
      totalAmount: payment.amount,
    })
    const refund = await h.db.call<{ refundId: string }>('refund_reserve', {
      p_payment_key: payment.paymentKey,
      p_user_id: null,
      p_amount: null,
      p_reason: '고객 요청',
      p_is_ops: true,
      p_client_key: null,
      p_refund_account: null,
      p_now: new Date().toISOString(),
    })
    const res = await call(`refunds/${refund.refundId}/resend`, {
      body: { reason: '고객 문의로 재전송' },
    })
    expect(res.status).toBe(200)
    expect(await json(res)).toMatchObject({ changed: true, after: { status: 'done' } })
    expect(toss.cancelCount).toBe(1)
    const again = await call(`refunds/${refund.refundId}/resend`, { body: { reason: 'again' } })
    expect(again.status).toBe(409)
    expect((await json<{ code: string }>(again)).code).toBe('refund-not-pending')
    expect(toss.cancelCount).toBe(1)
    const missing = await call(`refunds/${randomUUID()}/resend`, { body: { reason: 'r' } })
    expect(missing.status).toBe(404)
    const trail = await json<{ items: Array<Record<string, unknown>> }>(
      await call(`audit?action=refund.resend&targetId=${refund.refundId}`),
    )
    expect(trail.items).toHaveLength(1)
  })

  it('suspends a live campaign (pledges released by the funding feature) and refuses others', async () => {
    const creator = randomUUID()
    const [live] = await h.sql<{ id: string }>(
      `insert into public.funding_campaigns (creator_id, title, goal_krw, starts_at, ends_at, state)
       values ($1, '라이브 캠페인', 1000000, now() - interval '1 day', now() + interval '7 days', 'live')
       returning id`,
      [creator],
    )
    const res = await call(`campaigns/${live?.id}/suspend`, { body: { reason: '약관 위반 신고' } })
    expect(res.status).toBe(200)
    expect(await json(res)).toMatchObject({
      before: { state: 'live' },
      after: { state: 'cancelled' },
    })
    const again = await call(`campaigns/${live?.id}/suspend`, { body: { reason: 'again' } })
    expect(again.status).toBe(409)
    expect((await json<{ code: string }>(again)).code).toBe('campaign-not-live')
    expect(
      (await call(`campaigns/${randomUUID()}/suspend`, { body: { reason: 'r' } })).status,
    ).toBe(404)
  })

  it('shows identity status masked, never CI, DI or the full name', async () => {
    const user = randomUUID()
    const crypto = identityCrypto({ keys: KEYS, hashKey: HASH_KEY })
    const ci = Buffer.from(`ci-${user}`.padEnd(66, 'z')).toString('base64')
    const sealed = await crypto.seal(
      {
        ci,
        di: 'di-value',
        name: '김민수',
        birthDate: '1990-05-06',
        phoneNumber: '01055556789',
        gender: 'MALE',
        isForeigner: false,
      },
      sealAad(user),
    )
    await h.db.call('identity_record', {
      p_user_id: user,
      p_provider: 'portone',
      p_verification_id: `iv-${user}`,
      p_ci_hash: await crypto.ciHash(ci),
      p_pii_key_id: sealed.keyId,
      p_pii_ciphertext: sealed.ciphertext,
      p_birth_year: 1990,
      p_verified_at: new Date().toISOString(),
    })
    const res = await call(`users/${user}`)
    expect(res.status).toBe(200)
    const text = await res.text()
    const body = JSON.parse(text) as { identity: Record<string, unknown> }
    expect(body.identity).toMatchObject({
      verified: true,
      adult: true,
      masked: { name: '김*수', birthYear: 1990, phoneLast4: '6789' },
    })
    for (const secret of [ci, 'di-value', '김민수', '1990-05-06', '01055556789']) {
      expect(text).not.toContain(secret)
      expect(logLines.join('\n')).not.toContain(secret)
    }
  })

  it('keeps the audit trail append-only', async () => {
    await expect(h.sql('update public.ops_audit set reason = $1', ['rewritten'])).rejects.toThrow(
      /ops-audit-append-only/,
    )
    await expect(h.sql('delete from public.ops_audit')).rejects.toThrow(/ops-audit-append-only/)
    await expect(h.sql('truncate public.ops_audit')).rejects.toThrow(/ops-audit-append-only/)
    await expect(h.asRole('service_role', 'select * from public.ops_audit')).rejects.toThrow()
  })

  it('answers 404 for an unknown resource and 405 for a wrong method', async () => {
    expect((await call('nothing-here')).status).toBe(404)
    expect((await call('audit', { method: 'POST', body: {} })).status).toBe(405)
  })
})
