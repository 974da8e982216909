import { describe, expect, it } from 'vitest'
import { ROUTE_IDS } from '../../routes/index.js'
import {
  compileFlags,
  FlagsError,
  flagsFromText,
  flagsToDocument,
} from '../../src/rollout/flags.js'

const rules = {
  knownRoutes: ROUTE_IDS,
  nativeRoutes: new Set(['payment-checkout', 'refund-process']),
}

function problemsOf(doc: unknown): string[] {
  try {
    compileFlags(doc, rules, 'flags.json', 'v')
  } catch (error) {
    expect(error).toBeInstanceOf(FlagsError)
    return (error as FlagsError).problems
  }
  throw new Error('expected the flags to be refused')
}

describe('flags.json validation', () => {
  it('compiles a valid table with groups into basis points', () => {
    const table = compileFlags(
      {
        routes: {
          'payment-checkout': { native: 12.34, group: 'payments' },
          'refund-process': { native: 0 },
        },
      },
      rules,
      'flags.json',
      'v1',
    )
    expect(table.routes.get('payment-checkout')).toMatchObject({
      basisPoints: 1234,
      scope: 'payments',
    })
    expect(table.routes.get('refund-process')).toMatchObject({
      basisPoints: 0,
      scope: 'refund-process',
    })
    expect(flagsToDocument(table).routes['payment-checkout']).toEqual({
      native: 12.34,
      group: 'payments',
    })
  })

  it('names an unknown route id', () => {
    expect(problemsOf({ routes: { 'payment-chekout': { native: 0 } } })).toEqual([
      'routes.payment-chekout: unknown route id (see the route table)',
    ])
  })

  it('refuses native > 0 for a stay-legacy route, naming route and field', () => {
    expect(problemsOf({ routes: { 'payment-confirm': { native: 10 } } })).toEqual([
      'routes.payment-confirm.native: must be 0, the route has no native handler',
    ])
  })

  it('refuses native > 0 for a route without a native handler', () => {
    expect(problemsOf({ routes: { 'payout-calculate': { native: 1 } } })[0]).toContain(
      'routes.payout-calculate.native',
    )
  })

  it.each([
    [{ native: 101 }, 'routes.payment-checkout.native: must be from 0 to 100'],
    [{ native: -1 }, 'routes.payment-checkout.native: must be from 0 to 100'],
    [{ native: 10.001 }, 'routes.payment-checkout.native: must be in steps of 0.01'],
    [{ native: '10' }, 'routes.payment-checkout.native: must be a number from 0 to 100'],
    [{ native: 10, grop: 'x' }, 'routes.payment-checkout: Unrecognized key: "grop"'],
    [
      { native: 10, group: 'Pay Ments' },
      'routes.payment-checkout.group: must be [a-z0-9_-], 1 to 64 characters',
    ],
  ])('names the field at fault for %j', (flag, message) => {
    expect(problemsOf({ routes: { 'payment-checkout': flag } })).toContain(message)
  })

  it('refuses a document without routes', () => {
    expect(problemsOf({ route: {} })[0]).toMatch(/^(routes|\(root\))/)
  })

  it('refuses text that is not JSON, naming the source', async () => {
    await expect(flagsFromText('{ "routes": ', rules, 'file:flags.json')).rejects.toThrow(
      /^file:flags.json: not valid JSON/,
    )
  })

  it('versions a table by its content', async () => {
    const a = await flagsFromText('{"routes":{}}', rules, 'f')
    const b = await flagsFromText('{"routes":{"payment-checkout":{"native":1}}}', rules, 'f')
    expect(a.version).not.toBe(b.version)
  })

  it('accepts the repository flags.json', async () => {
    const { readFile } = await import('node:fs/promises')
    const text = await readFile('flags.json', 'utf8')
    const table = await flagsFromText(
      text,
      { knownRoutes: ROUTE_IDS, nativeRoutes: new Set() },
      'flags.json',
    )
    expect(table.routes.size).toBeGreaterThan(0)
  })
})
