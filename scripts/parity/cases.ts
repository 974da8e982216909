/**
 * Parity case files: `test/parity/<route>/*.json`, one or more per route. The format is
 * documented with a complete example in `test/parity/README.md`.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { z } from 'zod'
import { checkRules } from '../../src/rollout/compare.js'

export const AUTH_KINDS = ['user', 'other-user', 'ops', 'service', 'none', 'invalid'] as const
export type AuthKind = (typeof AUTH_KINDS)[number]

const Rules = z.strictObject({
  mask: z.array(z.string()).optional(),
  ignore: z.array(z.string()).optional(),
  shape: z.array(z.string()).optional(),
  headers: z.array(z.string().regex(/^[a-z0-9-]+$/, 'a lower-case header name')).optional(),
})

const Case = z.strictObject({
  name: z.string().min(1).max(200),
  auth: z.enum(AUTH_KINDS).default('user'),
  /** Name of a hook exported by `hooks.ts` beside the case file; runs before each backend's run. */
  setup: z.string().min(1).optional(),
  request: z.strictObject({
    method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']).default('POST'),
    path: z
      .string()
      .regex(/^\/(functions|api)\/v1\//, 'a gateway path (/functions/v1/... or /api/v1/...)'),
    headers: z.record(z.string(), z.string()).default({}),
    /** A JSON body (sent with content-type application/json unless headers say otherwise). */
    json: z.unknown().optional(),
    /** A raw body, sent as is. */
    body: z.string().optional(),
  }),
  /** Send the same request this many times per backend (idempotent repeats); each answer is compared. */
  repeat: z.number().int().min(1).max(5).default(1),
  rules: Rules.optional(),
  /** What native must answer, so two equal failures do not pass as parity. One per repeat. */
  expect: z.strictObject({ status: z.array(z.number().int().min(100).max(599)).min(1) }),
})

export const CaseFile = z.strictObject({
  $comment: z.string().optional(),
  route: z.string().regex(/^[a-z0-9_-]{1,64}$/),
  rules: Rules.default({}),
  cases: z.array(Case).min(1),
})

export type ParityCase = z.output<typeof Case>
export type ParityCaseFile = z.output<typeof CaseFile> & { file: string }

/** What the harness offers setup hooks: CI passes its stand-ins, the CLI a database when it has one. */
export interface ParityServices {
  /** Superuser SQL on the database both backends use. */
  sql?: (text: string, params?: unknown[]) => Promise<Record<string, unknown>[]>
  [name: string]: unknown
}

export interface HookContext {
  backend: 'native' | 'legacy'
  /** Variables already known (`run`, `uuid`, `userId`...). */
  vars: Readonly<Record<string, string>>
  services: ParityServices
}

/** Seeds what a case needs and returns variables for its `{{...}}` placeholders. */
export type ParityHook = (ctx: HookContext) => Promise<Record<string, string>>

export const DEFAULT_CASES_DIR = 'test/parity'

/** Route ids that have a case directory with at least one JSON case file. */
export function routesWithCases(dir = DEFAULT_CASES_DIR): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .filter((entry) => readdirSync(join(dir, entry.name)).some((f) => f.endsWith('.json')))
    .map((entry) => entry.name)
    .sort()
}

/** Read and check one case file; throws naming the file and the field at fault. */
export function loadCaseFile(file: string): ParityCaseFile {
  let raw: unknown
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'))
  } catch (error) {
    throw new Error(`${file}: not JSON (${(error as Error).message})`)
  }
  const parsed = CaseFile.safeParse(raw)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new Error(`${file}: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`)
  }
  try {
    checkRules(parsed.data.rules)
    for (const c of parsed.data.cases) if (c.rules) checkRules(c.rules)
  } catch (error) {
    throw new Error(`${file}: ${(error as Error).message}`)
  }
  for (const c of parsed.data.cases) {
    if (c.expect.status.length !== c.repeat) {
      throw new Error(`${file}: case "${c.name}": expect.status needs one status per repeat`)
    }
  }
  return { ...parsed.data, file }
}

/** Every case file of a route (`<dir>/<route>/*.json`), or the one file given. */
export function loadRouteCases(route: string, options: { dir?: string; file?: string } = {}) {
  const files = options.file
    ? [options.file]
    : readdirSync(join(options.dir ?? DEFAULT_CASES_DIR, route))
        .filter((f) => f.endsWith('.json'))
        .sort()
        .map((f) => join(options.dir ?? DEFAULT_CASES_DIR, route, f))
  const loaded = files.map(loadCaseFile)
  for (const file of loaded) {
    if (file.route !== route) throw new Error(`${file.file}: route is ${file.route}, not ${route}`)
  }
  return loaded
}

/** The route's hooks (`hooks.ts` beside its cases), or none. */
export async function loadHooks(
  route: string,
  dir = DEFAULT_CASES_DIR,
): Promise<Record<string, ParityHook>> {
  const file = resolve(dir, route, 'hooks.ts')
  if (!existsSync(file)) return {}
  const module = (await import(pathToFileURL(file).href)) as { hooks?: Record<string, ParityHook> }
  return module.hooks ?? {}
}
