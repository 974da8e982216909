/** TossPayments API v1 shapes we read (docs.tosspayments.com/reference#payment-객체). */

export type TossPaymentStatus =
  | 'READY'
  | 'IN_PROGRESS'
  | 'WAITING_FOR_DEPOSIT'
  | 'DONE'
  | 'CANCELED'
  | 'PARTIAL_CANCELED'
  | 'ABORTED'
  | 'EXPIRED'

export const TOSS_PAYMENT_STATUSES: readonly TossPaymentStatus[] = [
  'READY',
  'IN_PROGRESS',
  'WAITING_FOR_DEPOSIT',
  'DONE',
  'CANCELED',
  'PARTIAL_CANCELED',
  'ABORTED',
  'EXPIRED',
]

export interface TossCancel {
  transactionKey: string
  cancelAmount: number
  cancelReason: string
  canceledAt: string
  refundableAmount: number
  cancelStatus?: string
}

/** The Payment object; fields we do not use are kept as unknown. */
export interface TossPayment {
  paymentKey: string
  orderId: string
  orderName?: string
  status: TossPaymentStatus
  method?: string | null
  totalAmount: number
  balanceAmount: number
  currency?: string
  requestedAt?: string
  approvedAt?: string | null
  lastTransactionKey?: string | null
  /** Set for virtual accounts; DEPOSIT_CALLBACK carries the same value. */
  secret?: string | null
  cancels?: TossCancel[] | null
  [field: string]: unknown
}

export interface TossRefundReceiveAccount {
  /** Bank code or name as Toss accepts it. */
  bank: string
  /** Digits only, at most 20. */
  accountNumber: string
  holderName: string
}

/** Body of `POST /v1/payments/{paymentKey}/cancel`. */
export interface TossCancelRequest {
  cancelReason: string
  /** Omit for a full cancel. */
  cancelAmount?: number
  /** Only for deposited virtual-account payments. */
  refundReceiveAccount?: TossRefundReceiveAccount
  /** Toss refuses the cancel when its own balance differs: a guard against a stale view. */
  refundableAmount?: number
  taxFreeAmount?: number
}

/** Body of `POST /v1/billing/authorizations/issue`. */
export interface TossBillingIssueRequest {
  authKey: string
  /** The fan's random customerKey (at most 50 characters is the safe bound). */
  customerKey: string
}

/** The Billing object (docs.tosspayments.com/reference#billing-객체). */
export interface TossBilling {
  mId?: string
  customerKey: string
  authenticatedAt?: string
  method?: string
  billingKey: string
  card?: {
    issuerCode?: string
    acquirerCode?: string
    /** Masked by Toss. */
    number?: string
    cardType?: string
    ownerType?: string
  } | null
  [field: string]: unknown
}

/** Body of `POST /v1/billing/{billingKey}`. */
export interface TossBillingChargeRequest {
  customerKey: string
  amount: number
  /** 6-64 of [A-Za-z0-9_-]. */
  orderId: string
  /** At most 100 characters. */
  orderName: string
  customerEmail?: string
  customerName?: string
  taxFreeAmount?: number
}
