import {
  defineProblems,
  type FieldProblem,
  type GatewayError,
  type ProblemInit,
} from '../../../src/errors.js'
import { TossError, TossTimeoutError, TossUnavailableError } from './errors.js'

/** What a client of ours can act on when TossPayments refuses or fails. */
export const TOSS_PROBLEMS = defineProblems('payments', {
  'already-refunded': { status: 409, title: 'The payment is already refunded' },
  'refundable-amount-changed': {
    status: 409,
    title: 'The refundable amount changed; fetch the payment and try again',
  },
  'invalid-refund-account': { status: 422, title: 'The refund account was not accepted' },
  'not-cancelable-amount': { status: 422, title: 'This amount cannot be cancelled' },
  'not-cancelable-payment': { status: 409, title: 'This payment cannot be cancelled' },
  'too-many-requests': {
    status: 429,
    title: 'Too many requests for this payment; retry shortly',
    retryAfterSeconds: 2,
  },
  'payment-not-found': { status: 404, title: 'Payment not found' },
  // Retryable on Toss's side (its card-company or bank link failed).
  'toss-provider-error': {
    status: 503,
    title: 'The payment provider is temporarily failing; retry later',
    retryAfterSeconds: 10,
  },
  'toss-refund-failed': {
    status: 503,
    title: 'The refund failed at the payment provider; retry later',
    retryAfterSeconds: 10,
  },
  'payment-provider-rejected': {
    status: 502,
    title: 'The payment provider rejected the request',
  },
  'toss-unavailable': {
    status: 503,
    title: 'The payment provider is unavailable; retry later',
    retryAfterSeconds: 30,
  },
  'toss-timeout': {
    status: 504,
    title: 'The payment provider did not answer in time',
    retryAfterSeconds: 5,
  },
})

type TossProblemCode = Parameters<typeof TOSS_PROBLEMS.get>[0]

interface TossCodeRule {
  problem: TossProblemCode
  /** Field of our request body the client should fix. */
  field?: string
  /** Show Toss's own message (only where it helps the client and says nothing about us). */
  showMessage?: boolean
}

/**
 * Toss codes (docs.tosspayments.com/reference/error-codes) → what a client of ours can act on.
 * A code that is our own fault (a bad key, a request we built wrongly) becomes a generic 502:
 * the detail never says more than "payment provider rejected the request".
 */
const BY_TOSS_CODE: Record<string, TossCodeRule> = {
  ALREADY_REFUND_PAYMENT: { problem: 'already-refunded' },
  NOT_MATCHES_REFUNDABLE_AMOUNT: { problem: 'refundable-amount-changed' },
  INVALID_REFUND_ACCOUNT_INFO: {
    problem: 'invalid-refund-account',
    field: 'refundReceiveAccount',
    showMessage: true,
  },
  NOT_CANCELABLE_AMOUNT: {
    problem: 'not-cancelable-amount',
    field: 'cancelAmount',
    showMessage: true,
  },
  NOT_CANCELABLE_PAYMENT: { problem: 'not-cancelable-payment', showMessage: true },
  FORBIDDEN_CONSECUTIVE_REQUEST: { problem: 'too-many-requests' },
  NOT_FOUND_PAYMENT: { problem: 'payment-not-found' },
  PROVIDER_ERROR: { problem: 'toss-provider-error' },
  FAILED_REFUND_PROCESS: { problem: 'toss-refund-failed' },
}

function fromRule(
  { problem, field }: TossCodeRule,
  cause: unknown,
  detail?: string,
  init: ProblemInit = {},
): GatewayError {
  const title = TOSS_PROBLEMS.get(problem).title
  const errors: FieldProblem[] | undefined = field
    ? [{ field, message: detail ?? title }]
    : undefined
  return TOSS_PROBLEMS.error(problem, { detail: detail ?? title, errors, cause, ...init })
}

/** The problem for a Toss error code alone (used for refunds settled as failed earlier). */
export function tossCodeProblem(code: string, status = 400, message?: string): GatewayError {
  return tossProblem(new TossError(code, status, message ?? code))
}

/**
 * Map any error from the Toss client to the problem our client sees. Unknown 4xx codes are
 * treated as our fault (502, generic detail); any 5xx as a temporary outage (503 with
 * Retry-After).
 */
export function tossProblem(error: unknown): GatewayError {
  if (error instanceof TossUnavailableError) {
    return fromRule({ problem: 'toss-unavailable' }, error, undefined, {
      retryAfterSeconds: error.retryAfterSeconds,
    })
  }
  if (error instanceof TossTimeoutError) {
    return TOSS_PROBLEMS.error('toss-timeout', { cause: error })
  }
  if (error instanceof TossError) {
    const rule = BY_TOSS_CODE[error.code]
    if (rule) {
      return fromRule(rule, error, rule.showMessage ? error.message : undefined, {
        extra: { tossCode: error.code },
      })
    }
    if (error.status >= 500)
      return fromRule({ problem: 'toss-unavailable' }, error, undefined, {
        extra: { tossCode: error.code },
      })
    // UNAUTHORIZED_KEY, INVALID_REQUEST and unknown 4xx: our key or our request is wrong.
    return fromRule({ problem: 'payment-provider-rejected' }, error)
  }
  return fromRule({ problem: 'payment-provider-rejected' }, error)
}
