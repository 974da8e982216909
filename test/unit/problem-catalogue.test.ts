import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import { PROBLEM_SETS } from '../../routes/index.js'
import {
  defineProblems,
  GatewayError,
  PROBLEM_TYPE_BASE,
  problemDocument,
} from '../../src/errors.js'
import { GATEWAY_PROBLEMS } from '../../src/problems.js'

const ROOT = join(import.meta.dirname, '../..')

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && /\.tsx?$/.test(entry.name))
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)))
}

const SOURCES = [...sources('src'), ...sources('routes'), ...sources('legacy-proxy')]

describe('the problem catalogue', () => {
  const entries = PROBLEM_SETS.flatMap((set) => set.entries)

  it('gives each code one status wherever it is declared', () => {
    const statuses = new Map<string, Set<string>>()
    for (const entry of entries) {
      const all = [entry.status, ...(entry.otherStatuses ?? [])].sort().join('/')
      statuses.set(entry.code, (statuses.get(entry.code) ?? new Set()).add(all))
    }
    const conflicting = [...statuses].filter(([, s]) => s.size > 1).map(([code]) => code)
    expect(conflicting).toEqual([])
  })

  it('has kebab-case codes, a title and a type URI derived from the code', () => {
    expect(entries.length).toBeGreaterThan(100)
    for (const entry of entries) {
      expect(entry.code).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/)
      expect(entry.title.length).toBeGreaterThan(0)
      expect(entry.type).toBe(PROBLEM_TYPE_BASE + entry.code)
      expect(entry.status).toBeGreaterThanOrEqual(400)
      expect(entry.status).toBeLessThan(600)
    }
  })

  it('lists every catalogue the code declares (a feature names its own in defineFeature)', async () => {
    const declared: string[] = []
    for (const file of SOURCES) {
      const text = readFileSync(join(ROOT, file), 'utf8')
      for (const match of text.matchAll(/^export const (\w+) = defineProblems\(/gm)) {
        const module = (await import(join(ROOT, file))) as Record<string, unknown>
        declared.push(`${file}:${match[1]}`)
        expect(PROBLEM_SETS, `${file}: ${match[1]}`).toContain(module[match[1] as string])
      }
    }
    expect(declared.length).toBe(PROBLEM_SETS.length)
  })

  it('is the only way a problem is made: no GatewayError literal outside src/errors.ts', () => {
    const literals = SOURCES.filter((file) => file !== 'src/errors.ts').flatMap((file) =>
      [...readFileSync(join(ROOT, file), 'utf8').matchAll(/new GatewayError\(/g)].map(() => file),
    )
    // The one exception: a library's HTTPException keeps its own status and message.
    expect(literals).toEqual(['src/error-handler.ts'])
  })

  it('renders an entry with what the occurrence adds', () => {
    const error = GATEWAY_PROBLEMS.error('rate-limited', {
      detail: 'At most 5 requests per 60 s on this route',
      headers: { 'ratelimit-limit': '5' },
      retryAfterSeconds: 7,
    })
    expect(error).toBeInstanceOf(GatewayError)
    expect(error.headers).toEqual({ 'ratelimit-limit': '5', 'retry-after': '7' })
    expect(problemDocument(error, 'req-1')).toEqual({
      type: `${PROBLEM_TYPE_BASE}rate-limited`,
      title: 'Too many requests',
      status: 429,
      detail: 'At most 5 requests per 60 s on this route',
      code: 'rate-limited',
      requestId: 'req-1',
    })
  })

  it('names the field at fault with the detail as its message', () => {
    const error = GATEWAY_PROBLEMS.error('bad-request', { detail: 'not JSON', field: '(body)' })
    expect(error.errors).toEqual([{ field: '(body)', message: 'not JSON' }])
  })

  it('refuses a status its entry does not list, and a code that is not kebab-case', () => {
    const set = defineProblems('test', {
      'job-failed': { status: 500, otherStatuses: [503], title: 'A job failed' },
      'ops-reason': { code: 'validation-failed', status: 422, title: 'A reason is required' },
    })
    expect(set.error('job-failed', { status: 503 }).status).toBe(503)
    expect(() => set.error('job-failed', { status: 502 })).toThrow(TypeError)
    expect(set.get('ops-reason').code).toBe('validation-failed')
    expect(() => defineProblems('test', { Bad_Code: { status: 400, title: 'x' } })).toThrow(
      TypeError,
    )
  })
})
