import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { errorHandler } from '../../src/error-handler.js'
import { parseInput, readJson, validJson, validQuery } from '../../src/kit/request.js'
import { createLogger } from '../../src/observability/log.js'
import type { AppEnv } from '../../src/types.js'

// The request kit in front of an in-process Hono app with the gateway's own error handler:
// the same mistake gets the same problem whichever way the input is read.

const Body = z.object({ name: z.string().min(1), count: z.number().int() }).strict()
const Query = z.object({ limit: z.coerce.number().int().min(1).max(10) }).strict()

function app() {
  const a = new Hono<AppEnv>()
  a.onError(errorHandler(createLogger({ level: 'error', write: () => {} })))
  a.post('/json', async (c) => c.json(await validJson(c, Body)))
  a.post('/optional', async (c) =>
    c.json(parseInput(Body.partial(), await readJson(c, { empty: {} }))),
  )
  a.post('/named', async (c) =>
    c.json(parseInput(Body, await readJson(c), { unknownMember: 'unknown member' })),
  )
  a.get('/query', async (c) => c.json(await validQuery(c, Query)))
  a.get('/query-named', async (c) =>
    c.json(await validQuery(c, Query, { unknownMember: 'not a parameter of this resource' })),
  )
  return a
}

const post = (path: string, body: string) =>
  app().request(path, { method: 'POST', body, headers: { 'content-type': 'application/json' } })

async function problem(res: Response) {
  expect(res.headers.get('content-type')).toBe('application/problem+json')
  return (await res.json()) as {
    code: string
    status: number
    errors: Array<{ field: string; message: string }>
  }
}

describe('request kit', () => {
  it.each(['/json', '/named'])(
    '%s: a body that is not JSON is 400 bad-request naming (body)',
    async (path) => {
      const res = await post(path, '{nope')
      expect(res.status).toBe(400)
      const p = await problem(res)
      expect(p.code).toBe('bad-request')
      expect(p.errors).toEqual([{ field: '(body)', message: 'not valid JSON' }])
    },
  )

  it('an empty body is 400 unless the route says what it stands for', async () => {
    expect((await problem(await post('/json', ''))).code).toBe('bad-request')
    const res = await post('/optional', '  ')
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({})
    const bad = await post('/optional', 'x')
    expect(bad.status).toBe(400)
    expect((await problem(bad)).errors[0]?.field).toBe('(body)')
  })

  it('a field that breaks the schema is 422 validation-failed naming it, in a body and in a query', async () => {
    const body = await problem(await post('/json', '{"name":"","count":1.5}'))
    expect(body.code).toBe('validation-failed')
    expect(body.errors.map((e) => e.field)).toEqual(['name', 'count'])
    const query = await problem(await app().request('/query?limit=11'))
    expect(query.code).toBe('validation-failed')
    expect(query.errors.map((e) => e.field)).toEqual(['query:limit'])
  })

  it('an unknown member is named itself where the route asks for it, its object otherwise', async () => {
    const named = await problem(await post('/named', '{"name":"a","count":1,"colour":"red"}'))
    expect(named.code).toBe('validation-failed')
    expect(named.errors).toEqual([{ field: 'colour', message: 'unknown member' }])
    const plain = await problem(await post('/json', '{"name":"a","count":1,"colour":"red"}'))
    expect(plain.code).toBe('validation-failed')
    expect(plain.errors.map((e) => e.field)).toEqual(['(root)'])
    const query = await problem(await app().request('/query-named?limit=2&sort=asc'))
    expect(query.code).toBe('validation-failed')
    expect(query.errors).toEqual([
      { field: 'query:sort', message: 'not a parameter of this resource' },
    ])
  })
})
