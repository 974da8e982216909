import { describe, expect, it } from 'vitest'
import { diffResponses, normaliseBody, normaliseResponse } from '../../src/rollout/compare.js'

const res = (status: number, body: unknown, headers: Record<string, string> = {}) => ({
  status,
  headers: { 'content-type': 'application/json; charset=UTF-8', ...headers },
  text: JSON.stringify(body),
})

describe('comparing a native and a legacy answer', () => {
  it('masks volatile paths by type, so equal shapes with different ids are the same', () => {
    const rules = { mask: ['$.orderId', '$.items[*].id'] }
    const a = normaliseResponse(res(201, { orderId: 'a1', items: [{ id: 'x', n: 1 }] }), rules)
    const b = normaliseResponse(res(201, { orderId: 'b2', items: [{ id: 'y', n: 1 }] }), rules)
    expect(diffResponses(a, b)).toEqual([])
    const c = normaliseResponse(res(201, { orderId: 7, items: [{ id: 'y', n: 2 }] }), rules)
    expect(diffResponses(a, c).map((d) => d.field)).toEqual(['body:$.items[0].n', 'body:$.orderId'])
  })

  it('names status, problem code and client headers that differ', () => {
    const problem = (code: string, headers: Record<string, string> = {}) => ({
      status: 422,
      headers: { 'content-type': 'application/problem+json', ...headers },
      text: JSON.stringify({ code, title: 'x', detail: code, requestId: code }),
    })
    const a = normaliseResponse(problem('validation-failed', { 'retry-after': '5' }))
    const b = normaliseResponse(problem('bad-request'))
    expect(diffResponses(a, b)).toEqual([
      { field: 'code', native: 'validation-failed', legacy: 'bad-request' },
      { field: 'header:retry-after', native: '5', legacy: '(absent)' },
      { field: 'body:$.code', native: 'validation-failed', legacy: 'bad-request' },
    ])
    const c = normaliseResponse({ ...problem('validation-failed'), status: 400 })
    expect(diffResponses(normaliseResponse(problem('validation-failed')), c)).toEqual([
      { field: 'status', native: '422', legacy: '400' },
    ])
  })

  it('compares problem wording by presence, but the fields at fault by value', () => {
    const doc = (field: string, message: string) => ({
      status: 422,
      headers: { 'content-type': 'application/problem+json' },
      text: JSON.stringify({ code: 'v', title: message, errors: [{ field, message }] }),
    })
    expect(
      diffResponses(normaliseResponse(doc('items', 'a')), normaliseResponse(doc('items', 'b'))),
    ).toEqual([])
    expect(
      diffResponses(normaliseResponse(doc('items', 'a')), normaliseResponse(doc('count', 'a'))),
    ).toEqual([{ field: 'body:$.errors[0].field', native: 'items', legacy: 'count' }])
  })

  it('shape rules compare keys and types, not values or lengths; ignore removes a path', () => {
    const body = (texts: string[], extra: unknown) => ({ suggestions: texts, debug: extra })
    const rules = { shape: ['$.suggestions'], ignore: ['$.debug'] }
    expect(normaliseBody(body(['a', 'b', 'c'], 1), rules)).toEqual({ suggestions: ['<string>'] })
    expect(normaliseBody(body(['x'], 'y'), rules)).toEqual({ suggestions: ['<string>'] })
    expect(normaliseBody(body([1 as unknown as string], 'y'), rules)).toEqual({
      suggestions: ['<number>'],
    })
  })

  it('rejects a path it cannot read', () => {
    expect(() => normaliseBody({}, { mask: ['orderId'] })).toThrow(/starts with \$/)
    expect(() => normaliseBody({}, { mask: ['$.a[x]'] })).toThrow(/cannot read/)
  })
})
