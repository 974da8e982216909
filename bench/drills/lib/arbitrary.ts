import fc from 'fast-check'

/**
 * fast-check arbitraries from a route's zod schema, through its JSON Schema
 * (`z.toJSONSchema(schema, { io: 'input' })`): valid values, near-valid ones (one field
 * broken: missing, wrong type, one past a bound, off its pattern, an unknown key) and hostile
 * request bodies.
 */

export interface JsonSchema {
  type?: string | string[]
  const?: unknown
  enum?: unknown[]
  oneOf?: JsonSchema[]
  anyOf?: JsonSchema[]
  properties?: Record<string, JsonSchema>
  required?: string[]
  additionalProperties?: boolean | JsonSchema
  items?: JsonSchema
  minItems?: number
  maxItems?: number
  minLength?: number
  maxLength?: number
  pattern?: string
  minimum?: number
  maximum?: number
  exclusiveMinimum?: number
  exclusiveMaximum?: number
  default?: unknown
}

const text = (min: number, max: number) =>
  fc.oneof(
    fc.string({ minLength: min, maxLength: max }),
    fc.string({ unit: 'grapheme', minLength: min, maxLength: max }),
  )

export function valid(s: JsonSchema): fc.Arbitrary<unknown> {
  if (s.const !== undefined) return fc.constant(s.const)
  if (s.enum) return fc.constantFrom(...s.enum)
  const alternatives = s.oneOf ?? s.anyOf
  if (alternatives) return fc.oneof(...alternatives.map(valid))
  const type = Array.isArray(s.type) ? s.type[0] : s.type
  switch (type) {
    case 'string': {
      const min = s.minLength ?? 0
      const max = Math.min(s.maxLength ?? 40, Math.max(min, 80))
      if (s.pattern)
        return fc
          .stringMatching(new RegExp(s.pattern))
          .filter((v) => v.length >= min && v.length <= (s.maxLength ?? Number.POSITIVE_INFINITY))
      return text(min, max)
    }
    case 'integer':
    case 'number': {
      const min =
        s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 1 : -1_000_000)
      const max =
        s.maximum ?? (s.exclusiveMaximum !== undefined ? s.exclusiveMaximum - 1 : 1_000_000_000)
      return type === 'integer'
        ? fc.integer({
            min: Math.max(min, Number.MIN_SAFE_INTEGER),
            max: Math.min(max, Number.MAX_SAFE_INTEGER),
          })
        : fc.double({ min, max, noNaN: true, noDefaultInfinity: true })
    }
    case 'boolean':
      return fc.boolean()
    case 'null':
      return fc.constant(null)
    case 'array': {
      const min = s.minItems ?? 0
      const max = Math.max(min, Math.min(s.maxItems ?? 4, 4))
      return fc.array(s.items ? valid(s.items) : fc.jsonValue({ maxDepth: 1 }), {
        minLength: min,
        maxLength: max,
      })
    }
    case 'object': {
      const props = s.properties ?? {}
      const record: Record<string, fc.Arbitrary<unknown>> = {}
      for (const [k, v] of Object.entries(props)) record[k] = valid(v)
      return fc.record(record, { requiredKeys: (s.required ?? []).filter((k) => k in props) })
    }
    default:
      return fc.jsonValue({ maxDepth: 2 })
  }
}

/** Schemas of the leaves and objects of `s` reachable from the root, with their paths. */
function fields(s: JsonSchema, path: string[] = []): { path: string[]; schema: JsonSchema }[] {
  const out = [{ path, schema: s }]
  for (const [k, v] of Object.entries(s.properties ?? {})) out.push(...fields(v, [...path, k]))
  return out
}

function setAt(value: unknown, path: string[], next: unknown | typeof DROP): unknown {
  if (path.length === 0) return next === DROP ? undefined : next
  const [head, ...rest] = path as [string, ...string[]]
  const obj =
    value && typeof value === 'object' && !Array.isArray(value) ? { ...(value as object) } : {}
  const child = setAt((obj as Record<string, unknown>)[head], rest, next)
  if (rest.length === 0 && next === DROP) delete (obj as Record<string, unknown>)[head]
  else (obj as Record<string, unknown>)[head] = child
  return obj
}

const DROP = Symbol('drop')

/** One way to break a field of schema `f`, chosen by `pick`. */
function broken(f: JsonSchema, pick: number): unknown | typeof DROP {
  const type = Array.isArray(f.type) ? f.type[0] : f.type
  const options: (unknown | typeof DROP)[] = [DROP, null, [], { nested: true }, true]
  if (type === 'string') {
    options.push(12345)
    if (f.maxLength !== undefined) options.push('a'.repeat(f.maxLength + 1))
    if ((f.minLength ?? 0) > 0) options.push('')
    if (f.pattern) options.push('not matching ✗ <script>', ' ')
    if (f.enum || f.const !== undefined) options.push('NOT_ONE_OF_THEM')
  }
  if (type === 'integer' || type === 'number') {
    options.push('12', 1.5, Number.MAX_SAFE_INTEGER * 4, -1)
    if (f.maximum !== undefined) options.push(f.maximum + 1)
    if (f.minimum !== undefined) options.push(f.minimum - 1)
    if (f.exclusiveMinimum !== undefined) options.push(f.exclusiveMinimum)
  }
  if (type === 'array') {
    options.push('not an array')
    if (f.maxItems !== undefined) options.push(Array.from({ length: f.maxItems + 1 }, () => ({})))
    if ((f.minItems ?? 0) > 0) options.push([])
  }
  if (type === 'object') options.push('not an object', { unexpectedKey: 'x' })
  return options[pick % options.length]
}

export function nearValid(s: JsonSchema): fc.Arbitrary<unknown> {
  const all = fields(s)
  return fc.tuple(valid(s), fc.nat(), fc.nat()).map(([value, i, j]) => {
    const f = all[i % all.length] as { path: string[]; schema: JsonSchema }
    if (f.path.length === 0) return setAt(value, ['unexpectedTopLevelKey'], 'x')
    return setAt(value, f.path, broken(f.schema, j))
  })
}

/** Raw request bodies no client should send (the text sent as is). */
export const hostileBody: fc.Arbitrary<{ text: string; contentType: string }> = fc.oneof(
  fc
    .jsonValue()
    .map((v) => ({ text: JSON.stringify(v) ?? 'null', contentType: 'application/json' })),
  fc.string().map((t) => ({ text: t, contentType: 'application/json' })),
  fc
    .constantFrom(
      '{"__proto__":{"isOps":true,"role":"ops"},"constructor":{"prototype":{"x":1}}}',
      `${'['.repeat(20_000)}${']'.repeat(20_000)}`,
      `{"a":"${'\\ud800'.repeat(50)}"}`,
      '{"items":[{"productId":"tee\\u0000","quantity":1}]}',
      '{"a":1,"a":2}',
      '',
      'null',
      '1e999999',
      `{"x":"${'y'.repeat(300_000)}"}`,
    )
    .map((t) => ({ text: t, contentType: 'application/json' })),
  fc.jsonValue().map((v) => ({ text: JSON.stringify(v) ?? '', contentType: 'text/plain' })),
  fc.string().map((t) => ({ text: t, contentType: 'application/x-www-form-urlencoded' })),
)
