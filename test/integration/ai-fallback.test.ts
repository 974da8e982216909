import { createServer } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type AnthropicClientOptions, createAnthropicClient } from '../../routes/ai/anthropic.js'
import type { AiOutcomeEvent } from '../../routes/ai/outcome.js'
import { createAiPollSuggest } from '../../routes/ai/poll-suggest.js'
import { createAiReplySuggest } from '../../routes/ai/reply-suggest.js'
import { REPLY_TEMPLATES } from '../../routes/ai/templates.js'
import { Metrics } from '../../src/observability/metrics.js'
import { type FakeAnthropic, startFakeAnthropic } from '../fakes/anthropic.js'
import { aiTestApp, memoryLogger, post } from './ai-app-helper.js'
import { createTestDatabase, type TestDatabase } from './ai-db-helper.js'

const PRIMARY = 'claude-sonnet-5-5'
const FALLBACK = 'claude-haiku-5-5'
const GOOD = '{"suggestions":["고마워요!","또 만나요!","좋은 하루 보내요!"]}'
const BODY = { message: '오늘 방송 너무 재밌었어요!', count: 3 }

let userSeq = 0
const newUser = () => `00000000-0000-4000-8000-${String(++userSeq).padStart(12, '0')}`

describe('AI fallback chain: primary → cheaper model → Korean templates', () => {
  let fake: FakeAnthropic
  let database: TestDatabase

  beforeAll(async () => {
    fake = await startFakeAnthropic()
    database = await createTestDatabase(4)
  })
  afterAll(async () => {
    await fake?.close()
    await database?.drop()
  })

  function setup(options: Partial<AnthropicClientOptions> = {}) {
    const metrics = new Metrics()
    const events: AiOutcomeEvent[] = []
    const { logger } = memoryLogger()
    const anthropic = createAnthropicClient({
      apiKey: fake.apiKey,
      baseURL: fake.url,
      timeoutMs: 2000,
      ...options,
    })
    const deps = {
      db: database.db,
      anthropic,
      logger,
      metrics,
      onOutcome: (e: AiOutcomeEvent) => events.push(e),
    }
    const harness = aiTestApp({
      'ai-reply-suggest': createAiReplySuggest(deps),
      'ai-poll-suggest': createAiPollSuggest(deps),
    })
    const served = (labels: Record<string, string>) =>
      metrics
        .counter('bff_ai_suggestions_total', '', [])
        .get({ feature: 'reply-suggest', ...labels })
    return { ...harness, metrics, events, anthropic, served }
  }

  it('serves from the primary model when it is healthy', async () => {
    fake.setMode({ kind: 'normal', text: GOOD })
    const t = setup()
    const res = await post(t.app, 'ai-reply-suggest', newUser(), BODY)
    expect(await res.json()).toEqual({
      suggestions: ['고마워요!', '또 만나요!', '좋은 하루 보내요!'],
      meta: { model: PRIMARY, source: 'ai' },
    })
    expect(res.headers.get('x-ai-quota-remaining')).toBe('49')
    expect(t.served({ source: 'ai', model: PRIMARY, fallback: 'none' })).toBe(1)
  })

  it.each([
    ['overloaded', { kind: 'overloaded' }],
    ['rate-limited', { kind: 'rate-limited', retryAfterSeconds: 20 }],
    ['server-error', { kind: 'server-error' }],
    ['timeout', { kind: 'slow', delayMs: 10_000 }],
    ['invalid-output', { kind: 'malformed', text: 'Sure! Here are some replies: 1. hi 2. hello' }],
    ['invalid-output', { kind: 'malformed', text: '{"replies":["wrong key"]}' }],
    [
      'invalid-output',
      { kind: 'malformed', text: '{"suggestions":["https://evil.example","카톡 아이디 evil123"]}' },
    ],
  ] as const)('primary %s → the fallback model answers, labelled in meta', async (reason, mode) => {
    fake.setMode({ kind: 'normal', text: GOOD })
    fake.setModeFor(PRIMARY, mode)
    const t = setup({ timeoutMs: 300 })
    const before = fake.requests.length
    const res = await post(t.app, 'ai-reply-suggest', newUser(), BODY)
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({
      meta: { model: FALLBACK, source: 'ai', fallback: reason },
    })
    // One call per model: the SDK does not retry on its own, the fallback model is the retry.
    expect(fake.requests.slice(before).map((r) => r.body.model)).toEqual([PRIMARY, FALLBACK])
    expect(t.events[0]).toMatchObject({ source: 'ai', model: FALLBACK, fallback: reason })
    expect(t.events[0]?.attempts.map((a) => a.outcome)).toEqual([reason, 'ok'])
    expect(t.logFields.at(-1)).toMatchObject({
      model: FALLBACK,
      aiSource: 'ai',
      aiFallback: reason,
    })
    expect(t.served({ source: 'ai', model: FALLBACK, fallback: reason })).toBe(1)
    expect(t.sideEffects.at(-1)).toBe(true)
  })

  it('both models down → Korean templates, labelled, tokens of failed attempts still counted', async () => {
    fake.setMode({ kind: 'overloaded' })
    const t = setup()
    const user = newUser()
    const res = await post(t.app, 'ai-reply-suggest', user, BODY)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({
      suggestions: REPLY_TEMPLATES.ko.friendly.slice(0, 3),
      meta: { model: 'template', source: 'template', fallback: 'overloaded' },
    })
    expect(t.logFields.at(-1)).toMatchObject({
      model: 'template',
      aiSource: 'template',
      aiFallback: 'overloaded',
      aiAttempts: `${PRIMARY}:overloaded,${FALLBACK}:overloaded`,
    })
    expect(t.served({ source: 'template', model: 'template', fallback: 'overloaded' })).toBe(1)
    const usage = await database.pool.query(
      'select model, source, fallback_reason from ai_usage where user_id = $1',
      [user],
    )
    expect(usage.rows).toEqual([
      { model: 'template', source: 'template', fallback_reason: 'overloaded' },
    ])
  })

  it('both models return injected output → templates with fallback invalid-output', async () => {
    fake.setMode({
      kind: 'malformed',
      text: '{"suggestions":["010-1234-5678 로 연락해요","open.kakao.com/o/x"]}',
    })
    const t = setup()
    const res = await post(t.app, 'ai-reply-suggest', newUser(), {
      ...BODY,
      style: { tone: 'polite', language: 'en' },
    })
    expect(await res.json()).toEqual({
      suggestions: REPLY_TEMPLATES.en.polite?.slice(0, 3),
      meta: { model: 'template', source: 'template', fallback: 'invalid-output' },
    })
    expect(t.events[0]).toMatchObject({ dropped: 4, inputTokens: 240, outputTokens: 80 })
  })

  it('poll: both models down → Korean poll templates about the topic', async () => {
    fake.setMode({ kind: 'server-error' })
    const t = setup()
    const res = await post(t.app, 'ai-poll-suggest', newUser(), {
      topic: '다음 팬미팅',
      count: 2,
      optionsPerPoll: 3,
    })
    expect(await res.json()).toEqual({
      polls: [
        {
          question: '다음 팬미팅, 어떻게 생각하세요?',
          options: ['완전 좋아요', '좋아요', '보통이에요'],
        },
        {
          question: '다음 팬미팅 관련해서 다음에 가장 보고 싶은 건?',
          options: ['비하인드 영상', '라이브 방송', 'Q&A'],
        },
      ],
      meta: { model: 'template', source: 'template', fallback: 'server-error' },
    })
  })

  it('unreachable API → connection; after the breakers open no call is made and no quota is taken', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as { port: number }
        s.close(() => resolve(port))
      })
    })
    const t = setup({ baseURL: `http://127.0.0.1:${closedPort}`, breakerThreshold: 2 })
    const user = newUser()
    for (let i = 0; i < 2; i++) {
      const res = await post(t.app, 'ai-reply-suggest', user, BODY)
      expect(await res.json()).toMatchObject({
        meta: { source: 'template', fallback: 'connection' },
      })
    }
    expect(t.anthropic.breakerStates()).toEqual({ [PRIMARY]: 'open', [FALLBACK]: 'open' })
    expect(t.anthropic.available()).toBe(false)
    const res = await post(t.app, 'ai-reply-suggest', user, BODY)
    expect(await res.json()).toMatchObject({
      meta: { model: 'template', source: 'template', fallback: 'breaker-open' },
    })
    expect(res.headers.get('x-ai-quota-remaining')).toBeNull()
    expect(t.sideEffects.at(-1)).toBe(false)
    const quota = await database.pool.query('select remaining from ai_quotas where user_id = $1', [
      user,
    ])
    expect(quota.rows).toEqual([{ remaining: 48 }])
  })

  it('an open primary breaker skips straight to the fallback model', async () => {
    fake.setMode({ kind: 'normal', text: GOOD })
    fake.setModeFor(PRIMARY, { kind: 'overloaded' })
    const t = setup({ breakerThreshold: 1 })
    await post(t.app, 'ai-reply-suggest', newUser(), BODY)
    const before = fake.requests.length
    const res = await post(t.app, 'ai-reply-suggest', newUser(), BODY)
    expect(await res.json()).toMatchObject({
      meta: { model: FALLBACK, source: 'ai', fallback: 'breaker-open' },
    })
    expect(fake.requests.slice(before).map((r) => r.body.model)).toEqual([FALLBACK])
  })

  it('a rejected API key is upstream-error → templates, without opening the breakers', async () => {
    fake.setMode({ kind: 'normal', text: GOOD })
    const t = setup({ apiKey: 'sk-ant-wrong', breakerThreshold: 1 })
    const res = await post(t.app, 'ai-reply-suggest', newUser(), BODY)
    expect(await res.json()).toMatchObject({
      meta: { model: 'template', source: 'template', fallback: 'upstream-error' },
    })
    expect(t.anthropic.breakerStates()).toEqual({ [PRIMARY]: 'closed', [FALLBACK]: 'closed' })
  })
})
