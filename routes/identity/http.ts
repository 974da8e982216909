import type { z } from 'zod'
import {
  badRequest,
  DependencyUnavailableError,
  fieldProblemsFromZod,
  GatewayError,
  validationFailed,
} from '../../src/errors.js'
import { DbFunctionError, DbUnavailableError } from '../../src/platform/db/port.js'
import type { AppContext } from '../../src/types.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** The caller's Supabase user id (a UUID `sub`). */
export function requireUserId(c: AppContext): string {
  const subject = c.var.identity?.subject
  if (!subject || !UUID.test(subject)) {
    throw new GatewayError({
      status: 403,
      code: 'user-required',
      title: 'A signed-in user is required',
      detail: 'The token has no Supabase user id (sub)',
    })
  }
  return subject.toLowerCase()
}

export async function readJson(c: AppContext): Promise<unknown> {
  try {
    return await c.req.json()
  } catch {
    throw badRequest('The body must be a JSON object', [
      { field: '(body)', message: 'not valid JSON' },
    ])
  }
}

export function parse<S extends z.ZodType>(schema: S, value: unknown, prefix = ''): z.output<S> {
  const result = schema.safeParse(value)
  if (!result.success) throw validationFailed(fieldProblemsFromZod(result.error.issues, prefix))
  return result.data
}

/**
 * A database call: unreachable before any effect → DependencyUnavailableError (503, or replay
 * to legacy while nothing was written); a SQL function's code → the problem `codes` maps it to.
 */
export async function dbCall<T>(
  call: Promise<T>,
  codes: Record<string, (detail: string) => GatewayError> = {},
): Promise<T> {
  try {
    return await call
  } catch (error) {
    if (error instanceof DbUnavailableError) {
      throw new DependencyUnavailableError('database', { cause: error })
    }
    if (error instanceof DbFunctionError && codes[error.code]) {
      throw (codes[error.code] as (detail: string) => GatewayError)(error.detail)
    }
    throw error
  }
}
