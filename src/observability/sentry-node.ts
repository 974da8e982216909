import {
  type ErrorReporter,
  NO_DATA_COLLECTION,
  reportFields,
  scrubEvent,
  withRequestTrace,
} from './error-report.js'

export interface SentryNodeOptions {
  dsn: string
  environment: string
  release?: string
}

/**
 * Sentry on Node (`@sentry/node`), for unexpected errors only. The SDK is imported when a DSN
 * is configured, so a gateway without one neither loads nor bundles it (the Node build keeps
 * it external). It is set up without its default integrations: no HTTP or fetch patching, no
 * console or breadcrumb capture, no process handlers, no tracer provider (traces go to
 * OpenTelemetry when that is configured), so nothing about requests reaches Sentry except
 * what `report` puts there, and `scrubEvent` checks even that.
 */
export async function sentryNodeReporter(options: SentryNodeOptions): Promise<ErrorReporter> {
  const Sentry = await import('@sentry/node')
  const client = Sentry.initWithoutDefaultIntegrations({
    dsn: options.dsn,
    environment: options.environment,
    ...(options.release ? { release: options.release } : {}),
    dataCollection: NO_DATA_COLLECTION,
    enableOpenTelemetrySetup: false,
    enableRuntimeChannelInjection: false,
    // The cause chain (`new Error(…, { cause })`) shows what failed underneath.
    integrations: [Sentry.linkedErrorsIntegration()],
    maxBreadcrumbs: 0,
    beforeSend: (event) => scrubEvent(event),
  })
  return {
    name: 'sentry',
    report(error, context) {
      if (!client) return
      const { tags, gateway } = reportFields(context)
      Sentry.withScope((scope) => {
        scope.setTags(tags)
        scope.setContext('gateway', gateway)
        scope.addEventProcessor((event) => withRequestTrace(event, context))
        Sentry.captureException(error)
      })
    },
    async close(timeoutMs) {
      await Sentry.close(timeoutMs)
    },
  }
}
