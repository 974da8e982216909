import type { AppContext } from '../types.js'

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
