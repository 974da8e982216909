import { Hono } from 'hono'
import { ROUTES } from '../../routes/index.js'
import { errorHandler } from '../../src/error-handler.js'
import { responseHeaders } from '../../src/middleware/response-headers.js'
import { createLogger } from '../../src/observability/log.js'
import type { RoutePolicy } from '../../src/route-table.js'
import type { AppEnv, RouteMatch } from '../../src/types.js'

/** A route match with the policy of a real route, overridden where a test needs it. */
export function routeMatch(id = 'payment-checkout', policy: Partial<RoutePolicy> = {}): RouteMatch {
  const def = ROUTES.find((r) => r.id === id)
  if (!def) throw new Error(`no route ${id}`)
  return {
    def: { ...def, policy: { ...def.policy, ...policy } },
    name: id,
    rest: '',
    unknown: false,
  }
}

/**
 * A tiny stand-in for the composition root: request id, the route resolved up front, the
 * problem+json error handler, and the middleware under test registered by `setup`.
 */
export function securityApp(
  setup: (app: Hono<AppEnv>) => void,
  route: RouteMatch | ((path: string) => RouteMatch | undefined) | undefined = routeMatch(),
): Hono<AppEnv> {
  const app = new Hono<AppEnv>()
  app.onError(errorHandler(createLogger({ level: 'error', write: () => {} })))
  app.use(async function testContext(c, next) {
    c.set('requestId', 'req-test')
    c.set('logFields', {})
    c.set('route', typeof route === 'function' ? route(c.req.path) : route)
    await next()
  })
  // As in the app: the gateway's headers (CORS, rate-limit) land on every response.
  app.use(responseHeaders())
  setup(app)
  return app
}
