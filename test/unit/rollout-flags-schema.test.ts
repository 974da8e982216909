import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { FlagsFileSchema, RollbackSettingsSchema } from '../../src/rollout/flags.js'

/**
 * `flags.schema.json` (for editors) and the zod schema (for the gateway) must agree. No JSON
 * Schema library is installed, so this walks the keywords the schema uses.
 */

type Schema = Record<string, unknown>
const root = JSON.parse(
  readFileSync(new URL('../../flags.schema.json', import.meta.url), 'utf8'),
) as Schema

function resolve(s: Schema): Schema {
  const ref = s.$ref as string | undefined
  if (!ref) return s
  return ref
    .replace(/^#\//, '')
    .split('/')
    .reduce<Schema>((node, key) => node[key] as Schema, root)
}

function typeOk(type: string, v: unknown): boolean {
  if (type === 'object') return typeof v === 'object' && v !== null && !Array.isArray(v)
  if (type === 'integer') return Number.isInteger(v)
  return typeof v === type
}

/** The subset of draft 2020-12 used by flags.schema.json. */
function valid(schemaIn: Schema, v: unknown): boolean {
  const s = resolve(schemaIn)
  if (s.type && !typeOk(s.type as string, v)) return false
  if (typeof v === 'number') {
    if (s.minimum !== undefined && v < (s.minimum as number)) return false
    if (s.maximum !== undefined && v > (s.maximum as number)) return false
    if (s.multipleOf !== undefined) {
      const q = v / (s.multipleOf as number)
      if (Math.abs(q - Math.round(q)) > 1e-7) return false
    }
  }
  if (typeof v === 'string' && s.pattern && !new RegExp(s.pattern as string, 'u').test(v))
    return false
  if (typeOk('object', v) && s.type === 'object') {
    const obj = v as Record<string, unknown>
    for (const key of (s.required as string[] | undefined) ?? []) if (!(key in obj)) return false
    const props = (s.properties as Record<string, Schema> | undefined) ?? {}
    for (const [key, value] of Object.entries(obj)) {
      const names = s.propertyNames as Schema | undefined
      if (names && !valid(names, key)) return false
      if (props[key]) {
        if (!valid(props[key], value)) return false
      } else if (s.additionalProperties === false) {
        return false
      } else if (
        typeof s.additionalProperties === 'object' &&
        !valid(s.additionalProperties as Schema, value)
      ) {
        return false
      }
    }
  }
  return true
}

const good: unknown[] = [
  { routes: {} },
  {
    $schema: './flags.schema.json',
    routes: { 'payment-checkout': { native: 10, group: 'payments' } },
  },
  { routes: { 'ai-reply-suggest': { native: 12.34 } } },
  { routes: { 'ai-reply-suggest': { native: 0.07 } } },
  { routes: { 'ai-reply-suggest': { native: 100, rollback: {} } } },
  {
    routes: {
      'ai-reply-suggest': {
        native: 50,
        rollback: {
          enabled: false,
          errorRateRatio: 1.5,
          minErrorRate: 0,
          latencyRatio: 2,
          minLatencyMs: 100,
          windowSeconds: 30,
          minSamples: 20,
          cooldownSeconds: 60,
        },
      },
    },
  },
]

const bad: unknown[] = [
  {},
  [],
  { routes: [] },
  { routes: {}, extra: 1 },
  { routes: { 'payment-checkout': {} } },
  { routes: { 'payment-checkout': { native: -1 } } },
  { routes: { 'payment-checkout': { native: 100.5 } } },
  { routes: { 'payment-checkout': { native: 10.001 } } },
  { routes: { 'payment-checkout': { native: '10' } } },
  { routes: { 'payment-checkout': { native: 10, group: 'Payments' } } },
  { routes: { 'payment-checkout': { native: 10, colour: 'blue' } } },
  { routes: { 'payment-checkout': { native: 10, rollback: { errorRateRatio: 0.5 } } } },
  { routes: { 'payment-checkout': { native: 10, rollback: { minErrorRate: 2 } } } },
  { routes: { 'payment-checkout': { native: 10, rollback: { windowSeconds: 5 } } } },
  { routes: { 'payment-checkout': { native: 10, rollback: { minSamples: 1.5 } } } },
  { routes: { 'payment-checkout': { native: 10, rollback: { cooldownSeconds: 100_000 } } } },
  { routes: { 'payment-checkout': { native: 10, rollback: { enabled: 'yes' } } } },
  { routes: { 'payment-checkout': { native: 10, rollback: { sometimes: true } } } },
]

describe('flags.schema.json and the zod schema', () => {
  it.each(good)('both accept %j', (doc) => {
    expect(FlagsFileSchema.safeParse(doc).success).toBe(true)
    expect(valid(root, doc)).toBe(true)
  })

  it.each(bad)('both refuse %j', (doc) => {
    expect(FlagsFileSchema.safeParse(doc).success).toBe(false)
    expect(valid(root, doc)).toBe(false)
  })

  it('names the same rollback settings with the same defaults and bounds', () => {
    const rollback = resolve({ $ref: '#/$defs/rollback' }).properties as Record<string, Schema>
    const defaults = RollbackSettingsSchema.parse({}) as Record<string, unknown>
    expect(Object.keys(rollback).sort()).toEqual(Object.keys(RollbackSettingsSchema.shape).sort())
    for (const [name, s] of Object.entries(rollback)) {
      expect(s.default, name).toEqual(defaults[name])
      if (s.minimum !== undefined) {
        const below = { ...defaults, [name]: (s.minimum as number) - 1 }
        expect(RollbackSettingsSchema.safeParse(below).success, `${name} below minimum`).toBe(false)
      }
      if (s.maximum !== undefined) {
        const above = { ...defaults, [name]: (s.maximum as number) + 1 }
        expect(RollbackSettingsSchema.safeParse(above).success, `${name} above maximum`).toBe(false)
      }
    }
  })

  it('is what flags.json points editors to', () => {
    const flags = JSON.parse(
      readFileSync(new URL('../../flags.json', import.meta.url), 'utf8'),
    ) as Schema
    expect(flags.$schema).toBe('./flags.schema.json')
    expect(valid(root, flags)).toBe(true)
  })
})
