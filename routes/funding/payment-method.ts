import type { GatewayError } from '../../src/errors.js'
import {
  type TossClient,
  TossError,
  type TossPayment,
  TossTimeoutError,
  TossUnavailableError,
} from '../payments/index.js'
import { FUNDING_PROBLEMS } from './problems.js'

/** A card registered for later charging; `billingKey` never leaves the server. */
export interface RegisteredCard {
  billingKey: string
  method: string | null
  /** Masked facts for the fan's view (number as the provider masks it). */
  card: { number?: string; issuerCode?: string; cardType?: string } | null
}

export interface ChargeRequest {
  billingKey: string
  customerKey: string
  amount: number
  orderId: string
  orderName: string
  idempotencyKey: string
}

/**
 * What a charge (or a lookup of an earlier one) came to:
 * `done` (charged; `payment` is the provider's Payment snapshot), `declined` (definitely not
 * charged), `unknown` (no reliable answer: it may have been charged), `absent` (lookup only:
 * the provider has no payment for the order).
 */
export type ChargeOutcome =
  | { kind: 'done'; payment: TossPayment }
  | { kind: 'declined'; code: string }
  | { kind: 'unknown'; code: string }
  | { kind: 'absent' }

/**
 * How pledges are paid: register a card now, charge it later, forget it. Toss billing is the
 * first implementation; the pledge and completion logic only see this port, so another method
 * (Toss BrandPay, a card-number API) can be added without touching them.
 */
export interface PaymentMethod {
  readonly name: string
  /** Register the fan's card from the client's `authKey`; throws a GatewayError for the client. */
  issue(input: {
    authKey: string
    customerKey: string
    requestKey: string
  }): Promise<RegisteredCard>
  charge(request: ChargeRequest): Promise<ChargeOutcome>
  /** What the provider knows of `orderId` (a charge whose answer was lost). */
  lookup(orderId: string): Promise<ChargeOutcome>
  /** `deleted` also when the provider no longer knows the key; `retry` when it could not be asked. */
  delete(billingKey: string): Promise<'deleted' | 'retry'>
}

/** Provider codes that say "ask again later", not "this card said no". */
const IN_FLIGHT = new Set(['IDEMPOTENT_REQUEST_PROCESSING', 'DUPLICATED_ORDER_ID'])

function classify(error: unknown): ChargeOutcome {
  if (error instanceof TossTimeoutError) return { kind: 'unknown', code: 'TIMEOUT' }
  if (error instanceof TossUnavailableError) return { kind: 'unknown', code: 'TOSS_UNAVAILABLE' }
  if (error instanceof TossError) {
    // A 5xx may have been applied; a duplicate order id means Toss has a payment for it.
    if (error.status >= 500 || IN_FLIGHT.has(error.code))
      return { kind: 'unknown', code: error.code }
    return { kind: 'declined', code: error.code }
  }
  throw error
}

/** Toss codes for card registration, as the fan's client can act on them. */
function issueProblem(error: unknown): GatewayError {
  if (error instanceof TossError && error.status < 500) {
    const notSupported = error.code === 'NOT_SUPPORTED_METHOD'
    return FUNDING_PROBLEMS.error(
      notSupported ? 'payment-method-not-supported' : 'card-not-registered',
      {
        errors: [{ field: 'authKey', message: 'not accepted by the payment provider' }],
        extra: { tossCode: error.code },
        cause: error,
      },
    )
  }
  return FUNDING_PROBLEMS.error('toss-unavailable', { cause: error })
}

/** The Toss billing API (docs.tosspayments.com/guides/billing) behind the port. */
export function tossBilling(
  toss: Pick<
    TossClient,
    'issueBillingKey' | 'chargeBilling' | 'deleteBillingKey' | 'getPaymentByOrderId'
  >,
): PaymentMethod {
  return {
    name: 'toss-billing',
    async issue({ authKey, customerKey, requestKey }) {
      try {
        const billing = await toss.issueBillingKey({ authKey, customerKey }, requestKey)
        if (billing.customerKey !== customerKey || !billing.billingKey) {
          throw new TossError(
            'NOT_MATCHES_CUSTOMER_KEY',
            400,
            'billing issued for another customer',
          )
        }
        const card = billing.card ?? null
        return {
          billingKey: billing.billingKey,
          method: billing.method ?? null,
          card: card
            ? { number: card.number, issuerCode: card.issuerCode, cardType: card.cardType }
            : null,
        }
      } catch (error) {
        throw issueProblem(error)
      }
    },
    async charge({ billingKey, idempotencyKey, ...body }) {
      try {
        return { kind: 'done', payment: await toss.chargeBilling(billingKey, body, idempotencyKey) }
      } catch (error) {
        return classify(error)
      }
    },
    async lookup(orderId) {
      try {
        const payment = await toss.getPaymentByOrderId(orderId)
        return payment.status === 'DONE'
          ? { kind: 'done', payment }
          : { kind: 'declined', code: `PAYMENT_${payment.status}` }
      } catch (error) {
        if (error instanceof TossError && error.code === 'NOT_FOUND_PAYMENT')
          return { kind: 'absent' }
        const outcome = classify(error)
        // A lookup Toss refused tells nothing about the charge.
        return outcome.kind === 'declined' ? { kind: 'unknown', code: outcome.code } : outcome
      }
    },
    async delete(billingKey) {
      try {
        await toss.deleteBillingKey(billingKey)
        return 'deleted'
      } catch (error) {
        // 4xx: Toss does not know the key (deleted already); anything else: ask again later.
        if (error instanceof TossError && error.status >= 400 && error.status < 500) {
          return error.status === 401 || error.status === 403 ? 'retry' : 'deleted'
        }
        return 'retry'
      }
    },
  }
}
