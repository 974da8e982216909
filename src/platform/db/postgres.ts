import pg from 'pg'
import { buildFunctionCall } from './call-sql.js'
import { toDbError } from './errors.js'
import type { Db } from './port.js'

export interface PostgresDbOptions {
  connectionString: string
  /** Pool size; Cloud Run instances are small, so a few connections each. */
  max?: number
  /** Time to get a connection before the call fails as unavailable. */
  connectionTimeoutMs?: number
  /** Server-side cap per statement, so a stuck lock cannot hold a request forever. */
  statementTimeoutMs?: number
  /** Called with pool-level errors (an idle connection dropped by the server). */
  onPoolError?: (error: Error) => void
}

/**
 * The port over node-postgres (Node only). Each `call` is one statement, so each SQL function
 * runs in its own transaction.
 *
 * @example
 * const db = createPostgresDb({ connectionString: config.DATABASE_URL })
 * const order = await db.call('checkout_create_order', { p_user_id, p_items })
 */
export function createPostgresDb({
  connectionString,
  max = 10,
  connectionTimeoutMs = 5_000,
  statementTimeoutMs = 15_000,
  onPoolError = () => {},
}: PostgresDbOptions): Db & { pool: pg.Pool } {
  const pool = new pg.Pool({
    connectionString,
    max,
    connectionTimeoutMillis: connectionTimeoutMs,
    statement_timeout: statementTimeoutMs,
  })
  // Without a listener, an idle client's error would crash the process.
  pool.on('error', onPoolError)

  return {
    kind: 'postgres',
    pool,
    async call<T>(fn: string, args: Record<string, unknown>): Promise<T> {
      const { text, values } = buildFunctionCall(fn, args)
      try {
        const result = await pool.query(text, values)
        return result.rows[0]?.result as T
      } catch (error) {
        throw toDbError(error)
      }
    },
    async ping() {
      try {
        await pool.query('select 1')
        return true
      } catch {
        return false
      }
    },
    async close() {
      await pool.end()
    },
  }
}
