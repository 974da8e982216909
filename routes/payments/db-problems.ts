import { sqlProblems } from '../../src/platform/db/problems.js'
import { PAYMENT_SQL_PROBLEMS } from './problems.js'

/**
 * The payment functions' database errors as the client sees them: a SQL function's stable code
 * → its problem (with the field named), a constraint the request broke → 409 `conflict` or 422
 * `invalid-value`, an unreachable database → `DependencyUnavailableError` (the gateway may fall
 * back), anything else unchanged.
 */
const paymentSql = sqlProblems({ catalogues: [PAYMENT_SQL_PROBLEMS], constraints: true })

export const dbProblem = (error: unknown): unknown => paymentSql.problem(error)

/** Await a database call and rethrow its error as `dbProblem` maps it. */
export const dbCall = <T>(promise: Promise<T>): Promise<T> => paymentSql.call(promise)
