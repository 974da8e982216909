import { SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAnthropicClient } from '../../routes/ai/anthropic.js'
import { createAiPollSuggest } from '../../routes/ai/poll-suggest.js'
import { createAiReplySuggest } from '../../routes/ai/reply-suggest.js'
import { createLogger } from '../../src/observability/log.js'
import { parseTraceparent } from '../../src/observability/trace-context.js'
import { type Db, DbUnavailableError } from '../../src/platform/db/port.js'
import { createJwtVerifier } from '../../src/security/jwt.js'
import { type FakeAnthropic, startFakeAnthropic } from '../fakes/anthropic.js'
import { type LegacyStandIn, startLegacyStandIn } from '../fakes/legacy-functions.js'
import { startTestGateway, type TestGateway } from '../helpers/gateway.js'
import { createTestDatabase, type TestDatabase } from './ai-db-helper.js'

// The AI handlers inside the real gateway on a real Node server: JWT, flags, dispatch,
// fallback rules and the access log, with the Anthropic stand-in and real PostgreSQL.

const SECRET = 'ai-gateway-test-secret-0123456789abcdef'
const USER = '30000000-0000-4000-8000-000000000001'
const GOOD = '{"suggestions":["고마워요!","또 만나요!","좋은 하루 보내요!"]}'

async function tokenFor(sub: string) {
  return new SignJWT({ role: 'authenticated' })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setAudience('authenticated')
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(SECRET))
}

describe('AI routes inside the gateway', () => {
  let fake: FakeAnthropic
  let database: TestDatabase
  let legacy: LegacyStandIn
  let gateway: TestGateway
  let dbDown = false
  const logs: Record<string, unknown>[] = []

  beforeAll(async () => {
    fake = await startFakeAnthropic({ mode: { kind: 'normal', text: GOOD } })
    database = await createTestDatabase(4)
    legacy = await startLegacyStandIn()
    const real = database.db
    const db: Db = {
      kind: real.kind,
      call: (fn, args) =>
        dbDown
          ? Promise.reject(
              // As the node-postgres adapter reports a refused connection: nothing was sent.
              new DbUnavailableError('database unavailable (ECONNREFUSED)', {
                cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
              }),
            )
          : real.call(fn, args),
      ping: () => real.ping(),
      close: () => real.close(),
    }
    const anthropic = createAnthropicClient({
      apiKey: fake.apiKey,
      baseURL: fake.url,
      timeoutMs: 5000,
    })
    const deps = { db, anthropic, logger: createLogger({ write: () => {} }) }
    gateway = await startTestGateway(legacy.functionsUrl, {
      native: {
        'ai-reply-suggest': createAiReplySuggest(deps),
        'ai-poll-suggest': createAiPollSuggest(deps),
      },
      flags: { 'ai-reply-suggest': { native: 100 }, 'ai-poll-suggest': { native: 100 } },
      env: { SUPABASE_JWT_SECRET: SECRET },
      logs,
      extra: { identity: createJwtVerifier({ hs256Secret: SECRET }) },
    })
  })
  afterAll(async () => {
    await gateway?.close()
    await legacy?.close()
    await fake?.close()
    await database?.drop()
  })

  async function call(path: string, body: unknown, sub: string | null = USER) {
    const headers: Record<string, string> = { 'content-type': 'application/json' }
    if (sub) headers.authorization = `Bearer ${await tokenFor(sub)}`
    const res = await fetch(gateway.url + path, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
    })
    return {
      status: res.status,
      backend: res.headers.get('x-bff-backend'),
      type: res.headers.get('content-type'),
      json: (await res.json()) as Record<string, unknown>,
    }
  }

  it('serves natively on the REST alias and the function path, logging tokens but no content', async () => {
    const message = '라이브 최고! 제 번호는 010-2222-3333'
    for (const path of ['/api/v1/ai/reply-suggest', '/functions/v1/ai-reply-suggest']) {
      const res = await call(path, { message })
      expect(res).toMatchObject({ status: 200, backend: 'native' })
      expect(res.json.meta).toEqual({ model: 'claude-sonnet-5-5', source: 'ai' })
    }
    // Each model call carries a child span of the request's trace.
    const modelTrace = parseTraceparent(fake.requests.at(-1)?.headers.traceparent as string)
    expect(modelTrace?.traceId).toMatch(/^[0-9a-f]{32}$/)
    expect(
      logs.some(
        (l) =>
          l.message === 'request' && l.traceId === modelTrace?.traceId && l.backend === 'native',
      ),
    ).toBe(true)
    const access = logs.filter((l) => l.model === 'claude-sonnet-5-5')
    expect(access).toHaveLength(2)
    expect(access[0]).toMatchObject({ aiSource: 'ai', inputTokens: 120, outputTokens: 40 })
    const all = JSON.stringify(logs)
    expect(all).not.toContain('라이브 최고')
    expect(all).not.toContain('010-2222-3333')
  })

  it('without a token the gateway answers 401 before the handler', async () => {
    const before = fake.requests.length
    const res = await call('/functions/v1/ai-reply-suggest', { message: 'hi' }, null)
    expect(res.status).toBe(401)
    expect(fake.requests.length).toBe(before)
  })

  it('quota exhausted → 429 problem from native, never replayed to legacy', async () => {
    const user = '30000000-0000-4000-8000-000000000002'
    await database.pool.query(
      `insert into ai_quotas (user_id, feature, remaining) values ($1, 'poll-suggest', 0)`,
      [user],
    )
    const before = legacy.received.length
    const res = await call('/api/v1/ai/poll-suggest', { topic: '다음 굿즈' }, user)
    expect(res).toMatchObject({ status: 429, backend: 'native', type: 'application/problem+json' })
    expect(res.json).toMatchObject({ code: 'ai-quota-exhausted' })
    expect(legacy.received.length).toBe(before)
  })

  it('database unreachable before any effect → replayed to legacy once, model not called', async () => {
    dbDown = true
    try {
      const before = { legacy: legacy.received.length, model: fake.requests.length }
      const res = await call('/functions/v1/ai-reply-suggest', { message: '안녕하세요' })
      expect(res.backend).toBe('legacy-fallback')
      expect(legacy.received.length).toBe(before.legacy + 1)
      expect(JSON.parse(legacy.received.at(-1)?.body.toString() ?? '{}')).toEqual({
        message: '안녕하세요',
      })
      expect(fake.requests.length).toBe(before.model)
    } finally {
      dbDown = false
    }
  })

  it('models down after the quota was taken → templates from native, no replay', async () => {
    fake.setMode({ kind: 'overloaded' })
    try {
      const before = legacy.received.length
      const res = await call('/functions/v1/ai-reply-suggest', { message: '안녕하세요' })
      expect(res).toMatchObject({ status: 200, backend: 'native' })
      expect(res.json.meta).toEqual({
        model: 'template',
        source: 'template',
        fallback: 'overloaded',
      })
      expect(legacy.received.length).toBe(before)
    } finally {
      fake.setMode({ kind: 'normal', text: GOOD })
    }
  })
})
