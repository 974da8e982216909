import type { Context, MiddlewareHandler } from 'hono'
import type { AppEnv } from '../types.js'

/**
 * A layer every request passes through (request context, the gateway's response headers,
 * security headers, CORS), written as the two halves a middleware has around `next()`:
 * `before` may answer on its own (a CORS preflight); `after` sees the finished `c.res`.
 * Neither does I/O, and `before` does not throw (it only records headers and ids), so the
 * layers need no promise of their own.
 */
export interface Layer {
  readonly name: string
  before?(c: Context<AppEnv>): Response | undefined
  after?(c: Context<AppEnv>): void
}

/**
 * The layers as one middleware: befores in order, then the app (one `await next()`), then
 * afters in reverse, as nested middleware would run them. A layer that answers in `before`
 * skips the app and the layers inside it; the layers outside it still see its answer. One
 * async frame instead of one per layer (plus Hono's dispatch step for each) on every request.
 */
export function frame(layers: readonly Layer[]): MiddlewareHandler<AppEnv> {
  const befores = layers.map((l) => l.before)
  const afters = layers.map((l) => l.after)
  return async function frame(c, next) {
    let entered = 0
    let answer: Response | undefined
    while (entered < befores.length) {
      answer = befores[entered]?.(c)
      entered++
      if (answer) break
    }
    if (answer) {
      c.res = answer
      entered-- // the answering layer's own `after` does not run, as for a middleware
    } else {
      await next()
    }
    for (let i = entered - 1; i >= 0; i--) afters[i]?.(c)
  }
}

/** One layer as an ordinary middleware (tests, and apps that use a single layer). */
export function layerMiddleware(layer: Layer): MiddlewareHandler<AppEnv> {
  return frame([layer])
}
