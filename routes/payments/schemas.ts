import { z } from 'zod'
import { TOSS_PAYMENT_STATUSES } from './toss/types.js'

/** Toss orderId rule (6-64 of [A-Za-z0-9_-]). */
export const TOSS_ORDER_ID = /^[A-Za-z0-9_-]{6,64}$/

const MAX_KRW = 2_147_483_647

/**
 * Checkout: the cart only. Prices come from the catalog; an `amount` sent by an older client is
 * ignored (stripped), never trusted.
 */
export const CheckoutBody = z.object({
  items: z
    .array(
      z.object({
        productId: z
          .string()
          .regex(/^[A-Za-z0-9_-]{1,64}$/, 'a product id (1-64 of A-Z a-z 0-9 _ -)'),
        quantity: z.number().int('a whole number').min(1).max(99),
      }),
    )
    .min(1, 'at least one item')
    .max(20, 'at most 20 items'),
})

export const RefundAccount = z.object({
  bank: z.string().trim().min(1).max(20),
  accountNumber: z.string().regex(/^\d{1,20}$/, 'digits only, at most 20'),
  holderName: z.string().trim().min(1).max(60),
})

/** A refund request: `cancelAmount` omitted means "refund what is left". */
export const RefundBody = z.object({
  paymentKey: z.string().min(1).max(200),
  cancelReason: z.string().trim().min(1).max(200),
  cancelAmount: z.number().int('a whole number of won').positive().max(MAX_KRW).optional(),
  refundReceiveAccount: RefundAccount.optional(),
})

/** Ops only: resend a pending refund with its own Idempotency-Key. */
export const RefundRetryBody = z.object({
  refundId: z.uuid(),
  refundReceiveAccount: RefundAccount.optional(),
})

const status = z.enum(TOSS_PAYMENT_STATUSES as [string, ...string[]])

export const PaymentStatusChangedEvent = z.object({
  eventType: z.literal('PAYMENT_STATUS_CHANGED'),
  createdAt: z.string().min(1).max(64),
  data: z.looseObject({
    paymentKey: z.string().min(1).max(200),
    orderId: z.string().regex(TOSS_ORDER_ID, 'a Toss orderId'),
    status,
  }),
})

/** DEPOSIT_CALLBACK is flat and has no eventType. */
export const DepositCallbackEvent = z.object({
  createdAt: z.string().min(1).max(64),
  secret: z.string().min(1).max(200),
  status,
  transactionKey: z.string().min(1).max(200).optional(),
  orderId: z.string().regex(TOSS_ORDER_ID, 'a Toss orderId'),
})

/** Checkout's answer: what the Toss payment widget is opened with. */
export const CheckoutResponse = z.object({
  orderId: z.string().regex(TOSS_ORDER_ID),
  orderName: z.string(),
  amount: z.number().int().describe('KRW, priced from the catalog'),
  currency: z.literal('KRW'),
  customerKey: z.string(),
})

/** A refund as the client sees it; 202 while Toss has not confirmed it (`retry` says when). */
export const RefundResponse = z.object({
  refundId: z.uuid(),
  paymentKey: z.string(),
  status: z.enum(['pending', 'done', 'failed']),
  amount: z.number().int(),
  balanceAmount: z.number().int().nullable(),
  paymentStatus: z.string().nullable(),
  transactionKey: z.string().nullable(),
  retry: z.string().optional().describe('Present while pending: how to ask again'),
})

/** What a webhook delivery is acknowledged with (Toss retries anything but a 200). */
export const WebhookAck = z.object({
  ok: z.literal(true),
  outcome: z.string().describe('applied, duplicate, ignored, …'),
})
