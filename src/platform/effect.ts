import type { AppContext } from '../types.js'
import { DbFunctionError, DbUnavailableError } from './db/port.js'

/**
 * Mark that this request is about to cause an effect outside the process (a committing write,
 * a vendor call that may act). Call it immediately **before** that write or call, never after:
 * from then on a failure of the native attempt is never replayed to legacy on a
 * `before-effect` route, even when the write's answer was lost (a timeout or a connection
 * reset after the commit). The first effect's name goes to the access log as `effect`.
 */
export function markEffect(c: AppContext, effect: string): void {
  if (c.var.sideEffect) return
  c.set('sideEffect', true)
  c.set('logFields', { ...c.var.logFields, effect })
}

/**
 * `markEffect`, then run the database call that is the effect. When the call fails in a way
 * that proves nothing was committed, the mark is taken back: the SQL function raised (its
 * transaction rolled back), or the connection was never made (refused, unknown host). Any
 * other failure (a timeout, a reset connection) may have committed, and the mark stays.
 *
 * @example
 * const order = await withEffect(c, 'order-create', () => db.call('checkout_create_order', args))
 */
export async function withEffect<T>(
  c: AppContext,
  effect: string,
  run: () => Promise<T>,
): Promise<T> {
  const alreadyMarked = c.var.sideEffect
  markEffect(c, effect)
  try {
    return await run()
  } catch (error) {
    if (!alreadyMarked && nothingCommitted(error)) {
      c.set('sideEffect', false)
      const { effect: _dropped, ...rest } = c.var.logFields ?? {}
      c.set('logFields', rest)
    }
    throw error
  }
}

/** Connection errors that prove the statement was never sent. */
const NOT_CONNECTED = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
])

function nothingCommitted(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 5; depth++) {
    if (e instanceof DbFunctionError) return true
    if (e instanceof DbUnavailableError) {
      const code = (e.cause as { code?: unknown } | undefined)?.code
      return typeof code === 'string' && NOT_CONNECTED.has(code)
    }
    e = (e as { cause?: unknown }).cause
  }
  return false
}
