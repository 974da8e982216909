import { maskPii } from './pii.js'

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 }

export type LogFields = Record<string, unknown>

/**
 * One JSON object per line. Every field goes through `maskPii` before it is written, so no
 * caller can put a secret or personal data in a log line by accident.
 */
export interface Logger {
  debug(msg: string, fields?: LogFields): void
  info(msg: string, fields?: LogFields): void
  warn(msg: string, fields?: LogFields): void
  error(msg: string, fields?: LogFields): void
  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger
  /** Whether lines of `level` are written (to skip building fields that would be dropped). */
  enabled(level: LogLevel): boolean
}

export interface LoggerOptions {
  level?: LogLevel
  /** Where lines go; stdout by default (Cloud Run and Workers both collect it). */
  write?: (line: string) => void
  /** Fields on every line (service name, environment). */
  base?: LogFields
  clock?: () => number
}

export function createLogger({
  level = 'info',
  write = (line) => console.log(line),
  base = {},
  clock = Date.now,
}: LoggerOptions = {}): Logger {
  const threshold = LEVELS[level]
  const make = (bound: LogFields): Logger => {
    const emit = (lvl: LogLevel, msg: string, fields?: LogFields) => {
      if (LEVELS[lvl] < threshold) return
      const record = maskPii({ ...bound, ...fields, msg }) as LogFields
      write(JSON.stringify({ time: new Date(clock()).toISOString(), level: lvl, ...record }))
    }
    return {
      debug: (msg, fields) => emit('debug', msg, fields),
      info: (msg, fields) => emit('info', msg, fields),
      warn: (msg, fields) => emit('warn', msg, fields),
      error: (msg, fields) => emit('error', msg, fields),
      child: (fields) => make({ ...bound, ...fields }),
      enabled: (lvl) => LEVELS[lvl] >= threshold,
    }
  }
  return make(base)
}

/** Error fields safe for a log line: name, message and code, never the stack of a client error. */
export function errorFields(error: unknown): LogFields {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code
    return {
      error: error.name,
      errorMessage: error.message,
      ...(code !== undefined ? { errorCode: String(code) } : {}),
    }
  }
  return { error: String(error) }
}
