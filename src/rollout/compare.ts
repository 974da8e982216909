/**
 * Comparing what native and legacy answered for the same request: the rules both the parity
 * runner (`npm run parity`) and shadow traffic use, so a difference means the same thing in
 * both places. Runtime-neutral (no Node imports): shadow comparisons run on Workers too.
 *
 * A response is reduced to what a client depends on: the status, the problem `code`, the
 * headers named by the rules and the body after normalisation. Paths use a small JSONPath
 * subset: `$`, `.key`, `[n]`, and `*` for any key or index (`$.items[*].id`, `$.*.createdAt`).
 */

import type { CompareRules } from '../types.js'

export type { CompareRules }

/** Headers a client depends on, always compared (media type only for `content-type`). */
export const DEFAULT_COMPARED_HEADERS = [
  'content-type',
  'idempotent-replayed',
  'retry-after',
  'location',
  'content-disposition',
  'www-authenticate',
] as const

/** Per-request fields of every problem document: never the same twice. */
const ALWAYS_MASKED = ['$.requestId', '$.instance']

/**
 * Human wording of a problem document: clients branch on `code` and the fields named in
 * `errors`, not on sentences, so these are compared by presence and type.
 */
const PROBLEM_TEXT = ['$.title', '$.detail', '$.errors[*].message']

export interface ObservedResponse {
  status: number
  headers: Headers | Record<string, string>
  /** The body text as received (empty when there was none). */
  text: string
}

export interface NormalisedResponse {
  status: number
  /** `code` of a problem+json body, else undefined. */
  code: string | undefined
  headers: Record<string, string | null>
  /** Parsed and normalised JSON, or `{ text }` reduced to its length class for other bodies. */
  body: unknown
}

export interface Difference {
  /** `status`, `code`, `header:<name>` or `body:<path>`. */
  field: string
  native: string
  legacy: string
}

type Segment = string | number

function parsePath(path: string): Segment[] {
  if (!path.startsWith('$')) throw new Error(`a path starts with $: ${path}`)
  const segments: Segment[] = []
  const re = /\.([^.[\]]+)|\[(\d+|\*)\]/g
  const rest = path.slice(1)
  let match: RegExpExecArray | null
  let consumed = 0
  // biome-ignore lint/suspicious/noAssignInExpressions: the usual exec loop
  while ((match = re.exec(rest)) !== null) {
    if (match.index !== consumed) throw new Error(`cannot read path ${path}`)
    consumed = re.lastIndex
    const key = match[1] ?? match[2] ?? ''
    segments.push(/^\d+$/.test(key) && match[2] !== undefined ? Number(key) : key)
  }
  if (consumed !== rest.length) throw new Error(`cannot read path ${path}`)
  return segments
}

/** Check every path of a rule set; throws naming the first bad one. */
export function checkRules(rules: CompareRules): void {
  for (const path of [...(rules.mask ?? []), ...(rules.ignore ?? []), ...(rules.shape ?? [])]) {
    parsePath(path)
  }
}

const typeToken = (value: unknown): string =>
  value === null ? '<null>' : Array.isArray(value) ? '<array>' : `<${typeof value}>`

function shapeOf(value: unknown): unknown {
  if (Array.isArray(value)) {
    // A list's shape is the set of its items' shapes: its length may differ.
    const shapes = new Map<string, unknown>()
    for (const item of value) {
      const shape = shapeOf(item)
      shapes.set(JSON.stringify(shape), shape)
    }
    return [...shapes.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, s]) => s)
  }
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const key of Object.keys(value).sort()) {
      out[key] = shapeOf((value as Record<string, unknown>)[key])
    }
    return out
  }
  return typeToken(value)
}

const REMOVE = Symbol('remove')

/** Apply `transform` at every node matched by `segments` (in place on a copy). */
function applyAt(
  node: unknown,
  segments: readonly Segment[],
  transform: (value: unknown) => unknown,
): unknown {
  if (segments.length === 0) return transform(node)
  if (!node || typeof node !== 'object') return node
  const [head, ...rest] = segments as [Segment, ...Segment[]]
  if (Array.isArray(node)) {
    const indexes = head === '*' ? node.keys() : typeof head === 'number' ? [head] : []
    for (const i of indexes) {
      if (i >= node.length) continue
      node[i] = applyAt(node[i], rest, transform)
    }
    const kept = node.filter((v) => v !== REMOVE)
    node.length = 0
    node.push(...kept)
    return node
  }
  const record = node as Record<string, unknown>
  const keys = head === '*' ? Object.keys(record) : [String(head)]
  for (const key of keys) {
    if (!(key in record)) continue
    const next = applyAt(record[key], rest, transform)
    if (next === REMOVE) delete record[key]
    else record[key] = next
  }
  return record
}

/** The body with the rules applied: ignored paths removed, masked ones typed, shaped ones shaped. */
export function normaliseBody(body: unknown, rules: CompareRules): unknown {
  let copy = structuredClone(body)
  for (const path of rules.ignore ?? []) copy = applyAt(copy, parsePath(path), () => REMOVE)
  for (const path of [...ALWAYS_MASKED, ...(rules.mask ?? [])]) {
    copy = applyAt(copy, parsePath(path), typeToken)
  }
  for (const path of rules.shape ?? []) copy = applyAt(copy, parsePath(path), shapeOf)
  return copy
}

function headerOf(headers: ObservedResponse['headers'], name: string): string | null {
  if (headers instanceof Headers) return headers.get(name)
  const found = Object.entries(headers).find(([key]) => key.toLowerCase() === name)
  return found ? found[1] : null
}

function parseBody(text: string, contentType: string | null): unknown {
  if (text === '') return null
  if (contentType && /json/i.test(contentType)) {
    try {
      return JSON.parse(text)
    } catch {
      return { unparsableJson: true }
    }
  }
  // Not JSON (CSV, PDF, HTML): compared by presence only; the content type is compared apart.
  return { text: '<non-json body>' }
}

/** Reduce a response to what a client depends on, with the rules applied. */
export function normaliseResponse(
  response: ObservedResponse,
  rules: CompareRules = {},
): NormalisedResponse {
  const contentType = headerOf(response.headers, 'content-type')
  const parsed = parseBody(response.text, contentType)
  const problem =
    contentType?.startsWith('application/problem+json') &&
    parsed &&
    typeof parsed === 'object' &&
    typeof (parsed as { code?: unknown }).code === 'string'
      ? (parsed as { code: string }).code
      : undefined
  const headers: Record<string, string | null> = {}
  for (const name of new Set([...DEFAULT_COMPARED_HEADERS, ...(rules.headers ?? [])])) {
    const value = headerOf(response.headers, name.toLowerCase())
    headers[name] =
      name === 'content-type' && value !== null
        ? (value.split(';')[0] ?? '').trim().toLowerCase()
        : value
  }
  const effective =
    problem === undefined ? rules : { ...rules, mask: [...PROBLEM_TEXT, ...(rules.mask ?? [])] }
  return { status: response.status, code: problem, headers, body: normaliseBody(parsed, effective) }
}

const show = (value: unknown): string => {
  if (value === undefined || value === null) return '(absent)'
  const text = typeof value === 'string' ? value : JSON.stringify(value)
  return text.length > 120 ? `${text.slice(0, 117)}...` : text
}

function diffValues(path: string, native: unknown, legacy: unknown, out: Difference[]): void {
  if (out.length >= 50) return
  if (native && legacy && typeof native === 'object' && typeof legacy === 'object') {
    if (Array.isArray(native) !== Array.isArray(legacy)) {
      out.push({ field: `body:${path}`, native: typeToken(native), legacy: typeToken(legacy) })
      return
    }
    if (Array.isArray(native) && Array.isArray(legacy)) {
      if (native.length !== legacy.length) {
        out.push({
          field: `body:${path}.length`,
          native: String(native.length),
          legacy: String(legacy.length),
        })
      }
      for (let i = 0; i < Math.min(native.length, legacy.length); i++) {
        diffValues(`${path}[${i}]`, native[i], legacy[i], out)
      }
      return
    }
    const a = native as Record<string, unknown>
    const b = legacy as Record<string, unknown>
    for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      diffValues(`${path}.${key}`, a[key], b[key], out)
    }
    return
  }
  if (JSON.stringify(native) !== JSON.stringify(legacy)) {
    const text = (v: unknown) => (v === null ? 'null' : show(v))
    out.push({ field: `body:${path}`, native: text(native), legacy: text(legacy) })
  }
}

/** Every difference between two normalised responses; empty when a client could not tell. */
export function diffResponses(
  native: NormalisedResponse,
  legacy: NormalisedResponse,
): Difference[] {
  const out: Difference[] = []
  if (native.status !== legacy.status) {
    out.push({ field: 'status', native: String(native.status), legacy: String(legacy.status) })
  }
  if (native.code !== legacy.code) {
    out.push({ field: 'code', native: show(native.code), legacy: show(legacy.code) })
  }
  for (const name of new Set([...Object.keys(native.headers), ...Object.keys(legacy.headers)])) {
    const a = native.headers[name] ?? null
    const b = legacy.headers[name] ?? null
    if (a !== b) out.push({ field: `header:${name}`, native: show(a), legacy: show(b) })
  }
  diffValues('$', native.body, legacy.body, out)
  return out
}
