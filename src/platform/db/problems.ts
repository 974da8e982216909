import {
  DependencyUnavailableError,
  type GatewayError,
  type Problem,
  type ProblemSet,
  problemError,
} from '../../errors.js'
import { gatewayProblem } from '../../problems.js'
import { DbFunctionError, DbUnavailableError } from './port.js'

/** A SQL function's code answered as a problem its catalogue entry cannot describe alone. */
export type SqlCodeRule = (detail: string, error: DbFunctionError) => GatewayError

export interface SqlProblemsOptions {
  /**
   * Catalogues keyed by the codes the feature's SQL functions raise (`RAISE … 'code: detail'`),
   * looked up in order; each entry's `sql` hints say what the function's detail text is.
   */
  catalogues?: readonly ProblemSet[]
  /** Codes answered by a function of the detail instead (looked up before the catalogues). */
  rules?: Readonly<Record<string, SqlCodeRule>>
  /**
   * Whether a constraint no SQL function named is the client's: SQLSTATE class 23 (integrity)
   * → 409 `conflict`, class 22 (data out of range or malformed) → 422 `invalid-value`, with
   * nothing of the SQL error text. Otherwise such an error stays a 500.
   */
  constraints?: boolean
}

export interface SqlProblems {
  /**
   * A database error as the client sees it: an unreachable database →
   * `DependencyUnavailableError` (503, or a replay to legacy while nothing was written), a SQL
   * function's code → its problem, anything else unchanged (a logged 500).
   */
  problem(error: unknown, rules?: Readonly<Record<string, SqlCodeRule>>): unknown
  /** Await a database call and rethrow its error as `problem` maps it. */
  call<T>(promise: Promise<T>, rules?: Readonly<Record<string, SqlCodeRule>>): Promise<T>
}

/**
 * The one mapping from database errors to problems; each feature passes its own table.
 *
 * @example
 * const sql = sqlProblems({ catalogues: [SETTLEMENT_SQL_PROBLEMS] })
 * const row = await sql.call(db.call('settlement_confirm', { p_id: id }))
 */
export function sqlProblems({
  catalogues = [],
  rules = {},
  constraints = false,
}: SqlProblemsOptions): SqlProblems {
  function problem(error: unknown, extra: Readonly<Record<string, SqlCodeRule>> = {}): unknown {
    if (error instanceof DbUnavailableError) {
      return new DependencyUnavailableError('database', { cause: error })
    }
    if (constraints) {
      const constraint = constraintProblem(error)
      if (constraint) return constraint
    }
    if (!(error instanceof DbFunctionError)) return error
    const rule = extra[error.code] ?? rules[error.code]
    if (rule) return rule(error.detail, error)
    const catalogue = catalogues.find((set) => set.has(error.code))
    return catalogue ? fromSql(catalogue.get(error.code), error) : error
  }
  return {
    problem,
    async call(promise, extra) {
      try {
        return await promise
      } catch (error) {
        throw problem(error, extra)
      }
    },
  }
}

/** The problem of a catalogue entry a SQL function raised, its detail read as `sql` says. */
function fromSql(entry: Problem, error: DbFunctionError): GatewayError {
  const firstWord = error.detail.split(/\s/)[0]
  const field = entry.sql?.field ?? (entry.sql?.detail === 'field' ? firstWord : undefined)
  const state = entry.sql?.detail === 'state' ? firstWord : undefined
  return problemError(entry, {
    detail: state ? `${entry.title}: it is ${error.detail}` : `${entry.title} (${error.detail})`,
    errors: field ? [{ field, message: entry.title }] : undefined,
    extra: state ? { state } : undefined,
    cause: error,
  })
}

function constraintProblem(error: unknown): GatewayError | undefined {
  const raw = (error as { code?: unknown } | undefined)?.code
  const code = typeof raw === 'string' && /^[0-9A-Z]{5}$/.test(raw) ? raw : undefined
  if (code?.startsWith('23')) return gatewayProblem('conflict', { cause: error })
  if (code?.startsWith('22')) return gatewayProblem('invalid-value', { cause: error })
  return undefined
}
