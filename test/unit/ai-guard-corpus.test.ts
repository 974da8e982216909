import { readFileSync } from 'node:fs'
import { afterAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import {
  buildPrompt,
  findJoinedViolation,
  findViolation,
  type LeakGuard,
  normalizeText,
  validateSuggestions,
} from '../../routes/ai/guard/index.js'
import { replyInstructions } from '../../routes/ai/instructions.js'
import { maskUntrusted } from '../../src/observability/pii.js'

/**
 * Both errors of the output guard, measured on corpora written for it:
 * - false positives: ordinary fan messages, suggestions and polls (dates, times, prices, brand
 *   names, slang, emoji sequences) refused — at most 1 % per suggestion;
 * - misses: every attack class (obfuscated numbers, domains, e-mail, messenger handles, HTML
 *   references, wallets, base64, invisible characters, prompt leaks, hate, payment requests, a
 *   leak split across items, personal numbers in the input) refused, repaired or masked — 100 %.
 */

interface Benign {
  suggestions: string[]
  messages: string[]
  polls: { question: string; options: string[] }[]
}
interface Attack {
  items: { id: string; class: string; text: string }[]
  joined: { id: string; class: string; texts: string[] }[]
  leaks: { id: string; class: string; template: string }[]
  display: { id: string; class: string; text: string }[]
  inputs: { id: string; text: string; secret: string[] }[]
}

const load = <T>(name: string) =>
  JSON.parse(readFileSync(new URL(`../fixtures/ai-guard/${name}`, import.meta.url), 'utf8')) as T
const benign = load<Benign>('benign.json')
const attack = load<Attack>('attack.json')

const prompt = buildPrompt({
  instructions: replyInstructions({ language: 'ko', tone: 'friendly', emoji: true, count: 3 }),
  data: [{ tag: 'fan_message', text: '안녕하세요' }],
  canary: 'cnry-0123456789abcdef',
})
const guard: LeakGuard = {
  system: prompt.system,
  canary: prompt.canary,
  tagNames: ['fan_message', 'earlier_fan_message', 'earlier_creator_reply'],
}

const suggestionSchema = {
  key: 'suggestions',
  item: z.string().min(1).max(300),
  texts: (s: string) => [s],
  min: 1,
  max: 5,
  guard,
}
const pollSchema = {
  key: 'polls',
  item: z.object({ question: z.string().min(1), options: z.array(z.string().min(1)).min(2) }),
  texts: (p: { question: string; options: string[] }) => [p.question, ...p.options],
  min: 1,
  max: 3,
  guard,
}

const LOOKALIKE: Record<string, string> = { a: 'а', e: 'е', o: 'о', c: 'с', p: 'р', x: 'х', y: 'у' }
const FULLWIDTH = (s: string) =>
  Array.from(s, (ch) =>
    ch >= '!' && ch <= '~' ? String.fromCodePoint((ch.codePointAt(0) as number) + 0xfee0) : ch,
  ).join('')

/** The leak attacks, built from the real system prompt. */
function leakTexts(template: string): string[] {
  const first = prompt.system.split('\n')[0] ?? ''
  switch (template) {
    case 'lookalike-first-line':
      return [Array.from(first, (ch) => LOOKALIKE[ch] ?? ch).join('')]
    case 'spaced-first-line':
      return [Array.from(first.replace(/\s+/g, '')).join(' ')]
    case 'split-first-line': {
      const words = first.split(' ')
      const quarter = Math.ceil(words.length / 4)
      return [0, 1, 2, 3].map((i) => words.slice(i * quarter, (i + 1) * quarter).join(' '))
    }
    case 'fullwidth-canary':
      return [`마커는 ${FULLWIDTH(prompt.canary.toUpperCase())} 이에요`]
    case 'rule-lines':
      return [
        'never include LINKS urls domain-names e-mail addresses phone numbers account numbers',
      ]
    default:
      throw new Error(`unknown leak template ${template}`)
  }
}

const stats = { benignTexts: 0, benignRefused: 0, attacks: 0, blocked: 0 }
const refusedBenign: string[] = []
const missed: string[] = []

afterAll(() => {
  const fp = (100 * stats.benignRefused) / stats.benignTexts
  const block = (100 * stats.blocked) / stats.attacks
  console.log(
    `\nAI guard corpora: false positives ${stats.benignRefused}/${stats.benignTexts} ` +
      `(${fp.toFixed(2)} % per suggestion)${refusedBenign.length ? `: ${refusedBenign.join(' | ')}` : ''}\n` +
      `attacks blocked ${stats.blocked}/${stats.attacks} (${block.toFixed(1)} %)` +
      `${missed.length ? `, missed: ${missed.join(', ')}` : ''}\n`,
  )
})

describe('benign corpus: ordinary suggestions are kept', () => {
  it('is big and varied enough', () => {
    const total = benign.suggestions.length + benign.messages.length
    expect(total).toBeGreaterThanOrEqual(200)
    expect(benign.polls.length).toBeGreaterThanOrEqual(10)
  })

  it('refuses at most 1 % of ordinary texts, each taken as a suggestion', () => {
    const texts = [
      ...benign.suggestions,
      ...benign.messages,
      ...benign.polls.flatMap((p) => [p.question, ...p.options]),
    ]
    for (const text of texts) {
      stats.benignTexts++
      const violation = findViolation(text, guard)
      if (violation) {
        stats.benignRefused++
        refusedBenign.push(`${violation}: ${text}`)
      }
    }
    for (const poll of benign.polls) {
      stats.benignTexts++
      const r = validateSuggestions(JSON.stringify({ polls: [poll] }), pollSchema)
      if (!r.ok) {
        stats.benignRefused++
        refusedBenign.push(`poll ${r.reason}: ${poll.question}`)
      }
    }
    expect(stats.benignRefused / stats.benignTexts).toBeLessThanOrEqual(0.01)
  })

  it('keeps the suggestions of an answer together (no joined false positive)', () => {
    for (let i = 0; i + 3 <= benign.suggestions.length; i += 3) {
      const three = benign.suggestions.slice(i, i + 3)
      expect(findJoinedViolation(three, guard), three.join(' | ')).toBeUndefined()
    }
  })

  it('shows emoji sequences intact (ZWJ and presentation selectors kept)', () => {
    const raw = JSON.stringify({
      suggestions: ['가족사진 이모지 👨‍👩‍👧 너무 귀엽다', '오늘 방송 불타올랐죠 ❤️‍🔥', '떡볶이 🌶️'],
    })
    const r = validateSuggestions(raw, suggestionSchema)
    expect(r).toMatchObject({
      ok: true,
      items: ['가족사진 이모지 👨‍👩‍👧 너무 귀엽다', '오늘 방송 불타올랐죠 ❤️‍🔥', '떡볶이 🌶️'],
    })
  })

  it('leaves ordinary fan messages unmasked on the way to the model', () => {
    const changed = benign.messages.filter((m) => maskUntrusted(m) !== normalizeText(m))
    expect(changed).toEqual([])
  })
})

describe('attack corpus: every class is refused, repaired or masked', () => {
  it('covers every class the guard must hold against', () => {
    const classes = new Set(attack.items.map((a) => a.class))
    for (const c of [
      'digits-separators',
      'letters-for-digits',
      'cjk-and-korean-numerals',
      'account-numbers',
      'domain-tld-missing-from-list',
      'domain-spelled-or-spaced-dot',
      'domain-lookalike-letters',
      'bare-ip',
      'percent-encoded-url',
      'javascript-url',
      'markdown-reference-image',
      'html-numeric-refs',
      'email-korean-at-dot',
      'messenger-wechat',
      'messenger-line',
      'messenger-kakao',
      'messenger-open-chat',
      'messenger-telegram',
      'instagram-handles',
      'crypto-wallet-split',
      'base64-chunks',
      'invisible-hiding-dot',
      'hate-harassment',
      'payment-solicitation',
    ]) {
      expect(classes.has(c), c).toBe(true)
      expect(attack.items.filter((a) => a.class === c).length, c).toBeGreaterThanOrEqual(3)
    }
  })

  it.each(attack.items.map((a) => [a.id, a.text] as const))('%s is refused', (id, text) => {
    stats.attacks++
    const violation = findViolation(text, guard)
    if (violation) stats.blocked++
    else missed.push(id)
    expect(violation, text).toBeDefined()
  })

  it.each(attack.joined.map((a) => [a.id, a.texts] as const))(
    '%s: split across items, the answer fails as a whole',
    (id, texts) => {
      stats.attacks++
      // Each piece alone is harmless; together they are not.
      const poll = { question: '골라 주세요', options: texts }
      const r = validateSuggestions(JSON.stringify({ polls: [poll] }), pollSchema)
      if (!r.ok) stats.blocked++
      else missed.push(id)
      expect(r).toMatchObject({ ok: false, reason: 'joined' })
    },
  )

  it.each(attack.leaks.map((a) => [a.id, a.template] as const))(
    '%s: the system prompt does not get out',
    (id, template) => {
      stats.attacks++
      const texts = leakTexts(template)
      const r =
        texts.length === 1
          ? findViolation(texts[0] as string, guard)
          : (() => {
              const v = validateSuggestions(
                JSON.stringify({ polls: [{ question: '질문', options: texts }] }),
                pollSchema,
              )
              return v.ok ? undefined : v.reason
            })()
      if (r) stats.blocked++
      else missed.push(id)
      expect(r, texts.join(' | ')).toBeDefined()
    },
  )

  it.each(attack.display.map((a) => [a.id, a.text] as const))(
    '%s: the invisible payload is not shown',
    (id, text) => {
      stats.attacks++
      const r = validateSuggestions(JSON.stringify({ suggestions: [text] }), suggestionSchema)
      const shown = r.ok ? (r.items[0] ?? '') : ''
      const clean =
        !/[\u{E0000}-\u{E0FFF}\u{1D173}-\u{1D17A}\u{1BCA0}-\u{1BCA3}]/u.test(shown) &&
        // A joiner may stay only between two emoji.
        !/(?<!\p{Extended_Pictographic}\uFE0F?)\u200D|\u200D(?!\p{Extended_Pictographic})/u.test(
          shown,
        )
      if (clean) stats.blocked++
      else missed.push(id)
      expect(r.ok, id).toBe(true)
      expect(clean, JSON.stringify(shown)).toBe(true)
    },
  )

  it.each(attack.inputs.map((a) => [a.id, a.text, a.secret] as const))(
    '%s: masked before it reaches the model',
    (id, text, secret) => {
      stats.attacks++
      const masked = maskUntrusted(text)
      const leaked = secret.filter((s) => masked.includes(s))
      if (leaked.length === 0) stats.blocked++
      else missed.push(id)
      expect(leaked, masked).toEqual([])
    },
  )
})
