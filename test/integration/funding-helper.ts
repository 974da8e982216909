import { Hono } from 'hono'
import { createFundingAdminReview } from '../../routes/funding/admin-review.js'
import { createCampaignComplete } from '../../routes/funding/campaign-complete.js'
import type { FundingDeps } from '../../routes/funding/deps.js'
import { tossBilling } from '../../routes/funding/payment-method.js'
import { createFundingPledge } from '../../routes/funding/pledge.js'
import { DEFAULT_RETRY_SCHEDULE } from '../../routes/funding/schedule.js'
import { createFundingStudioSubmit } from '../../routes/funding/studio-submit.js'
import { createFundingPaymentWebhook } from '../../routes/funding/webhook.js'
import { DEFAULT_WORK_OPTIONS } from '../../routes/funding/work.js'
import { createRefundProcess } from '../../routes/payments/refund.js'
import { TossClient } from '../../routes/payments/toss/client.js'
import { errorHandler } from '../../src/error-handler.js'
import { createLogger, type Logger } from '../../src/observability/log.js'
import type { Db } from '../../src/platform/db/port.js'
import type { AppEnv, Identity } from '../../src/types.js'
import type { TossFake } from '../fakes/toss.js'

/** A Toss client against the stand-in: short deadlines, a breaker that does not trip in tests. */
export function tossFor(toss: TossFake, timeoutMs = 2000): TossClient {
  return new TossClient({
    secretKey: toss.secretKey,
    baseUrl: toss.url,
    timeoutMs,
    retries: 0,
    retryDelayMs: 5,
    breakerThreshold: 10_000,
    halfOpenAfterMs: 60_000,
  })
}

export function fundingDepsFor(
  db: Db,
  client: TossClient,
  logger: Logger,
  clock: () => number,
): FundingDeps {
  return {
    db,
    method: tossBilling(client),
    getPayment: (paymentKey) => client.getPayment(paymentKey),
    logger,
    clock,
    retry: DEFAULT_RETRY_SCHEDULE,
    work: { ...DEFAULT_WORK_OPTIONS, concurrency: 8, batchSize: 20, leaseSeconds: 60 },
  }
}

/**
 * The funding handlers (and refund-process) on a minimal app: identity from test headers
 * (`x-test-user`, `x-test-ops`, `x-test-role`), problems rendered as the gateway renders them.
 * Every response body is kept in `bodies` so tests can prove what never appears in one.
 */
export function buildFundingApp(deps: FundingDeps, client: TossClient, bodies: string[]) {
  const app = new Hono<AppEnv>()
  app.use(async (c, next) => {
    c.set('requestId', 'req-test')
    c.set('sideEffect', false)
    const user = c.req.header('x-test-user')
    const role = c.req.header('x-test-role')
    const identity: Identity | undefined =
      user || role
        ? {
            subject: user,
            role: role ?? 'authenticated',
            claims: c.req.header('x-test-ops') ? { app_metadata: { role: 'ops' } } : {},
            verified: true,
          }
        : undefined
    c.set('identity', identity)
    await next()
    bodies.push(await c.res.clone().text())
  })
  app.post('/studio', createFundingStudioSubmit(deps))
  app.post('/review', createFundingAdminReview(deps))
  app.post('/pledge', createFundingPledge(deps))
  app.post('/complete', createCampaignComplete(deps))
  app.post('/webhook', createFundingPaymentWebhook(deps))
  app.post('/refund', createRefundProcess({ db: deps.db, toss: client, logger: deps.logger }))
  app.onError(errorHandler(createLogger({ level: 'error', write: () => {} })))
  return app
}

export type FundingApp = ReturnType<typeof buildFundingApp>

export function post(
  app: FundingApp,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return Promise.resolve(
    app.request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    }),
  )
}

export const CREATOR = '1a1a1a1a-1111-4111-8111-111111111111'
export const OTHER_CREATOR = '2b2b2b2b-2222-4222-8222-222222222222'
export const OPS = '3c3c3c3c-3333-4333-8333-333333333333'

export const asUser = (user: string) => ({ 'x-test-user': user })
export const asOps = { 'x-test-user': OPS, 'x-test-ops': '1' }
export const asService = { 'x-test-role': 'service_role' }

/** A deterministic fan id for index `i`. */
export function fan(i: number): string {
  const hex = i.toString(16).padStart(12, '0')
  return `f0f0f0f0-0000-4000-8000-${hex}`
}

/** KST wall time as an ISO string with offset. */
export function kst(ms: number): string {
  return `${new Date(ms + 9 * 3600_000).toISOString().slice(0, 19)}+09:00`
}

export function campaignContent(
  startMs: number,
  endMs: number,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    title: '한정판 앨범 펀딩',
    description: '두 번째 정규 앨범',
    goalAmount: 10_000,
    startsAt: kst(startMs),
    endsAt: kst(endMs),
    tiers: [
      { name: '앨범', price: 5_000, stock: 100, deliveryMonth: '2031-01' },
      { name: '앨범 + 포스터', price: 8_000, stock: 10, deliveryMonth: '2031-02' },
    ],
    ...overrides,
  }
}
