import { DbFunctionError, DbUnavailableError } from './port.js'

/** Socket-level failures of the driver: the database was not reached (or the link broke). */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
])

/**
 * SQLSTATEs meaning "the server cannot serve you now" (PostgreSQL appendix A): connection
 * exceptions (08), insufficient resources (53), operator intervention (57P01-57P03).
 */
function isUnavailableSqlState(code: string): boolean {
  return code.startsWith('08') || code.startsWith('53') || /^57P0[1-3]$/.test(code)
}

const UNAVAILABLE_MESSAGES = [
  /connection terminated/i,
  /timeout exceeded when trying to connect/i,
  /cannot use a pool after calling end/i,
  /pglite is closed/i,
  /client has encountered a connection error/i,
]

/** A SQL function's `RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'code: detail'`. */
export function parseFunctionError(message: string): DbFunctionError {
  const match = /^([a-z][a-z0-9-]*):\s?(.*)$/s.exec(message)
  return match
    ? new DbFunctionError(match[1] as string, match[2] as string)
    : new DbFunctionError('database-error', message)
}

/** Map a driver error (node-postgres or PGlite) to the port's error types; others pass through. */
export function toDbError(error: unknown): unknown {
  if (!(error instanceof Error)) return error
  const raw = (error as { code?: unknown }).code
  const code = typeof raw === 'string' ? raw : ''
  if (code === 'P0001') {
    const mapped = parseFunctionError(error.message)
    return new DbFunctionError(mapped.code, mapped.detail, { cause: error })
  }
  if (NETWORK_CODES.has(code) || (code && isUnavailableSqlState(code))) {
    return new DbUnavailableError(`database unavailable (${code})`, { cause: error })
  }
  if (UNAVAILABLE_MESSAGES.some((re) => re.test(error.message))) {
    return new DbUnavailableError(`database unavailable: ${error.message}`, { cause: error })
  }
  return error
}
