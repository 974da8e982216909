/**
 * The route table: the single source of truth for every function the gateway knows.
 *
 * Each route names its phase, its paths (`/functions/v1/<id>` always, plus the REST aliases of
 * the plan), its methods and its policy slots. Any other `[a-z0-9_-]` function name is proxied
 * to legacy with the `unknownRoutePolicy`.
 */

export type Phase = 1 | 2 | 3 | 'stay-legacy' | 'unknown'

import type { ReplayPolicy } from './rollout/fallback.js'

/** Who may call: `service` means a service-role JWT only, `none` is for webhooks (own authenticity). */
export type AuthPolicy = 'required' | 'optional' | 'none' | 'service'

export interface RateLimitPolicy {
  /** Requests allowed per window per identifier (verified subject, else client IP). */
  limit: number
  windowSeconds: number
  /**
   * `closed`: a limiter that errors or is slow denies with 503 (money and AI routes).
   * `open`: it lets the request through and logs every open.
   */
  failMode: 'closed' | 'open'
}

export interface SubjectKeyInput {
  headers: Headers
  url: URL
  /** Parsed JSON body, or undefined when the body is absent, too large or not JSON. */
  json: () => Promise<unknown>
}

export interface RoutePolicy {
  auth: AuthPolicy
  rateLimit: RateLimitPolicy | null
  /** Largest request body accepted, in bytes (413 beyond it). */
  bodyLimitBytes: number
  /**
   * Whether a failed native attempt may be replayed to legacy (`src/rollout/fallback.ts`):
   * `always`, `before-effect` (only while the handler has not called `markEffect`) or `never`.
   * Every route in the table declares it; a request's `Idempotency-Key` never widens it.
   */
  replay: ReplayPolicy
  /** Checks `Origin` against the allow-list and rejects a disallowed one with 403. */
  strictOrigin: boolean
  /** Route-specific sticky key when there is no JWT subject and no `x-client-id`. */
  subjectKey?: (input: SubjectKeyInput) => Promise<string | undefined>
}

export interface RouteDef {
  id: string
  phase: Phase
  /** REST aliases under `/api/v1`, matched exactly or as a prefix followed by `/`. */
  aliases: readonly string[]
  /** Allowed methods; `*` allows any. OPTIONS (CORS preflight) is always answered. */
  methods: readonly string[] | '*'
  policy: RoutePolicy
  /** A stay-legacy route is always proxied, whatever the flags or an override say. */
  stayLegacy: boolean
  summary: string
}

const KiB = 1024
const MiB = 1024 * KiB

const perMinute = (limit: number, failMode: RateLimitPolicy['failMode']): RateLimitPolicy => ({
  limit,
  windowSeconds: 60,
  failMode,
})

/** Money and AI: the limiter failing must never let traffic through. */
const closed = (limit: number) => perMinute(limit, 'closed')
const open = (limit: number) => perMinute(limit, 'open')

const basePolicy: RoutePolicy = {
  auth: 'required',
  rateLimit: open(120),
  bodyLimitBytes: 256 * KiB,
  // The safe default; `route()` makes every table entry state its own.
  replay: 'never',
  strictOrigin: false,
}

/** Toss sends the order id in `data.orderId` (PAYMENT_STATUS_CHANGED) or flat (DEPOSIT_CALLBACK). */
const tossOrderId: RoutePolicy['subjectKey'] = async ({ json }) => {
  const body = (await json()) as { orderId?: unknown; data?: { orderId?: unknown } } | undefined
  const orderId = body?.data?.orderId ?? body?.orderId
  return typeof orderId === 'string' && orderId.length <= 64 ? `order:${orderId}` : undefined
}

/**
 * TossPayments webhooks prove themselves (no JWT), are deduplicated in the database, and stay
 * sticky per order. Replayed to legacy only before the delivery is claimed: Toss redelivers
 * anything that is not a 200, so a failure after the claim is left to that redelivery.
 */
const tossWebhook: RouteOptions['policy'] = {
  auth: 'none',
  // Toss retries only 7 times over days; a limiter outage must not drop deliveries.
  rateLimit: open(600),
  bodyLimitBytes: 64 * KiB,
  replay: 'before-effect',
  subjectKey: tossOrderId,
}

interface RouteOptions {
  aliases?: string[]
  methods?: string[] | '*'
  /** `replay` is required: a new route states whether a native failure may go to legacy. */
  policy: Partial<RoutePolicy> & Pick<RoutePolicy, 'replay'>
}

function route(id: string, phase: Phase, summary: string, options: RouteOptions): RouteDef {
  return {
    id,
    phase,
    summary,
    aliases: options.aliases ?? [],
    methods: options.methods ?? ['POST'],
    policy: { ...basePolicy, ...options.policy },
    stayLegacy: phase === 'stay-legacy',
  }
}

export const ROUTES: readonly RouteDef[] = [
  // Phase 1
  route(
    'payment-checkout',
    1,
    'Create an order priced from the catalog for the Toss payment widget',
    {
      aliases: ['/api/v1/checkout'],
      policy: {
        replay: 'before-effect',
        rateLimit: closed(10),
        bodyLimitBytes: 16 * KiB,
        strictOrigin: true,
      },
    },
  ),
  route('payment-webhook', 1, 'TossPayments webhook: payment status and virtual-account deposits', {
    aliases: ['/api/v1/webhooks/payment'],
    policy: tossWebhook,
  }),
  route('refund-process', 1, 'Full or partial refund of a payment through Toss cancel', {
    aliases: ['/api/v1/refunds'],
    policy: { replay: 'before-effect', rateLimit: closed(5), bodyLimitBytes: 16 * KiB },
  }),
  route('ai-reply-suggest', 1, 'Reply suggestions for a creator answering a fan', {
    aliases: ['/api/v1/ai/reply-suggest'],
    policy: { replay: 'before-effect', rateLimit: closed(20), bodyLimitBytes: 32 * KiB },
  }),
  // Phase 2
  route('payout-calculate', 2, 'Creator payout with withholding tax', {
    aliases: ['/api/v1/settlement/payout-calculate'],
    policy: { replay: 'never', rateLimit: closed(30) },
  }),
  route('payout-statement', 2, 'Payout statement as PDF', {
    aliases: ['/api/v1/settlement/statement'],
    policy: { replay: 'never' },
    methods: ['GET', 'POST'],
  }),
  route('settlement-export', 2, 'Settlement export as CSV or Excel', {
    aliases: ['/api/v1/settlement/export'],
    policy: { replay: 'never' },
    methods: ['GET', 'POST'],
  }),
  route('funding-pledge', 2, 'Pledge to a funding campaign', {
    aliases: ['/api/v1/funding/pledge'],
    policy: {
      replay: 'never',
      rateLimit: closed(10),
      bodyLimitBytes: 16 * KiB,
      strictOrigin: true,
    },
  }),
  route('funding-payment-webhook', 2, 'TossPayments webhook for funding payments', {
    aliases: ['/api/v1/webhooks/funding-payment'],
    policy: tossWebhook,
  }),
  // Phase 3
  route('ai-poll-suggest', 3, 'Poll questions and options for a creator', {
    aliases: ['/api/v1/ai/poll-suggest'],
    policy: { replay: 'before-effect', rateLimit: closed(20), bodyLimitBytes: 32 * KiB },
  }),
  route('verify-identity', 3, 'Identity verification through a third party', {
    aliases: ['/api/v1/identity/verify'],
    policy: { replay: 'never', rateLimit: closed(10) },
  }),
  route('ops-manage', 3, 'Operator actions', {
    aliases: ['/api/v1/ops'],
    methods: ['GET', 'POST', 'PATCH', 'DELETE'],
    policy: { replay: 'never', auth: 'required' },
  }),
  route('scheduled-dispatcher', 3, 'Scheduled jobs (Cloud Scheduler / cron)', {
    aliases: ['/api/v1/scheduled/dispatch'],
    policy: { replay: 'never', auth: 'service' },
  }),
  route('campaign-complete', 3, 'Close a funding campaign', {
    aliases: ['/api/v1/funding/campaign-complete'],
    policy: { replay: 'never', auth: 'service' },
  }),
  route('funding-admin-review', 3, 'Admin review of a funding submission', {
    aliases: ['/api/v1/funding/admin-review'],
    policy: { replay: 'never' },
  }),
  route('funding-studio-submit', 3, 'Creator studio submission of a funding campaign', {
    aliases: ['/api/v1/funding/studio-submit'],
    policy: { replay: 'never', bodyLimitBytes: 1 * MiB },
  }),
  // Always proxied
  route('payment-confirm', 'stay-legacy', 'Toss payment confirmation (stays on Edge Functions)', {
    aliases: ['/api/v1/payments/confirm'],
    policy: { replay: 'never', rateLimit: closed(10), strictOrigin: true },
  }),
  route(
    'payment-reconcile',
    'stay-legacy',
    'Payment reconciliation job (stays on Edge Functions)',
    {
      aliases: ['/api/v1/payments/reconcile'],
      policy: { replay: 'never', auth: 'service' },
    },
  ),
  route('refresh-fallback-quotas', 'stay-legacy', 'AI quota refill job (stays on Edge Functions)', {
    policy: { replay: 'never', auth: 'service' },
  }),
]

/**
 * Policy for function names the table does not list: proxied as is. Auth is `optional` because
 * the gateway cannot know what an unlisted function expects; the legacy function still checks.
 * No gateway rate limit: the function keeps its own, and a per-IP default would throttle
 * everyone behind one carrier NAT. A function that needs the gateway's limits gets a row in the
 * table.
 */
export function unknownRoute(id: string, bodyLimitBytes: number): RouteDef {
  return {
    id,
    phase: 'unknown',
    summary: 'Function not in the route table: proxied unchanged',
    aliases: [],
    methods: '*',
    policy: { ...basePolicy, auth: 'optional', rateLimit: null, bodyLimitBytes },
    stayLegacy: false,
  }
}

export const ROUTE_IDS = new Set(ROUTES.map((r) => r.id))

/** Function names accepted in `/functions/v1/<name>` (DESIGN.md section 6). */
export const FUNCTION_NAME = /^[a-z0-9_-]{1,64}$/
