/**
 * The parity runner: each case is sent twice, once forced native and once forced legacy, and
 * the two answers are compared with the rules of `src/rollout/compare.ts`.
 */

import { ROUTES } from '../../routes/index.js'
import {
  type CompareRules,
  type Difference,
  diffResponses,
  type NormalisedResponse,
  normaliseResponse,
} from '../../src/rollout/compare.js'
import type { AuthKind, ParityCase, ParityCaseFile, ParityHook, ParityServices } from './cases.js'

export interface ParityOptions {
  /** Base URL of the gateway, e.g. http://127.0.0.1:8787. */
  gatewayUrl: string
  /**
   * Send the legacy run straight to this functions URL (`https://<ref>.supabase.co/functions/v1`)
   * instead of through the gateway with a forced override.
   */
  legacyUrl?: string
  /** Signed `x-bff-canary` token; without it only a development gateway honours the override. */
  canaryToken?: string
  /** A bearer token per auth kind (`none` and `invalid` need none). */
  tokens: Partial<Record<AuthKind, string>>
  /** Sent as `apikey` on every request (a Supabase project's anon key). */
  apikey?: string
  /** Known to every case's placeholders (`userId`, `otherUserId`...). */
  vars?: Record<string, string>
  hooks?: Record<string, ParityHook>
  services?: ParityServices
  fetch?: typeof fetch
}

export interface ExchangeResult {
  native: NormalisedResponse
  legacy: NormalisedResponse
  differences: Difference[]
  /** Problems that are not differences: native served by legacy, an unexpected status. */
  problems: string[]
}

export interface CaseResult {
  route: string
  file: string
  name: string
  exchanges: ExchangeResult[]
  /** Set when the case could not run (setup failed, no token for its auth kind). */
  error?: string
  ok: boolean
}

const PLACEHOLDER = /\{\{([A-Za-z0-9_:-]+)\}\}/g

function substitute(value: unknown, vars: Record<string, string>, fresh: () => string): unknown {
  if (typeof value === 'string') {
    return value.replace(PLACEHOLDER, (_, name: string) => {
      if (name === 'uuid' || name.startsWith('uuid:')) {
        vars[name] ??= fresh()
        return vars[name] as string
      }
      const found = vars[name]
      if (found === undefined) throw new Error(`no value for placeholder {{${name}}}`)
      return found
    })
  }
  if (Array.isArray(value)) return value.map((v) => substitute(v, vars, fresh))
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, substitute(v, vars, fresh)]),
    )
  }
  return value
}

/** `/api/v1/checkout/x?y` → `checkout` function path `payment-checkout/x?y`, for direct legacy calls. */
export function functionPath(route: string, path: string): string {
  const q = path.indexOf('?')
  const pathname = q === -1 ? path : path.slice(0, q)
  const query = q === -1 ? '' : path.slice(q)
  const prefix = `/functions/v1/${route}`
  if (pathname === prefix || pathname.startsWith(`${prefix}/`)) {
    return `${route}${pathname.slice(prefix.length)}${query}`
  }
  const def = ROUTES.find((r) => r.id === route)
  for (const alias of def?.aliases ?? []) {
    if (pathname === alias || pathname.startsWith(`${alias}/`)) {
      return `${route}${pathname.slice(alias.length)}${query}`
    }
  }
  throw new Error(`${path} is not a path of ${route}`)
}

const mergeRules = (a: CompareRules, b: CompareRules | undefined): CompareRules => ({
  mask: [...(a.mask ?? []), ...(b?.mask ?? [])],
  ignore: [...(a.ignore ?? []), ...(b?.ignore ?? [])],
  shape: [...(a.shape ?? []), ...(b?.shape ?? [])],
  headers: [...(a.headers ?? []), ...(b?.headers ?? [])],
})

interface Sent {
  status: number
  headers: Headers
  text: string
}

async function runBackend(
  backend: 'native' | 'legacy',
  file: ParityCaseFile,
  c: ParityCase,
  opts: ParityOptions,
): Promise<Sent[]> {
  const vars: Record<string, string> = {
    run: crypto.randomUUID().slice(0, 8),
    backend,
    ...opts.vars,
  }
  if (c.setup) {
    const hook = opts.hooks?.[c.setup]
    if (!hook) throw new Error(`setup hook "${c.setup}" is not exported by hooks.ts`)
    Object.assign(vars, await hook({ backend, vars: { ...vars }, services: opts.services ?? {} }))
  }
  const fresh = () => crypto.randomUUID()
  const request = substitute(c.request, vars, fresh) as ParityCase['request']
  const headers = new Headers(request.headers)
  if (opts.apikey && !headers.has('apikey')) headers.set('apikey', opts.apikey)
  if (c.auth === 'invalid') headers.set('authorization', 'Bearer not.a.valid-token')
  else if (c.auth !== 'none') {
    const token = opts.tokens[c.auth]
    if (!token) throw new Error(`no token for auth "${c.auth}"`)
    headers.set('authorization', `Bearer ${token}`)
  }
  let body: string | undefined = request.body
  if (request.json !== undefined) {
    body = JSON.stringify(request.json)
    if (!headers.has('content-type')) headers.set('content-type', 'application/json')
  }
  let url: string
  if (backend === 'legacy' && opts.legacyUrl) {
    url = `${opts.legacyUrl.replace(/\/$/, '')}/${functionPath(file.route, request.path)}`
  } else {
    url = `${opts.gatewayUrl.replace(/\/$/, '')}${request.path}`
    headers.set('x-bff-backend', backend)
    if (opts.canaryToken) headers.set('x-bff-canary', opts.canaryToken)
  }
  const doFetch = opts.fetch ?? fetch
  const sent: Sent[] = []
  for (let i = 0; i < c.repeat; i++) {
    const res = await doFetch(url, { method: request.method, headers, body, redirect: 'manual' })
    sent.push({ status: res.status, headers: res.headers, text: await res.text() })
  }
  return sent
}

/** Run one case against both backends and compare each answer. */
export async function runCase(
  file: ParityCaseFile,
  c: ParityCase,
  opts: ParityOptions,
): Promise<CaseResult> {
  const base = { route: file.route, file: file.file, name: c.name }
  let native: Sent[]
  let legacy: Sent[]
  try {
    native = await runBackend('native', file, c, opts)
    legacy = await runBackend('legacy', file, c, opts)
  } catch (error) {
    return { ...base, exchanges: [], error: (error as Error).message, ok: false }
  }
  // The route's own declared rules (the ones shadow traffic uses), then the file's and the case's.
  const declared = ROUTES.find((r) => r.id === file.route)?.policy.compare ?? {}
  const rules = mergeRules(mergeRules(declared, file.rules), c.rules)
  const exchanges = native.map((n, i): ExchangeResult => {
    const l = legacy[i] as Sent
    const problems: string[] = []
    const servedNative = n.headers.get('x-bff-backend')
    if (servedNative && servedNative !== 'native') {
      problems.push(`the native run was served by ${servedNative}`)
    }
    const servedLegacy = l.headers.get('x-bff-backend')
    if (!opts.legacyUrl && servedLegacy && servedLegacy !== 'legacy') {
      problems.push(`the legacy run was served by ${servedLegacy}`)
    }
    const expected = c.expect.status[i]
    if (n.status !== expected) problems.push(`native answered ${n.status}, expected ${expected}`)
    const a = normaliseResponse(n, rules)
    const b = normaliseResponse(l, rules)
    return { native: a, legacy: b, differences: diffResponses(a, b), problems }
  })
  const ok = exchanges.every((e) => e.differences.length === 0 && e.problems.length === 0)
  return { ...base, exchanges, ok }
}

/** Run every case of the given files, one after another (cases may share seeded data). */
export async function runParity(
  files: readonly ParityCaseFile[],
  opts: ParityOptions,
): Promise<CaseResult[]> {
  const results: CaseResult[] = []
  for (const file of files) {
    for (const c of file.cases) results.push(await runCase(file, c, opts))
  }
  return results
}

const cell = (text: string, width: number) =>
  text.length > width ? `${text.slice(0, width - 1)}…` : text.padEnd(width)

/** One table per case: each compared field with both values and a verdict. */
export function formatResults(results: readonly CaseResult[]): string {
  const lines: string[] = []
  for (const r of results) {
    lines.push(`${r.ok ? 'PASS' : 'FAIL'}  ${r.route} › ${r.name}`)
    if (r.error) {
      lines.push(`      could not run: ${r.error}`, '')
      continue
    }
    lines.push(`      ${cell('field', 28)} ${cell('native', 34)} ${cell('legacy', 34)} verdict`)
    r.exchanges.forEach((e, i) => {
      const prefix = r.exchanges.length > 1 ? `#${i + 1} ` : ''
      const differing = new Map(e.differences.map((d) => [d.field, d]))
      const row = (field: string, a: string, b: string) => {
        lines.push(
          `      ${cell(prefix + field, 28)} ${cell(a, 34)} ${cell(b, 34)} ${differing.has(field) ? 'DIFF' : 'same'}`,
        )
      }
      row('status', String(e.native.status), String(e.legacy.status))
      row('code', e.native.code ?? '-', e.legacy.code ?? '-')
      for (const [name, value] of Object.entries(e.native.headers)) {
        const other = e.legacy.headers[name] ?? null
        if (value === null && other === null) continue
        row(`header:${name}`, value ?? '-', other ?? '-')
      }
      const bodyDiffs = e.differences.filter((d) => d.field.startsWith('body:'))
      if (bodyDiffs.length === 0) row('body', 'normalised', 'normalised')
      for (const d of bodyDiffs) row(d.field, d.native, d.legacy)
      for (const p of e.problems) lines.push(`      ${prefix}problem: ${p}`)
    })
    lines.push('')
  }
  const failed = results.filter((r) => !r.ok).length
  lines.push(`${results.length - failed} of ${results.length} cases at parity`)
  return lines.join('\n')
}
