import { Hono } from 'hono'
import { errorHandler } from '../../src/error-handler.js'
import { createLogger } from '../../src/observability/log.js'
import type { AppEnv, NativeHandler } from '../../src/types.js'

/**
 * Test-only: the parts of the gateway a native AI handler relies on (request id, verified
 * identity, problem+json errors, log fields), without the rest of the pipeline.
 * The user id comes from `x-test-user`.
 */
export function aiTestApp(handlers: Record<string, NativeHandler>) {
  const logFields: Record<string, unknown>[] = []
  const sideEffects: boolean[] = []
  const app = new Hono<AppEnv>()
  app.use(async (c, next) => {
    c.set('requestId', crypto.randomUUID())
    c.set('sideEffect', false)
    c.set('logFields', {})
    const subject = c.req.header('x-test-user')
    c.set('identity', { subject, role: 'authenticated', claims: { sub: subject }, verified: true })
    await next()
    logFields.push(c.var.logFields)
    sideEffects.push(c.var.sideEffect)
  })
  for (const [id, handler] of Object.entries(handlers)) {
    app.post(`/functions/v1/${id}`, (c) => handler(c))
  }
  app.onError(errorHandler(createLogger({ level: 'error', write: () => {} })))
  return { app, logFields, sideEffects }
}

/** A logger that keeps its lines, to assert nothing sensitive is written. */
export function memoryLogger() {
  const lines: string[] = []
  return { logger: createLogger({ level: 'debug', write: (l) => lines.push(l) }), lines }
}

export function post(
  app: Hono<AppEnv>,
  id: string,
  user: string,
  body: unknown,
  headers: Record<string, string> = {},
) {
  return app.request(`/functions/v1/${id}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-test-user': user, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
}
