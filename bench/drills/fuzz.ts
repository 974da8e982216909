import { randomUUID } from 'node:crypto'
import fc from 'fast-check'
import { z } from 'zod'
import { PollSuggestBody } from '../../routes/ai/poll-suggest.js'
import { ReplySuggestBody } from '../../routes/ai/reply-suggest.js'
import {
  BillingDeletedEvent,
  CompleteBody,
  PledgeBody,
  ReviewBody,
  StudioBody,
} from '../../routes/funding/schemas.js'
import { AuditQuery, QuotaBody, RecordsQuery } from '../../routes/ops/schemas.js'
import {
  CheckoutBody,
  DepositCallbackEvent,
  PaymentStatusChangedEvent,
  RefundBody,
} from '../../routes/payments/schemas.js'
import { CalculateBody, ExportQuery, StatementQuery } from '../../routes/settlement/schemas.js'
import { webhookHeaders } from '../../test/fakes/toss.js'
import { serviceToken, userToken } from '../../test/helpers/tokens.js'
import { hostileBody, type JsonSchema, nearValid, valid } from './lib/arbitrary.js'
import type { DrillUser, KindSummary } from './lib/load.js'
import { type DrillReport, ReportBuilder, runAsScript } from './lib/report.js'
import { type Stage, startStage } from './lib/stage.js'

/**
 * Fuzz (`npm run drills -- fuzz`): property-based requests (fast-check) to every route served
 * natively here, generated from the route's own zod schemas: valid values, near-valid ones (one
 * field missing, of the wrong type, one past a bound or off its pattern, an unknown key) and
 * hostile bodies (random JSON and text, prototype keys, deep nesting, lone surrogates, 300 kB
 * strings, wrong content types). Each request runs alone; the row counts of every table in the
 * database are taken before and after it.
 *
 * Invariants: never a 5xx for client input; every refusal (4xx) is problem+json; no row written
 * on a refusal.
 */

type As = 'user' | 'ops' | 'service' | 'none'

interface RouteFuzz {
  route: string
  /** Label in the report when a route is fuzzed on several paths. */
  label?: string
  method: 'GET' | 'POST'
  path: string | (() => string)
  schema: z.ZodType
  as: As
  /** The input goes in the query string (GET). */
  query?: boolean
  headers?: () => Record<string, string>
  /** Point a valid value at this user's own data (its payment). */
  own?: (value: unknown, user: DrillUser) => unknown
}

const FUZZED: RouteFuzz[] = [
  {
    route: 'payment-checkout',
    method: 'POST',
    path: '/api/v1/checkout',
    schema: CheckoutBody,
    as: 'user',
    headers: () => ({ 'idempotency-key': `fuzz-${randomUUID()}` }),
    own: (v) =>
      v && typeof v === 'object' && Array.isArray((v as { items?: unknown }).items)
        ? {
            items: (v as { items: { quantity: number }[] }).items
              .slice(0, 1)
              .map((i) => ({ ...i, productId: 'tee' })),
          }
        : v,
  },
  {
    route: 'refund-process',
    method: 'POST',
    path: '/api/v1/refunds',
    schema: RefundBody,
    as: 'user',
    headers: () => ({ 'idempotency-key': `fuzz-${randomUUID()}` }),
    own: (v, user) => (v && typeof v === 'object' ? { ...v, paymentKey: user.paymentKey } : v),
  },
  {
    route: 'payment-webhook',
    method: 'POST',
    path: '/api/v1/webhooks/payment',
    schema: z.union([PaymentStatusChangedEvent, DepositCallbackEvent]),
    as: 'none',
    headers: () => webhookHeaders({ transmissionId: `fuzz-${randomUUID()}` }),
  },
  {
    route: 'ai-reply-suggest',
    method: 'POST',
    path: '/api/v1/ai/reply-suggest',
    schema: ReplySuggestBody,
    as: 'user',
  },
  {
    route: 'ai-poll-suggest',
    method: 'POST',
    path: '/api/v1/ai/poll-suggest',
    schema: PollSuggestBody,
    as: 'user',
  },
  {
    route: 'payout-calculate',
    method: 'POST',
    path: '/api/v1/settlement/payout-calculate',
    schema: CalculateBody,
    as: 'ops',
  },
  {
    route: 'payout-statement',
    method: 'GET',
    path: '/api/v1/settlement/statement',
    schema: StatementQuery,
    as: 'ops',
    query: true,
  },
  {
    route: 'settlement-export',
    method: 'GET',
    path: '/api/v1/settlement/export',
    schema: ExportQuery,
    as: 'ops',
    query: true,
  },
  {
    route: 'funding-pledge',
    method: 'POST',
    path: '/api/v1/funding/pledge',
    schema: PledgeBody,
    as: 'user',
  },
  {
    route: 'funding-payment-webhook',
    method: 'POST',
    path: '/api/v1/webhooks/funding-payment',
    schema: z.union([BillingDeletedEvent, PaymentStatusChangedEvent]),
    as: 'none',
    headers: () => webhookHeaders({ transmissionId: `fuzz-${randomUUID()}` }),
  },
  {
    route: 'campaign-complete',
    method: 'POST',
    path: '/api/v1/funding/campaign-complete',
    schema: CompleteBody,
    as: 'service',
  },
  {
    route: 'funding-admin-review',
    method: 'POST',
    path: '/api/v1/funding/admin-review',
    schema: ReviewBody,
    as: 'ops',
  },
  {
    route: 'funding-studio-submit',
    method: 'POST',
    path: '/api/v1/funding/studio-submit',
    schema: StudioBody,
    as: 'user',
  },
  {
    route: 'ops-manage',
    method: 'GET',
    label: 'ops-manage audit',
    path: '/api/v1/ops/audit',
    schema: AuditQuery,
    as: 'ops',
    query: true,
  },
  {
    route: 'ops-manage',
    method: 'GET',
    label: 'ops-manage records',
    path: () => `/api/v1/ops/users/${randomUUID()}/orders`,
    schema: RecordsQuery,
    as: 'ops',
    query: true,
  },
  {
    route: 'ops-manage',
    method: 'POST',
    label: 'ops-manage ai-quota',
    path: () => `/api/v1/ops/users/${randomUUID()}/ai-quota`,
    schema: QuotaBody,
    as: 'ops',
  },
]

export const FUZZED_ROUTES = [...new Set(FUZZED.map((f) => f.route))]

/** Row counts of every table of the `public` schema, in one statement. */
async function rowCounts(stage: Stage): Promise<() => Promise<Record<string, number>>> {
  const tables = await stage.sql<{ t: string }>(
    `select table_name as t from information_schema.tables
      where table_schema = 'public' and table_type = 'BASE TABLE' order by 1`,
  )
  const text = tables
    .map(({ t }) => `select '${t}' as t, count(*)::int as n from public."${t}"`)
    .join(' union all ')
  return async () =>
    Object.fromEntries((await stage.sql<{ t: string; n: number }>(text)).map((r) => [r.t, r.n]))
}

function toQuery(value: unknown): string {
  if (!value || typeof value !== 'object' || Array.isArray(value))
    return `?q=${encodeURIComponent(JSON.stringify(value) ?? '')}`
  const params = new URLSearchParams()
  for (const [k, v] of Object.entries(value))
    if (v !== undefined) params.append(k, typeof v === 'string' ? v : JSON.stringify(v))
  const s = params.toString()
  return s ? `?${s}` : ''
}

export interface FuzzOptions {
  /** Requests per route and class (valid, near-valid, hostile). */
  runs?: number
  seed?: number
}

export async function fuzzDrill({ runs = 40, seed = 20 }: FuzzOptions = {}): Promise<DrillReport> {
  const r = new ReportBuilder('fuzz')
  const stage = await startStage({ users: 200, nativeRoutes: FUZZED_ROUTES })
  try {
    const counts = await rowCounts(stage)
    const ops = await userToken(randomUUID(), { app_metadata: { role: 'ops' } })
    const service = await serviceToken()
    let n = 0
    const failures: string[] = []
    const rowsOnRefusal: string[] = []
    const notProblem: string[] = []
    const load: Record<string, KindSummary> = {}

    for (const spec of FUZZED) {
      const schema = z.toJSONSchema(spec.schema, {
        io: 'input',
        unrepresentable: 'any',
      }) as JsonSchema
      const classes: [
        string,
        fc.Arbitrary<{ text: string; contentType: string; value?: unknown }>,
      ][] = [
        [
          'valid',
          valid(schema).map((v) => ({ value: v, text: '', contentType: 'application/json' })),
        ],
        [
          'near-valid',
          nearValid(schema).map((v) => ({ value: v, text: '', contentType: 'application/json' })),
        ],
        ['hostile', hostileBody],
      ]
      for (const [cls, arb] of classes) {
        const kind = `${spec.label ?? spec.route}:${cls}`
        const stats: KindSummary = load[kind] ?? { sent: 0, byStatus: {}, lost: 0 }
        load[kind] = stats
        const cases = fc.sample(arb, { numRuns: runs, seed: seed + n })
        for (const c of cases) {
          const user = stage.users[n++ % stage.users.length] as DrillUser
          const value =
            'value' in c && spec.own && cls === 'valid' ? spec.own(c.value, user) : c.value
          const path = typeof spec.path === 'function' ? spec.path() : spec.path
          let url = `${stage.url}${path}`
          let body: string | undefined
          if (spec.query)
            url += 'value' in c ? toQuery(value) : `?x=${encodeURIComponent(c.text.slice(0, 2000))}`
          else body = 'value' in c ? (JSON.stringify(value) ?? '') : c.text
          const token =
            spec.as === 'user'
              ? user.token
              : spec.as === 'ops'
                ? ops
                : spec.as === 'service'
                  ? service
                  : undefined
          const headers: Record<string, string> = {
            'x-forwarded-for': `10.9.${(n >> 8) & 255}.${n & 255}`,
            ...(spec.headers?.() ?? {}),
            ...(token ? { authorization: `Bearer ${token}` } : {}),
            ...(body !== undefined ? { 'content-type': c.contentType } : {}),
          }
          const before = await counts()
          let status = 0
          let type = ''
          let backend = ''
          try {
            const res = await fetch(url, {
              method: spec.method,
              headers,
              ...(spec.method === 'POST' ? { body: body ?? '' } : {}),
              signal: AbortSignal.timeout(20_000),
            })
            status = res.status
            type = res.headers.get('content-type') ?? ''
            backend = res.headers.get('x-bff-backend') ?? ''
            await res.arrayBuffer()
          } catch (error) {
            failures.push(`${kind}: ${String(error).slice(0, 120)}`)
          }
          stats.sent++
          if (status === 0) stats.lost++
          else stats.byStatus[status] = (stats.byStatus[status] ?? 0) + 1
          const sample = (body ?? url).slice(0, 160)
          if (status >= 500) failures.push(`${kind} ${status}: ${sample}`)
          // A native failure replayed to legacy hides the 5xx from the client: still a failure.
          if (backend === 'legacy-fallback')
            failures.push(`${kind} native failed (replayed): ${sample}`)
          if (status >= 400 && status < 500) {
            if (!type.startsWith('application/problem+json'))
              notProblem.push(`${kind} ${status} ${type}`)
            const after = await counts()
            const changed = Object.keys(after).filter((t) => after[t] !== before[t])
            if (changed.length)
              rowsOnRefusal.push(`${kind} ${status} wrote ${changed.join(', ')}: ${sample}`)
          }
        }
      }
    }
    r.addLoad(load)
    r.figure('routes fuzzed', FUZZED_ROUTES.length)
    r.figure('requests', n)
    r.figure('seed', seed)
    r.check(
      'never a 5xx (or no answer) for client input',
      failures.length === 0,
      failures.slice(0, 5).join(' | ') || 'none',
    )
    r.check(
      'every refusal is problem+json',
      notProblem.length === 0,
      notProblem.slice(0, 5).join(' | ') || 'all',
    )
    r.check(
      'no row written on a refusal',
      rowsOnRefusal.length === 0,
      rowsOnRefusal.slice(0, 5).join(' | ') || 'none',
    )
    const child = stage.gateway.child
    r.check(
      'no crash',
      child.exitCode === null && child.signalCode === null,
      child.exitCode === null && child.signalCode === null
        ? 'running'
        : `exit ${child.exitCode} ${child.signalCode ?? ''}: ${[...stage.gateway.stderr, ...stage.gateway.stdout.slice(-3)].join(' | ').slice(0, 600)}`,
    )
  } finally {
    await stage.close()
  }
  return r.done()
}

if (process.argv[1]?.endsWith('fuzz.ts')) {
  const arg = process.argv.find((a) => a.startsWith('--runs='))
  runAsScript(() => fuzzDrill(arg ? { runs: Number(arg.slice(7)) } : {}))
}
