import type { Context, MiddlewareHandler } from 'hono'
import type { AppEnv } from '../types.js'

const done = Promise.resolve()
const proceed = () => done

/**
 * Runs guard middleware one after another, then `handler`, as one Hono handler. The routed
 * steps (resolve, Origin, body limit, identity, rate limit, decision) only act before `next()`,
 * so nesting them through Hono's compose buys nothing but a promise chain per request on the
 * hottest path. A step that answers without calling `next()` ends the sequence with its
 * response; a step that throws goes to the app's error handler as usual.
 */
export function sequence(
  steps: readonly MiddlewareHandler<AppEnv>[],
  handler: (c: Context<AppEnv>) => Promise<Response>,
) {
  return async function routed(c: Context<AppEnv>): Promise<Response> {
    for (const step of steps) {
      let proceeded = false
      const result = step(c, () => {
        proceeded = true
        return proceed()
      })
      // Steps that need no I/O answer synchronously; awaiting them would cost a tick each.
      const answer = result instanceof Promise ? await result : result
      if (!proceeded) return answer instanceof Response ? answer : c.res
    }
    return handler(c)
  }
}
