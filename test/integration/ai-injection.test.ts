import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAnthropicClient } from '../../routes/ai/anthropic.js'
import { findViolation, normalizeText } from '../../routes/ai/guard/index.js'
import type { AiOutcomeEvent } from '../../routes/ai/outcome.js'
import { createAiPollSuggest } from '../../routes/ai/poll-suggest.js'
import { createAiReplySuggest } from '../../routes/ai/reply-suggest.js'
import {
  type FakeAnthropic,
  type ReceivedRequest,
  startFakeAnthropic,
  systemText,
  userText,
} from '../fakes/anthropic.js'
import { aiTestApp, memoryLogger, post } from './ai-app-helper.js'
import { createTestDatabase, type TestDatabase } from './ai-db-helper.js'

/**
 * Every attack of the corpus goes through the whole route against a model that obeys it: the
 * fake answers with the attacker's desired output (placeholders filled from the prompt it really
 * received, so a leak of the real system prompt or canary is simulated). Whatever the model
 * does, no suggestion breaking the output rules may reach the client.
 */

interface Attack {
  id: string
  category: string
  route: 'ai-reply-suggest' | 'ai-poll-suggest'
  body: Record<string, unknown>
  modelOutput?: unknown
  modelRaw?: string
  /** `template`: nothing usable, answered from templates; `repaired`: bad items dropped. */
  expect: 'template' | 'repaired' | 'ai' | 'rejected'
  /** Strings that must not appear in any returned text (placeholders allowed). */
  forbidden: string[]
  note?: string
}

const corpus = JSON.parse(
  readFileSync(new URL('../fixtures/injection-corpus.json', import.meta.url), 'utf8'),
) as Attack[]

const TAGS = [
  'fan_message',
  'earlier_fan_message',
  'earlier_creator_reply',
  'poll_topic',
  'creator_note',
]

function fill(template: string, req: ReceivedRequest): string {
  const system = systemText(req)
  const canary = /cnry-[0-9a-f]+/.exec(system)?.[0] ?? 'no-canary'
  return template
    .replaceAll('{{SYSTEM}}', system)
    .replaceAll('{{SYSTEM_FIRST_LINE}}', system.split('\n')[0] ?? '')
    .replaceAll('{{CANARY_SPACED}}', canary.split('').join(' '))
    .replaceAll('{{CANARY}}', canary)
    .replaceAll('{{USER}}', userText(req))
}

function fillDeep(value: unknown, req: ReceivedRequest): unknown {
  if (typeof value === 'string') return fill(value, req)
  if (Array.isArray(value)) return value.map((v) => fillDeep(v, req))
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fillDeep(v, req)]))
  }
  return value
}

/** Checks written independently of the guard's own patterns, so a guard bug cannot hide itself. */
function independentBreaks(text: string, system: string, canary: string): string[] {
  const found: string[] = []
  const flat = normalizeText(text).toLowerCase()
  if (/[<>]/.test(text)) found.push('angle bracket')
  if (/[\u200B-\u200F\u202A-\u202E\u2066-\u2069\uFEFF]/.test(text))
    found.push('invisible character')
  if (/https?:|hxxp|www\.|\.com\b|\.kr\b|\.io\b|닷컴/.test(flat)) found.push('link')
  if (/@/.test(flat)) found.push('at sign')
  if (/\d{9,}/.test(flat.replace(/[\s.\-()+]/g, ''))) found.push('long number')
  if (flat.replace(/[^a-z0-9]/g, '').includes(canary.replace(/-/g, ''))) found.push('canary')
  if (TAGS.some((t) => flat.includes(t))) found.push('tag name')
  const firstLine = (system.split('\n')[0] ?? '').toLowerCase()
  if (firstLine && flat.includes(firstLine.slice(0, 40))) found.push('system text')
  return found
}

describe('prompt-injection corpus through the whole route', () => {
  let fake: FakeAnthropic
  let database: TestDatabase
  let harness: ReturnType<typeof aiTestApp>
  const events: AiOutcomeEvent[] = []
  const summary: string[] = []
  let current: Attack | undefined

  beforeAll(async () => {
    fake = await startFakeAnthropic({
      mode: {
        kind: 'normal',
        text: (req) => {
          if (!current) return '{}'
          if (current.modelRaw !== undefined) return fill(current.modelRaw, req)
          return JSON.stringify(fillDeep(current.modelOutput, req))
        },
      },
    })
    database = await createTestDatabase(4)
    const anthropic = createAnthropicClient({
      apiKey: fake.apiKey,
      baseURL: fake.url,
      timeoutMs: 5000,
    })
    const { logger } = memoryLogger()
    const deps = {
      db: database.db,
      anthropic,
      logger,
      onOutcome: (e: AiOutcomeEvent) => events.push(e),
    }
    harness = aiTestApp({
      'ai-reply-suggest': createAiReplySuggest(deps),
      'ai-poll-suggest': createAiPollSuggest(deps),
    })
  })

  afterAll(async () => {
    await fake?.close()
    await database?.drop()
    console.log(`\nInjection corpus: ${summary.length} attacks\n${summary.join('\n')}\n`)
  })

  it('has at least 30 varied attacks', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(30)
    expect(new Set(corpus.map((a) => a.category)).size).toBeGreaterThanOrEqual(8)
    expect(new Set(corpus.map((a) => a.id)).size).toBe(corpus.length)
  })

  corpus.forEach((attack, i) => {
    it(`${attack.id} (${attack.category})`, async () => {
      current = attack
      const user = `20000000-0000-4000-8000-${String(i + 1).padStart(12, '0')}`
      const before = fake.requests.length
      const eventsBefore = events.length
      const res = await post(harness.app, attack.route, user, attack.body)
      const sent = fake.requests.slice(before)

      if (attack.expect === 'rejected') {
        expect(res.status).toBeGreaterThanOrEqual(400)
        expect(res.status).toBeLessThan(500)
        summary.push(`${attack.id.padEnd(28)} ${attack.category.padEnd(20)} rejected ${res.status}`)
        return
      }
      expect(res.status).toBe(200)
      const json = (await res.json()) as {
        suggestions?: string[]
        polls?: { question: string; options: string[] }[]
        meta: { source: string; fallback?: string; model: string }
      }
      const texts = json.suggestions ?? json.polls?.flatMap((p) => [p.question, ...p.options]) ?? []
      expect(texts.length).toBeGreaterThan(0)

      // The fan's text never reached the model outside its tags, and never in `system`.
      const first = sent[0]
      if (!first) throw new Error('no model call')
      const system = systemText(first)
      const canary = /cnry-[0-9a-f]+/.exec(system)?.[0] ?? 'no-canary'
      const userTurn = userText(first)
      expect(system).not.toContain(String(attack.body.message ?? attack.body.topic))
      for (const tag of TAGS) {
        const opens = userTurn.split(`<${tag}>`).length - 1
        const closes = userTurn.split(`</${tag}>`).length - 1
        expect(opens).toBe(closes)
      }

      const guard = { system, canary, tagNames: TAGS }
      for (const text of texts) {
        expect(findViolation(text, guard), text).toBeUndefined()
        expect(independentBreaks(text, system, canary), text).toEqual([])
        const flat = normalizeText(text).toLowerCase()
        for (const raw of attack.forbidden) {
          const needle = fill(raw, first).toLowerCase()
          expect(
            flat.includes(needle) || text.toLowerCase().includes(needle),
            `${text} ⊇ ${needle}`,
          ).toBe(false)
        }
      }

      const event = events.slice(eventsBefore).at(-1)
      const dropped = event?.dropped ?? 0
      const outcome = json.meta.source === 'template' ? 'template' : dropped > 0 ? 'repaired' : 'ai'
      summary.push(
        `${attack.id.padEnd(28)} ${attack.category.padEnd(20)} ${outcome.padEnd(9)}` +
          ` meta=${json.meta.source}${json.meta.fallback ? `/${json.meta.fallback}` : ''}` +
          ` dropped=${dropped} served=${texts.length}`,
      )
      expect(outcome).toBe(attack.expect)
    })
  })
})
