import * as Sentry from '@sentry/cloudflare'
import type { ExecutionContext } from 'hono'
import {
  type ErrorReporter,
  NO_DATA_COLLECTION,
  reportFields,
  scrubEvent,
  withRequestTrace,
} from './error-report.js'
import type { SentryNodeOptions } from './sentry-node.js'

/**
 * Sentry on Workers (`@sentry/cloudflare`), for unexpected errors only. The SDK's documented
 * wrapper (`withSentry`) gives each request its client and isolation scope and flushes under
 * `waitUntil`; it is applied only when a DSN is configured (the entry asks on the first
 * request), so a Worker without one runs its plain handler. The same limits as on Node: no
 * default integrations (no fetch or console breadcrumbs, no request data), nothing collected
 * about the caller, `scrubEvent` before sending.
 */

type FetchHandler<E> = (
  request: Request,
  env: E,
  ctx: ExecutionContext,
) => Response | Promise<Response>

export function sentryWorkerOptions(options: SentryNodeOptions): Sentry.CloudflareOptions {
  return {
    dsn: options.dsn,
    environment: options.environment,
    ...(options.release ? { release: options.release } : {}),
    defaultIntegrations: false,
    integrations: [Sentry.linkedErrorsIntegration()],
    dataCollection: NO_DATA_COLLECTION,
    maxBreadcrumbs: 0,
    beforeSend: (event) => scrubEvent(event),
  }
}

/** `handler` under `withSentry`, with the options `options(env)` gives per request. */
export function withErrorReporting<E>(
  handler: FetchHandler<E>,
  options: (env: E) => Sentry.CloudflareOptions,
): FetchHandler<E> {
  const exported = { fetch: handler }
  Sentry.withSentry<E>(options as (env: unknown) => Sentry.CloudflareOptions, exported)
  return exported.fetch
}

/** Reports to the client `withSentry` set up for the current request. */
export function sentryWorkerReporter(): ErrorReporter {
  return {
    name: 'sentry',
    report(error, context) {
      const { tags, gateway } = reportFields(context)
      Sentry.withScope((scope) => {
        scope.setTags(tags)
        scope.setContext('gateway', gateway)
        scope.addEventProcessor((event) => withRequestTrace(event, context))
        Sentry.captureException(error)
      })
    },
    // `withSentry` flushes each request's events under `waitUntil`.
    close: () => Promise.resolve(),
  }
}
