import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PROBLEM_SETS, ROUTES } from '../../routes/index.js'
import { buildTestApp } from '../helpers/gateway.js'

// /openapi.json as the app serves it, generated from the route table and the zod schemas the
// native handlers validate with, checked by @redocly/cli's recommended rules.

const run = promisify(execFile)
// biome-ignore lint/suspicious/noExplicitAny: a parsed JSON document, read by path
type Json = Record<string, any>
let doc: Json
let dir: string

beforeAll(async () => {
  const app = buildTestApp('http://127.0.0.1:9/functions/v1', {
    transport: 'fetch',
    extra: { problems: PROBLEM_SETS },
  })
  const res = await app.request('/openapi.json')
  expect(res.status).toBe(200)
  doc = (await res.json()) as Json
  dir = await mkdtemp(join(tmpdir(), 'bff-openapi-'))
})

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true })
})

const op = (path: string, method = 'post') => doc.paths[path]?.[method] as Json

describe('/openapi.json', () => {
  it('passes @redocly/cli lint with no errors', async () => {
    const file = join(dir, 'openapi.json')
    await writeFile(file, JSON.stringify(doc))
    const { stdout } = await run(
      'npx',
      ['--no-install', 'redocly', 'lint', file, '--format', 'json'],
      {
        env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
        maxBuffer: 64 * 1024 * 1024,
      },
    ).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }))
    const report = JSON.parse(stdout.slice(stdout.indexOf('{'))) as {
      totals: { errors: number }
      problems: Array<{ ruleId: string; severity: string; message: string }>
    }
    expect(report.problems.filter((p) => p.severity === 'error')).toEqual([])
    expect(report.totals.errors).toBe(0)
  }, 60_000)

  it('describes a native route with the schemas its handler validates with', () => {
    for (const path of ['/functions/v1/payment-checkout', '/api/v1/checkout']) {
      const checkout = op(path)
      const body = checkout.requestBody.content['application/json'].schema
      expect(body.required).toEqual(['items'])
      expect(body.properties.items).toMatchObject({ minItems: 1, maxItems: 20 })
      expect(body.properties.items.items.properties.quantity).toMatchObject({
        type: 'integer',
        minimum: 1,
        maximum: 99,
      })
      expect(checkout.responses['201'].content['application/json'].schema.required).toEqual(
        expect.arrayContaining(['orderId', 'amount', 'currency']),
      )
      expect(checkout.requestBody.content['application/json'].example).toBeDefined()
      expect(checkout['x-legacy-only']).toBeUndefined()
    }
  })

  it('lists the headers a route reads and writes', () => {
    const refs = (o: Json) => o.parameters.map((p: Json) => p.$ref ?? p.name)
    expect(refs(op('/functions/v1/payment-checkout'))).toEqual(
      expect.arrayContaining([
        '#/components/parameters/IdempotencyKey',
        '#/components/parameters/BackendOverride',
        '#/components/parameters/Canary',
      ]),
    )
    expect(refs(op('/functions/v1/ai-reply-suggest'))).not.toContain(
      '#/components/parameters/IdempotencyKey',
    )
    expect(Object.keys(op('/functions/v1/ai-reply-suggest').responses['200'].headers)).toEqual(
      expect.arrayContaining(['RateLimit-Limit', 'x-ai-quota-remaining', 'X-BFF-Backend']),
    )
    expect(doc.components.parameters.IdempotencyKey.name).toBe('Idempotency-Key')
  })

  it('marks the legacy-only routes, and documents every route of the table', () => {
    const confirm = op('/functions/v1/payment-confirm')
    expect(confirm['x-legacy-only']).toBe(true)
    expect(confirm.description).toMatch(/legacy Edge Function/)
    for (const r of ROUTES) {
      const path = doc.paths[`/functions/v1/${r.id}`] ?? {}
      const documented = Object.keys(doc.paths).some((p) => p.startsWith(`/functions/v1/${r.id}`))
      expect(documented, r.id).toBe(true)
      if (r.stayLegacy) {
        for (const o of Object.values(path) as Json[]) expect(o['x-legacy-only'], r.id).toBe(true)
      }
    }
  })

  it('documents every problem+json answer of a route, from the catalogues', () => {
    const checkout = op('/functions/v1/payment-checkout')
    const problems = (status: string) =>
      Object.keys(checkout.responses[status]?.content['application/problem+json'].examples ?? {})
    expect(problems('422')).toContain('validation-failed')
    expect(problems('400')).toContain('bad-request')
    expect(problems('401')).toEqual(
      expect.arrayContaining(['authentication-required', 'invalid-token']),
    )
    expect(problems('403')).toContain('origin-not-allowed')
    expect(problems('429')).toContain('rate-limited')
    expect(problems('413')).toContain('payload-too-large')
    // The feature's own catalogue (routes/payments/problems.ts), not another feature's.
    const paymentCodes = PROBLEM_SETS.filter((s) => s.scope === 'payments').flatMap((s) =>
      s.entries.map((e) => e.code),
    )
    const all = Object.values(checkout.responses).flatMap((r) =>
      Object.keys((r as Json).content?.['application/problem+json']?.examples ?? {}),
    )
    expect(all).toEqual(expect.arrayContaining(paymentCodes))
    const example =
      checkout.responses['422'].content['application/problem+json'].examples['validation-failed']
    expect(example.$ref).toBe('#/components/examples/validation-failed')
    expect(doc.components.examples['validation-failed'].value).toMatchObject({
      status: 422,
      code: 'validation-failed',
    })
    // A legacy-only route gets the pipeline's problems but none of the native handler's.
    const confirm = op('/functions/v1/payment-confirm')
    expect(confirm.responses['422']).toBeUndefined()
    expect(Object.keys(confirm.responses)).toEqual(expect.arrayContaining(['401', '429', '502']))
    expect(doc.components.schemas.Problem.properties.code.enum).toContain('validation-failed')
  })

  it('documents the query and path parameters of a sub-resource', () => {
    const records = op('/functions/v1/ops-manage/users/{userId}/{section}', 'get')
    const names = records.parameters.map((p: Json) => p.name).filter(Boolean)
    expect(names).toEqual(expect.arrayContaining(['userId', 'section', 'limit', 'cursor']))
  })
})
