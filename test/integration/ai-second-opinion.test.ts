import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createAnthropicClient } from '../../routes/ai/anthropic.js'
import type { AiDeps } from '../../routes/ai/deps.js'
import { createAiPollSuggest } from '../../routes/ai/poll-suggest.js'
import { createAiReplySuggest } from '../../routes/ai/reply-suggest.js'
import { type FakeAnthropic, startFakeAnthropic, systemText } from '../fakes/anthropic.js'
import { aiTestApp, memoryLogger, post } from './ai-app-helper.js'
import { createTestDatabase, type TestDatabase } from './ai-db-helper.js'

/**
 * The optional second opinion (`AI_SECOND_OPINION=on`): the cheaper model reviews what the
 * guard let through. What it flags is dropped; its timeout or failure never holds back an
 * answer; off by default, no call at all.
 */

const PRIMARY = 'claude-sonnet-5-5'
const CHEAP = 'claude-haiku-5-5'
// Three items the pattern guard passes; the second is a veiled invitation off the platform.
const ANSWER = JSON.stringify({
  suggestions: [
    '고마워요! 덕분에 힘이 나요',
    '우리 둘만 아는 곳에서 따로 봐요',
    '다음 방송에서 또 만나요!',
  ],
})
const isReview = (system: string) => system.startsWith('You review reply and poll suggestions')

describe('second opinion by the cheaper model', () => {
  let fake: FakeAnthropic
  let database: TestDatabase
  let users = 0
  const user = () => `50000000-0000-4000-8000-${String(++users).padStart(12, '0')}`

  beforeAll(async () => {
    fake = await startFakeAnthropic({ mode: { kind: 'normal', text: ANSWER } })
    database = await createTestDatabase(4)
  })
  afterAll(async () => {
    await fake?.close()
    await database?.drop()
  })
  beforeEach(() => {
    fake.setMode({ kind: 'normal', text: ANSWER })
  })

  function harness(secondOpinion?: AiDeps['secondOpinion']) {
    const anthropic = createAnthropicClient({
      apiKey: fake.apiKey,
      baseURL: fake.url,
      timeoutMs: 5000,
    })
    const deps: AiDeps = {
      db: database.db,
      anthropic,
      logger: memoryLogger().logger,
      ...(secondOpinion ? { secondOpinion } : {}),
    }
    return aiTestApp({
      'ai-reply-suggest': createAiReplySuggest(deps),
      'ai-poll-suggest': createAiPollSuggest(deps),
    })
  }
  const on = { enabled: true, timeoutMs: 400, maxTokens: 64 }

  function reviewAnswers(text: string) {
    fake.setModeFor(PRIMARY, { kind: 'normal', text: ANSWER })
    fake.setModeFor(CHEAP, { kind: 'normal', text })
  }

  it('off by default: no review call is made', async () => {
    const { app } = harness()
    const before = fake.requests.length
    const res = await post(app, 'ai-reply-suggest', user(), { message: '안녕하세요' })
    expect(res.status).toBe(200)
    const calls = fake.requests.slice(before)
    expect(calls).toHaveLength(1)
    expect(isReview(systemText(calls[0] as never))).toBe(false)
  })

  it('drops what it flags and serves the rest, with the outcome in the log fields', async () => {
    reviewAnswers('{"unsafe": [2]}')
    const { app, logFields } = harness(on)
    const before = fake.requests.length
    const res = await post(app, 'ai-reply-suggest', user(), { message: '만나고 싶어요' })
    const json = (await res.json()) as { suggestions: string[]; meta: { source: string } }
    expect(json.meta.source).toBe('ai')
    expect(json.suggestions).toEqual(['고마워요! 덕분에 힘이 나요', '다음 방송에서 또 만나요!'])
    const review = fake.requests.slice(before).find((r) => isReview(systemText(r)))
    expect(review?.body.model).toBe(CHEAP)
    expect(review?.body.max_tokens).toBe(64)
    expect(logFields.at(-1)).toMatchObject({ aiSecondOpinion: 'flagged', aiDropped: 1 })
  })

  it('falls back to the template when it flags too many', async () => {
    reviewAnswers('{"unsafe": [1, 2, 3]}')
    const { app } = harness(on)
    const res = await post(app, 'ai-reply-suggest', user(), { message: '만나고 싶어요' })
    const json = (await res.json()) as { meta: { source: string; fallback?: string } }
    expect(json.meta).toMatchObject({ source: 'template', fallback: 'invalid-output' })
  })

  it('reviews every text of a poll (question and options)', async () => {
    fake.setModeFor(PRIMARY, {
      kind: 'normal',
      text: JSON.stringify({
        polls: [
          { question: '다음 굿즈는?', options: ['키링', '포카'] },
          { question: '어디서 볼까요?', options: ['우리 둘만 아는 곳', '방송에서'] },
        ],
      }),
    })
    // Texts in order: q1, o1, o2, q2, o3, o4 → 5 is an option of the second poll.
    fake.setModeFor(CHEAP, { kind: 'normal', text: '{"unsafe": [5]}' })
    const { app } = harness(on)
    const res = await post(app, 'ai-poll-suggest', user(), { topic: '굿즈', count: 2 })
    const json = (await res.json()) as { polls: { question: string }[] }
    expect(json.polls.map((p) => p.question)).toEqual(['다음 굿즈는?'])
  })

  it.each([
    ['a timeout', { kind: 'slow', delayMs: 3000, text: '{"unsafe": [1, 2, 3]}' }, 'timeout'],
    ['a server error', { kind: 'server-error' }, 'error'],
    [
      'an answer that does not parse',
      { kind: 'normal', text: 'I think they are fine' },
      'unparseable',
    ],
  ] as const)('%s never holds back the answer', async (_name, mode, outcome) => {
    fake.setModeFor(PRIMARY, { kind: 'normal', text: ANSWER })
    fake.setModeFor(CHEAP, mode)
    const { app, logFields } = harness(on)
    const began = Date.now()
    const res = await post(app, 'ai-reply-suggest', user(), { message: '안녕하세요' })
    const elapsed = Date.now() - began
    const json = (await res.json()) as { suggestions: string[]; meta: { source: string } }
    expect(json.meta.source).toBe('ai')
    expect(json.suggestions).toHaveLength(3)
    expect(logFields.at(-1)).toMatchObject({ aiSecondOpinion: outcome })
    // Its own budget: 400 ms, not the 5 s of the answer chain.
    expect(elapsed).toBeLessThan(2500)
  })
})
