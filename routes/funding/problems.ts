import { defineProblems } from '../../src/errors.js'
import { sqlProblems } from '../../src/platform/db/problems.js'
import { PAYMENT_SQL_PROBLEMS } from '../payments/index.js'

/** What the funding handlers answer besides validation and the database's codes. */
export const FUNDING_PROBLEMS = defineProblems('funding', {
  'ops-only': { status: 403, title: 'Only ops may review campaigns' },
  'webhook-in-progress': {
    status: 409,
    title: 'This delivery is being processed',
    retryAfterSeconds: 30,
  },
  'payment-method-not-supported': {
    status: 422,
    title: 'This payment method cannot be registered for funding',
  },
  'card-not-registered': {
    status: 422,
    title: 'The card could not be registered; start the card registration again',
  },
  'toss-unavailable': {
    status: 503,
    title: 'The payment provider is unavailable; retry later',
    retryAfterSeconds: 10,
  },
})

/** Stable codes raised by supabase/migrations/0006_funding.sql (docs/data-model.md). */
export const FUNDING_SQL_PROBLEMS = defineProblems('funding', {
  'invalid-transition': {
    status: 409,
    title: 'Not possible in the campaign’s current state',
    sql: { detail: 'state' },
  },
  'campaign-not-open': {
    status: 409,
    title: 'The campaign does not take pledges now',
    sql: { detail: 'state' },
  },
  'pledge-not-pending': {
    status: 409,
    title: 'The pledge is not waiting for a card',
    sql: { detail: 'state' },
  },
  'pledge-not-active': {
    status: 409,
    title: 'The pledge cannot be changed now',
    sql: { detail: 'state' },
  },
  'sold-out': { status: 409, title: 'Not enough of this reward left', sql: { detail: 'field' } },
  'already-pledged': {
    status: 409,
    title: 'You already pledged for this reward',
    sql: { detail: 'field' },
  },
  'campaign-not-found': { status: 404, title: 'Campaign not found', sql: { detail: 'field' } },
  'pledge-not-found': { status: 404, title: 'Pledge not found', sql: { detail: 'field' } },
  'tier-not-found': {
    status: 404,
    title: 'This reward is not part of the campaign',
    sql: { detail: 'field' },
  },
  'not-campaign-owner': {
    status: 403,
    title: 'Only the campaign’s creator may do this',
    sql: { detail: 'field' },
  },
  'invalid-campaign': { status: 422, title: 'The campaign is not valid', sql: { detail: 'field' } },
  'start-in-past': {
    status: 422,
    title: 'The start must be in the future',
    sql: { detail: 'field' },
  },
  'end-before-start': {
    status: 422,
    title: 'The end must be after the start',
    sql: { detail: 'field' },
  },
  'reason-required': {
    status: 422,
    title: 'A reason of 1-500 characters is required',
    sql: { detail: 'field' },
  },
  'invalid-decision': { status: 422, title: 'Not a review decision', sql: { detail: 'field' } },
  'invalid-quantity': { status: 422, title: 'Quantity must be 1-99', sql: { detail: 'field' } },
  'invalid-amount': {
    status: 422,
    title: 'The extra amount must be 0-10,000,000',
    sql: { detail: 'field' },
  },
  'amount-too-large': {
    status: 422,
    title: 'The pledge total is too large',
    sql: { detail: 'field' },
  },
})

/** Funding's codes first; the payment functions funding calls keep their own mapping. */
const fundingSql = sqlProblems({
  catalogues: [FUNDING_SQL_PROBLEMS, PAYMENT_SQL_PROBLEMS],
  constraints: true,
})

/** A database error as the client sees it; unknown codes go through the payments mapping. */
export const fundingProblem = (error: unknown): unknown => fundingSql.problem(error)

/** Await a database call and rethrow its error as the client should see it. */
export const fundingCall = <T>(promise: Promise<T>): Promise<T> => fundingSql.call(promise)
