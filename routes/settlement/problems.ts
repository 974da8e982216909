import { defineProblems } from '../../src/errors.js'
import { sqlProblems } from '../../src/platform/db/problems.js'

/** What the settlement handlers answer besides validation and the database's codes. */
export const SETTLEMENT_PROBLEMS = defineProblems('settlement', {
  'ops-only': { status: 403, title: 'Only ops may do this' },
  'not-your-settlement': { status: 403, title: 'A creator may read only their own settlements' },
  'xlsx-unavailable': { status: 406, title: 'XLSX export is not available on this deployment' },
})

/** Stable codes raised by supabase/migrations/0005_settlement.sql (docs/data-model.md). */
export const SETTLEMENT_SQL_PROBLEMS = defineProblems('settlement', {
  'invalid-creator': { status: 422, title: 'Not a creator id', sql: { field: 'creatorId' } },
  'invalid-period': { status: 422, title: 'Not a settlement period', sql: { field: 'period' } },
  'invalid-payout-date': {
    status: 422,
    title: 'The payout date must be on or after the end of the period',
    sql: { field: 'payoutDate' },
  },
  'creator-not-found': {
    status: 404,
    title: 'No tax profile for this creator on the payout date',
    sql: { field: 'creatorId' },
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
    sql: { field: 'period' },
  },
  'earlier-period-unconfirmed': {
    status: 409,
    title: 'An earlier period of this creator is still a draft; confirm it first',
    sql: { field: 'period' },
  },
  'period-not-over': {
    status: 409,
    title: 'The period has not ended yet',
    sql: { field: 'period' },
  },
  'identity-unverified': {
    status: 409,
    title: "The creator's identity is not verified",
    sql: { field: 'creatorId' },
  },
  'settlement-not-found': {
    status: 404,
    title: 'Settlement not found',
    sql: { field: 'settlementId' },
  },
  'settlement-not-confirmed': {
    status: 409,
    title: 'Only a confirmed settlement can be marked paid',
    sql: { field: 'settlementId' },
  },
  'run-not-found': { status: 404, title: 'Run not found', sql: { field: 'runId' } },
})

const settlementSql = sqlProblems({ catalogues: [SETTLEMENT_SQL_PROBLEMS] })

/**
 * A database error as the client sees it: a settlement code → its problem, an unreachable
 * database → `DependencyUnavailableError`, anything else unchanged (a 500).
 */
export const settlementProblem = (error: unknown): unknown => settlementSql.problem(error)

/** Await a database call and rethrow its error as `settlementProblem` maps it. */
export const sqlCall = <T>(promise: Promise<T>): Promise<T> => settlementSql.call(promise)
