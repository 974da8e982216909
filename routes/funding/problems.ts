import { GatewayError } from '../../src/errors.js'
import { DbFunctionError } from '../../src/platform/db/port.js'
import { dbProblem } from '../payments/index.js'

interface Spec {
  status: number
  title: string
  /** The SQL detail is the field at fault (`campaign.tiers.0.price`). */
  field?: boolean
  /** The SQL detail is the current state, echoed as `state`. */
  state?: boolean
}

/** Stable codes raised by supabase/migrations/0006_funding.sql (docs/data-model.md). */
const SPECS: Record<string, Spec> = {
  'invalid-transition': {
    status: 409,
    title: 'Not possible in the campaign’s current state',
    state: true,
  },
  'campaign-not-open': {
    status: 409,
    title: 'The campaign does not take pledges now',
    state: true,
  },
  'pledge-not-pending': { status: 409, title: 'The pledge is not waiting for a card', state: true },
  'pledge-not-active': { status: 409, title: 'The pledge cannot be changed now', state: true },
  'sold-out': { status: 409, title: 'Not enough of this reward left', field: true },
  'already-pledged': { status: 409, title: 'You already pledged for this reward', field: true },
  'campaign-not-found': { status: 404, title: 'Campaign not found', field: true },
  'pledge-not-found': { status: 404, title: 'Pledge not found', field: true },
  'tier-not-found': { status: 404, title: 'This reward is not part of the campaign', field: true },
  'not-campaign-owner': {
    status: 403,
    title: 'Only the campaign’s creator may do this',
    field: true,
  },
  'invalid-campaign': { status: 422, title: 'The campaign is not valid', field: true },
  'start-in-past': { status: 422, title: 'The start must be in the future', field: true },
  'end-before-start': { status: 422, title: 'The end must be after the start', field: true },
  'reason-required': {
    status: 422,
    title: 'A reason of 1-500 characters is required',
    field: true,
  },
  'invalid-decision': { status: 422, title: 'Not a review decision', field: true },
  'invalid-quantity': { status: 422, title: 'Quantity must be 1-99', field: true },
  'invalid-amount': { status: 422, title: 'The extra amount must be 0-10,000,000', field: true },
  'amount-too-large': { status: 422, title: 'The pledge total is too large', field: true },
}

/** A database error as the client sees it; unknown codes go through the payments mapping. */
export function fundingProblem(error: unknown): unknown {
  if (!(error instanceof DbFunctionError)) return dbProblem(error)
  const spec = SPECS[error.code]
  if (!spec) return dbProblem(error)
  const field = spec.field ? error.detail.split(/\s/)[0] : undefined
  const state = spec.state ? error.detail.split(/\s/)[0] : undefined
  return new GatewayError({
    status: spec.status,
    code: error.code,
    title: spec.title,
    detail: state ? `${spec.title}: it is ${error.detail}` : `${spec.title} (${error.detail})`,
    errors: field ? [{ field, message: spec.title }] : undefined,
    extra: state ? { state } : undefined,
    cause: error,
  })
}

/** Await a database call and rethrow its error as the client should see it. */
export async function fundingCall<T>(promise: Promise<T>): Promise<T> {
  try {
    return await promise
  } catch (error) {
    throw fundingProblem(error)
  }
}
