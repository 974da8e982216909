import { closed, defineFeature, KiB } from '../../src/route-table.js'
import { createPaymentCheckout } from './checkout.js'
import type { PaymentDeps } from './deps.js'
import { PAYMENT_PROBLEMS, PAYMENT_SQL_PROBLEMS } from './problems.js'
import { createRefundProcess } from './refund.js'
import { tossFromServices } from './toss/client.js'
import { TOSS_PROBLEMS } from './toss/problems.js'
import { createPaymentWebhook } from './webhook.js'
import { tossWebhookPolicy } from './webhook-policy.js'

export { dbProblem } from './db-problems.js'
export { runRefundRetryJob } from './jobs.js'
export { PAYMENT_PROBLEMS, PAYMENT_SQL_PROBLEMS } from './problems.js'
export { type RefundRow, type RefundRunResult, runRefund } from './refund-run.js'
export { PaymentStatusChangedEvent, RefundAccount, WebhookAck } from './schemas.js'
export {
  TossClient,
  TossError,
  type TossPayment,
  TossTimeoutError,
  TossUnavailableError,
  tossFromServices,
  tossProblem,
} from './toss/client.js'

import { z } from 'zod'
import {
  CheckoutBody,
  CheckoutResponse,
  DepositCallbackEvent,
  PaymentStatusChangedEvent,
  RefundBody,
  RefundResponse,
  WebhookAck,
} from './schemas.js'

export { TOSS_PROBLEMS } from './toss/problems.js'
export { webhookEventId } from './webhook-event.js'
export { tossWebhookPolicy } from './webhook-policy.js'

/**
 * Payments through TossPayments: checkout, the payment webhook and refunds run natively;
 * confirmation and reconciliation stay on Edge Functions.
 */
export const payments = defineFeature({
  name: 'payments',
  problems: [PAYMENT_PROBLEMS, PAYMENT_SQL_PROBLEMS, TOSS_PROBLEMS],
  setup: ({ config, db, logger, vendorFetch }): PaymentDeps | undefined => {
    const toss = tossFromServices({ config, vendorFetch })
    if (!db || !toss) return undefined
    return { db, toss, logger: logger.child({ component: 'payments' }) }
  },
  routes: [
    {
      id: 'payment-checkout',
      phase: 1,
      summary: 'Create an order priced from the catalog for the Toss payment widget',
      aliases: ['/api/v1/checkout'],
      policy: {
        replay: 'before-effect',
        rateLimit: closed(10),
        bodyLimitBytes: 16 * KiB,
        strictOrigin: true,
      },
      native: createPaymentCheckout,
      api: [
        {
          method: 'POST',
          body: CheckoutBody,
          response: CheckoutResponse,
          status: 201,
          otherStatuses: [200],
          headers: ['idempotency-key'],
          example: {
            body: { items: [{ productId: 'membership-basic', quantity: 1 }] },
            response: {
              orderId: 'ord_20261203_7f3a2c',
              orderName: 'Membership (basic)',
              amount: 9900,
              currency: 'KRW',
              customerKey: 'cust_5b1f0e',
            },
          },
        },
      ],
    },
    {
      id: 'payment-webhook',
      phase: 1,
      summary: 'TossPayments webhook: payment status and virtual-account deposits',
      aliases: ['/api/v1/webhooks/payment'],
      policy: tossWebhookPolicy,
      native: createPaymentWebhook,
      api: [
        {
          method: 'POST',
          summary: 'A Toss webhook delivery (PAYMENT_STATUS_CHANGED or a deposit callback)',
          body: z.union([PaymentStatusChangedEvent, DepositCallbackEvent]),
          response: WebhookAck,
        },
      ],
    },
    {
      id: 'refund-process',
      phase: 1,
      summary: 'Full or partial refund of a payment through Toss cancel',
      aliases: ['/api/v1/refunds'],
      // Never replayed: legacy knows nothing of the client's Idempotency-Key, so a replayed
      // refund whose answer is lost could be sent again natively by the client's repeat; and
      // legacy shares the database and Toss, so it cannot do better when either is down.
      policy: { replay: 'never', rateLimit: closed(5), bodyLimitBytes: 16 * KiB },
      native: createRefundProcess,
      api: [
        {
          method: 'POST',
          body: RefundBody,
          response: RefundResponse,
          otherStatuses: [202],
          headers: ['idempotency-key', 'retry-after'],
          example: {
            body: { paymentKey: 'tgen_20261203abcd', cancelReason: 'Customer request' },
          },
        },
      ],
    },
    {
      id: 'payment-confirm',
      phase: 'stay-legacy',
      summary: 'Toss payment confirmation (stays on Edge Functions)',
      aliases: ['/api/v1/payments/confirm'],
      policy: { replay: 'never', rateLimit: closed(10), strictOrigin: true },
    },
    {
      id: 'payment-reconcile',
      phase: 'stay-legacy',
      summary: 'Payment reconciliation job (stays on Edge Functions)',
      aliases: ['/api/v1/payments/reconcile'],
      policy: { replay: 'never', auth: 'service' },
    },
  ],
})
