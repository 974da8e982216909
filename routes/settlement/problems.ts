import { DependencyUnavailableError, GatewayError } from '../../src/errors.js'
import { DbFunctionError, DbUnavailableError } from '../../src/platform/db/port.js'

interface Spec {
  status: number
  title: string
  /** The field at fault, when the code always concerns one. */
  field?: string
  retryAfterSeconds?: number
}

/** Stable codes raised by supabase/migrations/0005_settlement.sql (docs/data-model.md). */
const SPECS: Record<string, Spec> = {
  'invalid-creator': { status: 422, title: 'Not a creator id', field: 'creatorId' },
  'invalid-period': { status: 422, title: 'Not a settlement period', field: 'period' },
  'invalid-payout-date': {
    status: 422,
    title: 'The payout date must be on or after the end of the period',
    field: 'payoutDate',
  },
  'creator-not-found': {
    status: 404,
    title: 'No tax profile for this creator on the payout date',
    field: 'creatorId',
  },
  'rates-missing': { status: 409, title: 'No rate is in force for this period' },
  'inputs-changed': {
    status: 409,
    title: 'Sales or rates changed during the calculation; calculate again',
    retryAfterSeconds: 1,
  },
  'settlement-confirmed': {
    status: 409,
    title: 'The settlement is confirmed and can no longer change',
  },
  'settlement-immutable': {
    status: 409,
    title: 'The settlement is confirmed and can no longer change',
  },
  'later-period-confirmed': {
    status: 409,
    title: 'A later period of this creator is already confirmed',
    field: 'period',
  },
  'earlier-period-unconfirmed': {
    status: 409,
    title: 'An earlier period of this creator is still a draft; confirm it first',
    field: 'period',
  },
  'period-not-over': { status: 409, title: 'The period has not ended yet', field: 'period' },
  'identity-unverified': {
    status: 409,
    title: "The creator's identity is not verified",
    field: 'creatorId',
  },
  'settlement-not-found': {
    status: 404,
    title: 'Settlement not found',
    field: 'settlementId',
  },
  'settlement-not-confirmed': {
    status: 409,
    title: 'Only a confirmed settlement can be marked paid',
    field: 'settlementId',
  },
  'run-not-found': { status: 404, title: 'Run not found', field: 'runId' },
}

/**
 * A database error as the client sees it: a settlement code → its problem, an unreachable
 * database → `DependencyUnavailableError`, anything else unchanged (a 500).
 */
export function settlementProblem(error: unknown): unknown {
  if (error instanceof DbUnavailableError) {
    return new DependencyUnavailableError('database', { cause: error })
  }
  if (!(error instanceof DbFunctionError)) return error
  const spec = SPECS[error.code]
  if (!spec) return error
  return new GatewayError({
    status: spec.status,
    code: error.code,
    title: spec.title,
    detail: `${spec.title} (${error.detail})`,
    errors: spec.field ? [{ field: spec.field, message: spec.title }] : undefined,
    headers: spec.retryAfterSeconds ? { 'retry-after': String(spec.retryAfterSeconds) } : {},
    cause: error,
  })
}

/** Await a database call and rethrow its error as `settlementProblem` maps it. */
export async function sqlCall<T>(promise: Promise<T>): Promise<T> {
  try {
    return await promise
  } catch (error) {
    throw settlementProblem(error)
  }
}
