import { anthropicFromConfig } from '../src/clients/anthropic.js'
import { TossClient } from '../src/clients/toss.js'
import type { Config } from '../src/config.js'
import type { Logger } from '../src/observability/log.js'
import type { Metrics } from '../src/observability/metrics.js'
import type { Db } from '../src/platform/db/port.js'
import type { NativeHandler } from '../src/types.js'
import { createAiPollSuggest } from './ai-poll-suggest.js'
import { createAiReplySuggest } from './ai-reply-suggest.js'
import { createPaymentCheckout } from './payment-checkout.js'
import { createPaymentWebhook } from './payment-webhook.js'
import { createRefundProcess } from './refund-process.js'
import { type SettlementPlatform, settlementHandlers } from './settlement/index.js'

/** What the native routes run on; the entries build it from their environment. */
export interface NativeServices {
  config: Config
  logger: Logger
  metrics: Metrics
  /** Absent when no database is configured for this runtime: the routes needing one stay legacy. */
  db: Db | undefined
  /** Test seams: a Toss or Anthropic fetch pointed at a stand-in. */
  tossFetch?: typeof fetch
  anthropicFetch?: typeof fetch
  /** Runtime parts of settlement: the statement font source and (Node) the XLSX writer. */
  settlement?: SettlementPlatform
}

/**
 * Native handlers by route id. Each module under `routes/` implements one function of the
 * plan; a route whose dependencies are not configured gets no handler, so it is always proxied
 * (and `flags.json` refuses `native > 0` for it at start).
 */
export function nativeHandlers(services: NativeServices): Record<string, NativeHandler> {
  const { config, logger, metrics, db } = services
  const handlers: Record<string, NativeHandler> = {}
  if (!db) return handlers

  if (config.TOSS_SECRET_KEY) {
    const toss = new TossClient({
      secretKey: config.TOSS_SECRET_KEY,
      baseUrl: config.TOSS_API_URL,
      ...(services.tossFetch ? { fetch: services.tossFetch } : {}),
    })
    const payments = { db, toss, logger: logger.child({ component: 'payments' }) }
    handlers['payment-checkout'] = createPaymentCheckout(payments)
    handlers['payment-webhook'] = createPaymentWebhook(payments)
    handlers['refund-process'] = createRefundProcess(payments)
  }

  const anthropic = anthropicFromConfig(
    config,
    services.anthropicFetch ? { fetch: services.anthropicFetch } : {},
  )
  if (anthropic) {
    const ai = { db, anthropic, logger: logger.child({ component: 'ai' }), metrics }
    handlers['ai-reply-suggest'] = createAiReplySuggest(ai)
    handlers['ai-poll-suggest'] = createAiPollSuggest(ai)
  }
  Object.assign(handlers, settlementHandlers({ ...services, db }))
  return handlers
}
