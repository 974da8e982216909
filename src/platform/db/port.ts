import { AppError } from '../../errors.js'
/**
 * The database port: one narrow interface over supabase-js `rpc()`, a direct Postgres driver
 * and embedded PGlite. Every multi-step change is one SQL function called by name with named
 * arguments, so all three adapters behave the same.
 */
export interface Db {
  /** Call `public.<fn>(name => value, ...)` and return its result (a scalar, row or jsonb). */
  call<T = unknown>(fn: string, args: Record<string, unknown>): Promise<T>
  /** Adapter name for logs and /ready: `postgres`, `pglite`, `supabase`. */
  readonly kind: string
  /** Cheap reachability check for /ready. */
  ping(): Promise<boolean>
  close(): Promise<void>
}

/** Raised when the database cannot be reached (before any effect): callers may fall back. */
export class DbUnavailableError extends AppError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'DbUnavailableError'
  }
}

/** Raised by a SQL function with a stable code (`RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'code: detail'`). */
export class DbFunctionError extends AppError {
  constructor(
    readonly code: string,
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${code}: ${detail}`, options)
    this.name = 'DbFunctionError'
  }
}
