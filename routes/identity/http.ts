import type { z } from 'zod'
import { fieldProblemsFromZod } from '../../src/errors.js'
import { type SqlCodeRule, sqlProblems } from '../../src/platform/db/problems.js'
import { validationFailed } from '../../src/problems.js'

export function parse<S extends z.ZodType>(schema: S, value: unknown, prefix = ''): z.output<S> {
  const result = schema.safeParse(value)
  if (!result.success) throw validationFailed(fieldProblemsFromZod(result.error.issues, prefix))
  return result.data
}

const identitySql = sqlProblems({})

/**
 * A database call: unreachable before any effect → DependencyUnavailableError (503, or replay
 * to legacy while nothing was written); a SQL function's code → the problem `codes` maps it to.
 */
export const dbCall = <T>(call: Promise<T>, codes: Record<string, SqlCodeRule> = {}): Promise<T> =>
  identitySql.call(call, codes)
