import { DependencyUnavailableError, type GatewayError } from '../../src/errors.js'
import { DbFunctionError, DbUnavailableError } from '../../src/platform/db/port.js'

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
