import { z } from 'zod'
import { closed, defineFeature, KiB, MiB, type NativeServices } from '../../src/route-table.js'
import {
  PaymentStatusChangedEvent,
  tossFromServices,
  tossWebhookPolicy,
  WebhookAck,
} from '../payments/index.js'
import { createFundingAdminReview } from './admin-review.js'
import { createCampaignComplete } from './campaign-complete.js'
import type { FundingDeps } from './deps.js'
import { tossBilling } from './payment-method.js'
import { createFundingPledge } from './pledge.js'
import { FUNDING_PROBLEMS, FUNDING_SQL_PROBLEMS } from './problems.js'
import { retryScheduleFrom } from './schedule.js'
import { BillingDeletedEvent, CompleteBody, PledgeBody, ReviewBody, StudioBody } from './schemas.js'
import { createFundingStudioSubmit } from './studio-submit.js'
import { createFundingPaymentWebhook } from './webhook.js'
import { DEFAULT_WORK_OPTIONS } from './work.js'

export type { FundingDeps } from './deps.js'
export { type ClockResult, fundingChargeWork, fundingClock } from './jobs.js'
export type { ChargeOutcome, PaymentMethod, RegisteredCard } from './payment-method.js'
export { tossBilling } from './payment-method.js'
export { DEFAULT_RETRY_SCHEDULE, nextRetryAt, type RetrySchedule } from './schedule.js'
export { DEFAULT_WORK_OPTIONS, runFundingWork, type WorkOptions, type WorkStats } from './work.js'

/** What the funding handlers and jobs share; undefined without a database and Toss. */
export function fundingDeps({
  config,
  db,
  logger,
  vendorFetch,
}: Pick<NativeServices, 'config' | 'db' | 'logger' | 'vendorFetch'>): FundingDeps | undefined {
  const toss = tossFromServices({ config, vendorFetch })
  if (!db || !toss) return undefined
  return {
    db,
    method: tossBilling(toss),
    getPayment: (paymentKey) => toss.getPayment(paymentKey),
    logger: logger.child({ component: 'funding' }),
    retry: retryScheduleFrom({
      retries: config.FUNDING_RETRY_DAYS,
      atKst: config.FUNDING_RETRY_AT_KST,
      holidays: config.FUNDING_HOLIDAYS,
    }),
    work: {
      ...DEFAULT_WORK_OPTIONS,
      concurrency: config.FUNDING_CHARGE_CONCURRENCY,
      batchSize: config.FUNDING_BATCH_SIZE,
      leaseSeconds: config.FUNDING_LEASE_SECONDS,
      budgetMs: config.FUNDING_RUN_BUDGET_MS,
    },
  }
}

/**
 * Funding campaigns: the studio submission, the admin review, pledges with a card registered
 * now and charged when the campaign succeeds (Toss billing behind `PaymentMethod`), closing a
 * campaign (charges shared by any number of instances through leased work in PostgreSQL) and the
 * funding payment webhook. State machine and money movements: supabase/migrations/0006_funding.sql.
 */
export const funding = defineFeature({
  name: 'funding',
  problems: [FUNDING_PROBLEMS, FUNDING_SQL_PROBLEMS],
  setup: fundingDeps,
  routes: [
    {
      id: 'funding-pledge',
      phase: 2,
      summary: 'Pledge to a funding campaign',
      aliases: ['/api/v1/funding/pledge'],
      policy: {
        replay: 'never',
        rateLimit: closed(10),
        bodyLimitBytes: 16 * KiB,
        strictOrigin: true,
      },
      native: createFundingPledge,
      api: [{ method: 'POST', body: PledgeBody, status: 201, otherStatuses: [200] }],
    },
    {
      id: 'funding-payment-webhook',
      phase: 2,
      summary: 'TossPayments webhook for funding payments',
      aliases: ['/api/v1/webhooks/funding-payment'],
      policy: tossWebhookPolicy,
      native: createFundingPaymentWebhook,
      api: [
        {
          method: 'POST',
          body: z.union([PaymentStatusChangedEvent, BillingDeletedEvent]),
          response: WebhookAck,
        },
      ],
    },
    {
      id: 'campaign-complete',
      phase: 3,
      summary: 'Close a funding campaign',
      aliases: ['/api/v1/funding/campaign-complete'],
      policy: { replay: 'never', auth: 'service' },
      native: createCampaignComplete,
      api: [{ method: 'POST', body: CompleteBody, otherStatuses: [202] }],
    },
    {
      id: 'funding-admin-review',
      phase: 3,
      summary: 'Admin review of a funding submission',
      policy: { replay: 'never' },
      aliases: ['/api/v1/funding/admin-review'],
      native: createFundingAdminReview,
      api: [{ method: 'POST', body: ReviewBody }],
    },
    {
      id: 'funding-studio-submit',
      phase: 3,
      summary: 'Creator studio submission of a funding campaign',
      aliases: ['/api/v1/funding/studio-submit'],
      policy: { replay: 'never', bodyLimitBytes: 1 * MiB },
      native: createFundingStudioSubmit,
      api: [{ method: 'POST', body: StudioBody, status: 201, otherStatuses: [200] }],
    },
  ],
})
