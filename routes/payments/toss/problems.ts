import { type FieldProblem, GatewayError } from '../../../src/errors.js'
import { TossError, TossTimeoutError, TossUnavailableError } from './errors.js'

interface ProblemSpec {
  status: number
  code: string
  title: string
  /** Field of our request body the client should fix. */
  field?: string
  /** Show Toss's own message (only where it helps the client and says nothing about us). */
  showMessage?: boolean
  retryAfterSeconds?: number
}

/**
 * Toss codes (docs.tosspayments.com/reference/error-codes) → what a client of ours can act on.
 * A code that is our own fault (a bad key, a request we built wrongly) becomes a generic 502:
 * the detail never says more than "payment provider rejected the request".
 */
const TOSS_PROBLEMS: Record<string, ProblemSpec> = {
  ALREADY_REFUND_PAYMENT: {
    status: 409,
    code: 'already-refunded',
    title: 'The payment is already refunded',
  },
  NOT_MATCHES_REFUNDABLE_AMOUNT: {
    status: 409,
    code: 'refundable-amount-changed',
    title: 'The refundable amount changed; fetch the payment and try again',
  },
  INVALID_REFUND_ACCOUNT_INFO: {
    status: 422,
    code: 'invalid-refund-account',
    title: 'The refund account was not accepted',
    field: 'refundReceiveAccount',
    showMessage: true,
  },
  NOT_CANCELABLE_AMOUNT: {
    status: 422,
    code: 'not-cancelable-amount',
    title: 'This amount cannot be cancelled',
    field: 'cancelAmount',
    showMessage: true,
  },
  NOT_CANCELABLE_PAYMENT: {
    status: 409,
    code: 'not-cancelable-payment',
    title: 'This payment cannot be cancelled',
    showMessage: true,
  },
  FORBIDDEN_CONSECUTIVE_REQUEST: {
    status: 429,
    code: 'too-many-requests',
    title: 'Too many requests for this payment; retry shortly',
    retryAfterSeconds: 2,
  },
  NOT_FOUND_PAYMENT: { status: 404, code: 'payment-not-found', title: 'Payment not found' },
  // Retryable on Toss's side (its card-company or bank link failed).
  PROVIDER_ERROR: {
    status: 503,
    code: 'toss-provider-error',
    title: 'The payment provider is temporarily failing; retry later',
    retryAfterSeconds: 10,
  },
  FAILED_REFUND_PROCESS: {
    status: 503,
    code: 'toss-refund-failed',
    title: 'The refund failed at the payment provider; retry later',
    retryAfterSeconds: 10,
  },
}

const MISCONFIGURED: ProblemSpec = {
  status: 502,
  code: 'payment-provider-rejected',
  title: 'The payment provider rejected the request',
}

const UNAVAILABLE: ProblemSpec = {
  status: 503,
  code: 'toss-unavailable',
  title: 'The payment provider is unavailable; retry later',
  retryAfterSeconds: 30,
}

function fromSpec(
  spec: ProblemSpec,
  cause: unknown,
  detail?: string,
  extra?: Record<string, unknown>,
): GatewayError {
  const errors: FieldProblem[] | undefined = spec.field
    ? [{ field: spec.field, message: detail ?? spec.title }]
    : undefined
  return new GatewayError({
    status: spec.status,
    code: spec.code,
    title: spec.title,
    detail: detail ?? spec.title,
    errors,
    headers: spec.retryAfterSeconds ? { 'retry-after': String(spec.retryAfterSeconds) } : {},
    extra,
    cause,
  })
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
    return fromSpec({ ...UNAVAILABLE, retryAfterSeconds: error.retryAfterSeconds }, error)
  }
  if (error instanceof TossTimeoutError) {
    return new GatewayError({
      status: 504,
      code: 'toss-timeout',
      title: 'The payment provider did not answer in time',
      headers: { 'retry-after': '5' },
      cause: error,
    })
  }
  if (error instanceof TossError) {
    const spec = TOSS_PROBLEMS[error.code]
    if (spec) {
      return fromSpec(spec, error, spec.showMessage ? error.message : undefined, {
        tossCode: error.code,
      })
    }
    if (error.status >= 500)
      return fromSpec(UNAVAILABLE, error, undefined, { tossCode: error.code })
    // UNAUTHORIZED_KEY, INVALID_REQUEST and unknown 4xx: our key or our request is wrong.
    return fromSpec(MISCONFIGURED, error)
  }
  return fromSpec(MISCONFIGURED, error)
}
