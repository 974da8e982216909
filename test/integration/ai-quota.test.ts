import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAnthropicClient } from '../../routes/ai/anthropic.js'
import { createAiReplySuggest } from '../../routes/ai/reply-suggest.js'
import { DbUnavailableError } from '../../src/platform/db/port.js'
import { type FakeAnthropic, startFakeAnthropic } from '../fakes/anthropic.js'
import { startLegacyStandIn } from '../fakes/legacy-functions.js'
import { buildTestApp } from '../helpers/gateway.js'
import { userToken } from '../helpers/tokens.js'
import { aiTestApp, memoryLogger, post } from './ai-app-helper.js'
import { createTestDatabase, type TestDatabase } from './ai-db-helper.js'

const GOOD = '{"suggestions":["고마워요!","또 만나요!","좋은 하루 보내요!"]}'
const BODY = { message: '오늘 방송 최고였어요', count: 3 }

describe('AI quota on PostgreSQL', () => {
  let fake: FakeAnthropic
  let database: TestDatabase
  let harness: ReturnType<typeof aiTestApp>
  const clock = { now: Date.now() }

  beforeAll(async () => {
    fake = await startFakeAnthropic({ mode: { kind: 'normal', text: GOOD } })
    database = await createTestDatabase(20)
    const anthropic = createAnthropicClient({
      apiKey: fake.apiKey,
      baseURL: fake.url,
      timeoutMs: 5000,
    })
    const { logger } = memoryLogger()
    harness = aiTestApp({
      'ai-reply-suggest': createAiReplySuggest({
        db: database.db,
        anthropic,
        logger,
        clock: () => clock.now,
      }),
    })
  })
  afterAll(async () => {
    await fake?.close()
    await database?.drop()
  })

  const setRemaining = (user: string, remaining: number) =>
    database.pool.query(
      `insert into ai_quotas (user_id, feature, remaining) values ($1, 'reply-suggest', $2)
       on conflict (user_id, feature) do update set remaining = excluded.remaining, period_start = now()`,
      [user, remaining],
    )
  const remainingOf = async (user: string) =>
    (await database.pool.query('select remaining from ai_quotas where user_id = $1', [user]))
      .rows[0]?.remaining

  it('a new user starts with the daily allowance and pays one unit per request', async () => {
    const user = '10000000-0000-4000-8000-000000000001'
    const res = await post(harness.app, 'ai-reply-suggest', user, BODY)
    expect(res.status).toBe(200)
    expect(res.headers.get('x-ai-quota-remaining')).toBe('49')
    expect(await remainingOf(user)).toBe(49)
  })

  it('exhausted → 429 ai-quota-exhausted with Retry-After until the next refill, no model call', async () => {
    const user = '10000000-0000-4000-8000-000000000002'
    await setRemaining(user, 0)
    clock.now = Date.now()
    const before = fake.requests.length
    const res = await post(harness.app, 'ai-reply-suggest', user, BODY)
    expect(res.status).toBe(429)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    const retryAfter = Number(res.headers.get('retry-after'))
    // The refill job runs daily: the next one is at most a day away.
    expect(retryAfter).toBeGreaterThan(0)
    expect(retryAfter).toBeLessThanOrEqual(86_400)
    const problem = (await res.json()) as Record<string, unknown>
    expect(problem).toMatchObject({
      type: 'https://bff.dev/problems/ai-quota-exhausted',
      code: 'ai-quota-exhausted',
      status: 429,
      feature: 'reply-suggest',
    })
    expect(String(problem.detail)).toMatch(/quota is used up; it is refilled at \d{4}-/)
    expect(fake.requests.length).toBe(before)
    expect(harness.sideEffects.at(-1)).toBe(false)
  })

  it('the refill (what refresh-fallback-quotas runs) restores service', async () => {
    const user = '10000000-0000-4000-8000-000000000003'
    await setRemaining(user, 0)
    expect((await post(harness.app, 'ai-reply-suggest', user, BODY)).status).toBe(429)
    // As the service role, the only role allowed to call it.
    const touched = await database.db.call<number>('ai_quota_refill', {
      p_feature: 'reply-suggest',
    })
    expect(touched).toBeGreaterThanOrEqual(1)
    const res = await post(harness.app, 'ai-reply-suggest', user, BODY)
    expect(res.status).toBe(200)
    expect(res.headers.get('x-ai-quota-remaining')).toBe('49')
    const row = await database.pool.query('select refilled_at from ai_quotas where user_id = $1', [
      user,
    ])
    expect(row.rows[0]?.refilled_at).toBeInstanceOf(Date)
  })

  it('a manual grant above the allowance survives the refill', async () => {
    const user = '10000000-0000-4000-8000-000000000004'
    await setRemaining(user, 500)
    await database.db.call('ai_quota_refill', { p_feature: 'reply-suggest', p_amount: null })
    expect(await remainingOf(user)).toBe(500)
  })

  it('50 concurrent requests with 10 units left → exactly 10 served by AI, 40 refused, never negative', async () => {
    const user = '10000000-0000-4000-8000-000000000005'
    await setRemaining(user, 10)
    const before = fake.requests.length
    const responses = await Promise.all(
      Array.from({ length: 50 }, () => post(harness.app, 'ai-reply-suggest', user, BODY)),
    )
    const statuses = responses.map((r) => r.status)
    expect(statuses.filter((s) => s === 200)).toHaveLength(10)
    expect(statuses.filter((s) => s === 429)).toHaveLength(40)
    const metas = await Promise.all(
      responses
        .filter((r) => r.status === 200)
        .map(async (r) => ((await r.json()) as { meta: unknown }).meta),
    )
    expect(metas.every((m) => (m as { source: string }).source === 'ai')).toBe(true)
    expect(fake.requests.length - before).toBe(10)
    expect(await remainingOf(user)).toBe(0)
    const usage = await database.pool.query(
      `select count(*)::int as n from ai_usage where user_id = $1 and source = 'ai'`,
      [user],
    )
    expect(usage.rows[0]?.n).toBe(10)
  })

  it('the table itself refuses a negative balance', async () => {
    await expect(
      database.pool.query(
        `update ai_quotas set remaining = -1 where user_id = '10000000-0000-4000-8000-000000000005'`,
      ),
    ).rejects.toThrow(/ai_quotas_remaining_check/)
  })

  it('database unreachable: nothing is done natively and the gateway replays the request to legacy', async () => {
    const anthropic = createAnthropicClient({ apiKey: fake.apiKey, baseURL: fake.url })
    const { logger } = memoryLogger()
    const down = {
      kind: 'postgres',
      call: async () => {
        // As node-postgres reports a refused connection: nothing was sent.
        throw new DbUnavailableError('database unavailable (ECONNREFUSED)', {
          cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
        })
      },
      ping: async () => false,
      close: async () => undefined,
    }
    const legacy = await startLegacyStandIn()
    try {
      // The real app (route table, identity, decision, dispatch, fallback, error handler).
      const app = buildTestApp(legacy.functionsUrl, {
        native: { 'ai-reply-suggest': createAiReplySuggest({ db: down, anthropic, logger }) },
        flags: { 'ai-reply-suggest': { native: 100 } },
      })
      const user = '10000000-0000-4000-8000-000000000006'
      const before = fake.requests.length
      const res = await app.request('/functions/v1/ai-reply-suggest', {
        method: 'POST',
        headers: {
          authorization: `Bearer ${await userToken(user)}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify(BODY),
      })
      expect(res.status).toBe(200)
      expect(res.headers.get('x-bff-backend')).toBe('legacy-fallback')
      expect(legacy.received.map((r) => r.url)).toEqual(['/functions/v1/ai-reply-suggest'])
      expect(JSON.parse(legacy.received[0]?.body.toString() ?? '')).toEqual(BODY)
      // No model call: the native attempt stopped before any effect.
      expect(fake.requests.length).toBe(before)
    } finally {
      await legacy.close()
    }
  })

  it('a caller without a user id is refused before the quota', async () => {
    const res = await post(harness.app, 'ai-reply-suggest', 'service-worker', BODY)
    expect(res.status).toBe(403)
    expect(await res.json()).toMatchObject({ code: 'user-required' })
  })
})
