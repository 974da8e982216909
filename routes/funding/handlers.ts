import type { TossClient } from '../../src/clients/toss.js'
import type { Config } from '../../src/config.js'
import type { Logger } from '../../src/observability/log.js'
import type { Db } from '../../src/platform/db/port.js'
import type { NativeHandler } from '../../src/types.js'
import { createFundingAdminReview } from './admin-review.js'
import { createCampaignComplete } from './campaign-complete.js'
import type { FundingDeps } from './deps.js'
import { tossBilling } from './payment-method.js'
import { createFundingPledge } from './pledge.js'
import { retryScheduleFrom } from './schedule.js'
import { createFundingStudioSubmit } from './studio-submit.js'
import { createFundingPaymentWebhook } from './webhook.js'
import { DEFAULT_WORK_OPTIONS } from './work.js'

/** The funding dependencies from the gateway's configuration, Toss billing as the method. */
export function fundingDeps({
  config,
  db,
  toss,
  logger,
}: {
  config: Config
  db: Db
  toss: TossClient
  logger: Logger
}): FundingDeps {
  return {
    db,
    method: tossBilling(toss),
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

/** The five funding routes' native handlers, by route id. */
export function fundingHandlers(
  deps: FundingDeps,
  toss: Pick<TossClient, 'getPayment'>,
): Record<string, NativeHandler> {
  return {
    'funding-studio-submit': createFundingStudioSubmit(deps),
    'funding-admin-review': createFundingAdminReview(deps),
    'funding-pledge': createFundingPledge(deps),
    'campaign-complete': createCampaignComplete(deps),
    'funding-payment-webhook': createFundingPaymentWebhook({
      ...deps,
      getPayment: (paymentKey) => toss.getPayment(paymentKey),
    }),
  }
}
