import { type SqlCodeRule, sqlProblems } from '../../src/platform/db/problems.js'

const identitySql = sqlProblems({})

/**
 * A database call: unreachable before any effect → DependencyUnavailableError (503, or replay
 * to legacy while nothing was written); a SQL function's code → the problem `codes` maps it to.
 */
export const dbCall = <T>(call: Promise<T>, codes: Record<string, SqlCodeRule> = {}): Promise<T> =>
  identitySql.call(call, codes)
