import { DependencyUnavailableError, GatewayError } from '../../src/errors.js'
import { DbFunctionError, DbUnavailableError } from '../../src/platform/db/port.js'

interface Spec {
  status: number
  title: string
  /** The SQL detail starts with the field at fault (`items.2.productId`). */
  fieldFromDetail?: boolean
  retryAfterSeconds?: number
}

/** Stable codes raised by supabase/migrations/0001_payments.sql (docs/data-model.md). */
const SPECS: Record<string, Spec> = {
  'invalid-items': { status: 422, title: 'The cart is not valid', fieldFromDetail: true },
  'invalid-product-id': { status: 422, title: 'Not a product id', fieldFromDetail: true },
  'invalid-quantity': { status: 422, title: 'Quantity must be 1-99', fieldFromDetail: true },
  'duplicate-product': { status: 422, title: 'A product appears twice', fieldFromDetail: true },
  'unknown-product': { status: 422, title: 'Unknown product', fieldFromDetail: true },
  'inactive-product': { status: 422, title: 'The product is not on sale', fieldFromDetail: true },
  'amount-too-large': { status: 422, title: 'The order total is too large', fieldFromDetail: true },
  'idempotency-key-reused': {
    status: 422,
    title: 'This Idempotency-Key was used for a different request',
    fieldFromDetail: true,
  },
  'invalid-idempotency-key': {
    status: 422,
    title: 'Invalid Idempotency-Key',
    fieldFromDetail: true,
  },
  'invalid-amount': { status: 422, title: 'The amount must be positive', fieldFromDetail: true },
  'invalid-reason': {
    status: 422,
    title: 'A reason of 1-200 characters is required',
    fieldFromDetail: true,
  },
  'payment-not-found': { status: 404, title: 'Payment not found', fieldFromDetail: true },
  'refund-not-found': { status: 404, title: 'Refund not found', fieldFromDetail: true },
  'not-refundable': { status: 409, title: 'The payment cannot be refunded' },
  'refund-window-closed': { status: 403, title: 'The refund period is over' },
  'refund-in-progress': {
    status: 409,
    title: 'Another refund of this payment is in progress',
    retryAfterSeconds: 5,
  },
  'exceeds-refundable': {
    status: 422,
    title: 'The amount is more than what is left to refund',
    fieldFromDetail: true,
  },
  'invalid-event': { status: 422, title: 'The webhook event is not valid', fieldFromDetail: true },
  'refund-account-required': {
    status: 422,
    title: 'A refund account is required for virtual-account payments',
    fieldFromDetail: true,
  },
}

/**
 * Turn a database error into what the client sees: a SQL function's stable code → its problem
 * (with the field named), unreachable database → `DependencyUnavailableError` (the gateway may
 * fall back), anything else unchanged.
 */
export function dbProblem(error: unknown): unknown {
  if (error instanceof DbUnavailableError) {
    return new DependencyUnavailableError('database', { cause: error })
  }
  const constraint = constraintProblem(error)
  if (constraint) return constraint
  if (!(error instanceof DbFunctionError)) return error
  const spec = SPECS[error.code]
  if (!spec) return error
  const field = spec.fieldFromDetail ? error.detail.split(/\s/)[0] : undefined
  return new GatewayError({
    status: spec.status,
    code: error.code,
    title: spec.title,
    detail: `${spec.title} (${error.detail})`,
    errors: field ? [{ field, message: spec.title }] : undefined,
    headers: spec.retryAfterSeconds ? { 'retry-after': String(spec.retryAfterSeconds) } : {},
    cause: error,
  })
}

/** Await a database call and rethrow its error as `dbProblem` maps it. */
export async function dbCall<T>(promise: Promise<T>): Promise<T> {
  try {
    return await promise
  } catch (error) {
    throw dbProblem(error)
  }
}

/**
 * A constraint the request broke that no SQL function turned into a stable code (SQLSTATE class
 * 23, integrity; 22, data out of range or malformed): the client's request conflicts with what
 * is stored or carries a value the database refuses. Never a 500, and nothing of the SQL error
 * text reaches the client.
 */
function constraintProblem(error: unknown): GatewayError | undefined {
  const raw = (error as { code?: unknown } | undefined)?.code
  const code = typeof raw === 'string' && /^[0-9A-Z]{5}$/.test(raw) ? raw : undefined
  if (!code) return undefined
  if (code.startsWith('23')) {
    return new GatewayError({
      status: 409,
      code: 'conflict',
      title: 'The request conflicts with the current state; fetch it and try again',
      cause: error,
    })
  }
  if (code.startsWith('22')) {
    return new GatewayError({
      status: 422,
      code: 'invalid-value',
      title: 'A value in the request is out of range or malformed',
      cause: error,
    })
  }
  return undefined
}
