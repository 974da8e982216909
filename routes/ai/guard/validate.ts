import type { z } from 'zod'
import { cleanForDisplay } from '../../../src/observability/normalise.js'
import {
  findJoinedViolation,
  findViolation,
  type LeakGuard,
  type Violation,
} from './output-rules.js'
import { parseModelJson } from './parse-json.js'

export interface SuggestionSchema<T> {
  /** Property of the answer object holding the list (a bare array is accepted too). */
  key: string
  /** Schema of one item: shape and length limits. */
  item: z.ZodType<T>
  /** Every user-visible string of an item, each checked against the output rules. */
  texts: (item: T) => string[]
  /** Fewer valid items than this is a failure (the caller falls back). */
  min: number
  /** Extra valid items beyond this are dropped. */
  max: number
  /** Prompt the output must not leak. */
  guard?: LeakGuard
}

/** Why one item was dropped during repair (`index` -1: the items together, see `joined`). */
export interface DroppedItem {
  index: number
  reason: Violation | 'schema' | 'duplicate'
}

export type SuggestionResult<T> =
  | { ok: true; items: T[]; dropped: DroppedItem[] }
  | {
      ok: false
      /** `joined`: the kept items together break a rule (a link or number split across them). */
      reason: 'unparseable' | 'wrong-shape' | 'too-few' | 'joined'
      dropped: DroppedItem[]
    }

/** Apply `fn` to every string in a JSON value, so checked and returned text are the same text. */
function mapStrings(value: unknown, fn: (s: string) => string): unknown {
  if (typeof value === 'string') return fn(value)
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, fn))
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapStrings(v, fn)]))
  }
  return value
}

/**
 * Parse and validate a model's suggestions, repairing what can be repaired: items that break the
 * schema or an output rule (links, contact data, prompt echo, …) are dropped and the good ones
 * kept; then the kept items are checked together (`findJoinedViolation`), and a leak split
 * across them fails the whole answer. Each string is checked in its normalised views and
 * returned as shown to the user (`cleanForDisplay`: invisible characters removed, emoji
 * sequences intact).
 *
 * @example
 * const result = validateSuggestions(text, {
 *   key: 'suggestions', item: z.string().min(1).max(300), texts: (s) => [s],
 *   min: 1, max: 3, guard: { system, canary },
 * })
 * if (!result.ok) useTheFallback(result.reason)
 */
export function validateSuggestions<T>(
  raw: string,
  schema: SuggestionSchema<T>,
): SuggestionResult<T> {
  const parsed = parseModelJson(raw)
  if (parsed === undefined) return { ok: false, reason: 'unparseable', dropped: [] }
  const list = Array.isArray(parsed)
    ? parsed
    : (parsed as Record<string, unknown> | null)?.[schema.key]
  if (!Array.isArray(list)) return { ok: false, reason: 'wrong-shape', dropped: [] }

  const items: T[] = []
  const dropped: DroppedItem[] = []
  const seen = new Set<string>()
  for (const [index, candidate] of list.entries()) {
    const cleaned = mapStrings(candidate, (s) => cleanForDisplay(s).trim())
    const item = schema.item.safeParse(cleaned)
    if (!item.success) {
      dropped.push({ index, reason: 'schema' })
      continue
    }
    const texts = schema.texts(item.data)
    const violation = texts.map((text) => findViolation(text, schema.guard)).find(Boolean)
    if (violation) {
      dropped.push({ index, reason: violation })
      continue
    }
    const key = texts.join('\u0000').toLowerCase()
    if (seen.has(key)) {
      dropped.push({ index, reason: 'duplicate' })
      continue
    }
    seen.add(key)
    if (items.length < schema.max) items.push(item.data)
  }
  if (items.length < schema.min) return { ok: false, reason: 'too-few', dropped }
  const joined = findJoinedViolation(items.flatMap(schema.texts), schema.guard)
  if (joined) {
    dropped.push({ index: -1, reason: joined })
    return { ok: false, reason: 'joined', dropped }
  }
  return { ok: true, items, dropped }
}
