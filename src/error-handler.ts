import type { Context } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { DependencyUnavailableError, GatewayError, problemResponse } from './errors.js'
import { type ErrorReporter, requestErrorContext } from './observability/error-report.js'
import { errorFields, type Logger } from './observability/log.js'
import { gatewayProblem, notFound } from './problems.js'
import type { AppEnv } from './types.js'

/**
 * The app's error handler (`app.onError`): every error leaves as problem+json. A
 * `GatewayError` is rendered as is (logged when it is a 5xx), Hono's `HTTPException` keeps its
 * status, a `DependencyUnavailableError` that was not replayed is a 503 `dependency-unavailable`,
 * and anything else is a logged 500 `internal` that says nothing of its cause. Test
 * harnesses install this same handler.
 *
 * Only that last kind goes to the error `reporter` (Sentry, when configured): a problem the
 * gateway answers on purpose, 4xx or 5xx (an upstream timeout, a dependency down), is an
 * outcome it planned for, logged and counted, not a bug to report.
 */
export function errorHandler(logger: Logger, reporter?: ErrorReporter) {
  return function onError(error: Error, c: Context<AppEnv>): Response {
    const requestId = c.get('requestId') ?? 'unknown'
    if (error instanceof GatewayError) {
      if (error.status >= 500)
        logger.error('gateway error', {
          requestId,
          code: error.code,
          ...errorFields(error.cause ?? error),
        })
      return problemResponse(error, requestId)
    }
    if (error instanceof DependencyUnavailableError) {
      // A database or vendor the native route needs is down (and the request was not
      // replayed): the client retries later. Which dependency is only logged.
      logger.error('dependency unavailable', {
        requestId,
        dependency: error.dependency,
        ...errorFields(error.cause ?? error),
      })
      return problemResponse(
        gatewayProblem('dependency-unavailable', {
          detail: 'A service this route needs is unavailable; retry later',
        }),
        requestId,
      )
    }
    if (error instanceof HTTPException) {
      // A library's exception keeps its own status and message: the one problem that is not
      // in a catalogue, since its status is the library's choice.
      const status = error.status
      return problemResponse(
        new GatewayError({
          status,
          code: status === 413 ? 'payload-too-large' : 'http-error',
          title: error.message || 'Request refused',
        }),
        requestId,
      )
    }
    const routeId = c.get('route')?.def.id
    logger.error('unhandled error', { requestId, route: routeId, ...errorFields(error) })
    reporter?.report(error, requestErrorContext(c))
    return problemResponse(
      gatewayProblem('internal', {
        detail: 'The gateway failed to handle the request; quote the request id when reporting it',
      }),
      requestId,
    )
  }
}

/** The app's answer for a path no route serves (`app.notFound`). */
export function notFoundHandler(c: Context<AppEnv>): Response {
  return problemResponse(
    notFound(`No route at ${c.req.path.slice(0, 200)}`),
    c.get('requestId') ?? 'unknown',
  )
}
