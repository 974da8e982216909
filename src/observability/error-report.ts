import type { AppContext } from '../types.js'
import { maskPii, maskString } from './pii.js'

/**
 * Error reporting (Sentry) as the gateway core sees it: a port the error handler calls for an
 * unexpected error, implemented per runtime by `sentry-node.ts` and `sentry-worker.ts`. What a
 * report may carry is fixed here: ids and the masked path, never a body, a header, an address
 * or a user.
 */

/** What a report says about the request besides the error. */
export interface ErrorContext {
  requestId: string
  /** The route id (`payment-checkout`), undefined when no route was resolved. */
  routeId: string | undefined
  /** The W3C trace id of the request (32 hex digits), when it has one. */
  traceId: string | undefined
  /** The gateway's span of the request in that trace (16 hex digits). */
  spanId?: string
  method: string
  /** The request path; masked with `maskString` before it leaves. */
  path: string
  /** What the client got instead, when not the 500 (`replayed-to-legacy`). */
  outcome?: string
}

/** The report context of the request `c`. */
export function requestErrorContext(c: AppContext, outcome?: string): ErrorContext {
  const trace = c.get('trace')
  return {
    requestId: c.get('requestId') ?? 'unknown',
    routeId: c.get('route')?.def.id,
    traceId: trace?.traceId,
    spanId: trace?.spanId,
    method: c.req.method,
    path: c.req.path,
    ...(outcome ? { outcome } : {}),
  }
}

export interface ErrorReporter {
  /** The service reports go to (`sentry`), for the start-up line. */
  readonly name: string
  /** Queue a report of an unexpected error. Never throws and never waits for the network. */
  report(error: unknown, context: ErrorContext): void
  /** Send what is queued, waiting at most `timeoutMs` (shutdown). */
  close(timeoutMs: number): Promise<void>
}

/**
 * A reporter whose implementation is imported on first use: the Workers bundle always holds the
 * SDK, but an isolate without a DSN never evaluates it.
 */
export function deferredReporter(name: string, load: () => Promise<ErrorReporter>): ErrorReporter {
  let loaded: Promise<ErrorReporter> | undefined
  const reporter = () => {
    loaded ??= load()
    return loaded
  }
  return {
    name,
    report(error, context) {
      reporter().then(
        (r) => r.report(error, context),
        () => {},
      )
    },
    close: (timeoutMs) => reporter().then((r) => r.close(timeoutMs)),
  }
}

/** The parts of a Sentry event that can carry data about a person, typed loosely on purpose. */
export interface ScrubbableEvent {
  message?: string
  request?: unknown
  user?: unknown
  breadcrumbs?: unknown
  extra?: Record<string, unknown>
  tags?: Record<string, unknown>
  contexts?: Record<string, unknown>
  exception?: { values?: Array<{ value?: string }> }
  logentry?: { message?: string; formatted?: string; params?: unknown[] }
}

const TAG_LIMIT = 200

/**
 * The SDKs' `dataCollection` option: collect nothing about the caller or the payloads (every
 * category defaults to on). `scrubEvent` removes the same things again, in case an integration
 * does not honour it.
 */
export const NO_DATA_COLLECTION = {
  userInfo: false,
  cookies: false,
  httpHeaders: false,
  httpBodies: [] as never[],
  urlQueryParams: false,
  graphQL: { document: false, variables: false },
  genAI: { inputs: false, outputs: false },
  databaseQueryData: false,
  queues: false,
  stackFrameVariables: false,
  frameContextLines: 0,
}

/**
 * The `beforeSend` of both runtimes: removes what an SDK or an integration may have attached
 * about the caller (request with headers, cookies, body and query; user and IP; breadcrumbs,
 * which hold URLs and console lines) and masks what is left (exception messages, tags, extra
 * and contexts) with the log masking rules. The trace context is kept: it only holds ids.
 *
 * @example Sentry.init({ dsn, beforeSend: (event) => scrubEvent(event) })
 */
export function scrubEvent<E extends ScrubbableEvent>(event: E): E {
  delete event.request
  delete event.user
  delete event.breadcrumbs
  if (event.message !== undefined) event.message = maskString(event.message)
  if (event.logentry) {
    event.logentry = {
      ...(event.logentry.message !== undefined
        ? { message: maskString(event.logentry.message) }
        : {}),
      ...(event.logentry.formatted !== undefined
        ? { formatted: maskString(event.logentry.formatted) }
        : {}),
    }
  }
  for (const exception of event.exception?.values ?? []) {
    if (exception.value !== undefined) exception.value = maskString(exception.value)
  }
  if (event.extra) event.extra = maskPii(event.extra) as Record<string, unknown>
  if (event.tags) {
    for (const [key, value] of Object.entries(event.tags)) {
      event.tags[key] = typeof value === 'string' ? maskString(value).slice(0, TAG_LIMIT) : value
    }
  }
  if (event.contexts) {
    const { trace, ...others } = event.contexts
    event.contexts = {
      ...(maskPii(others) as Record<string, unknown>),
      ...(trace !== undefined ? { trace } : {}),
    }
  }
  return event
}

/** The tags and context a report carries: the same on both runtimes. */
export function reportFields(context: ErrorContext) {
  return {
    tags: {
      request_id: context.requestId,
      route: context.routeId ?? 'none',
      ...(context.traceId ? { trace_id: context.traceId } : {}),
      ...(context.outcome ? { outcome: context.outcome } : {}),
    },
    gateway: {
      requestId: context.requestId,
      route: context.routeId ?? null,
      method: context.method,
      path: maskString(context.path.slice(0, 500)),
    },
  }
}

/**
 * Puts the request's W3C trace on the event (`contexts.trace`), so Sentry links it to the
 * trace the logs and the exported spans carry, whatever span the SDK had open.
 */
export function withRequestTrace<E extends ScrubbableEvent>(event: E, context: ErrorContext): E {
  if (!context.traceId) return event
  event.contexts = {
    ...event.contexts,
    trace: { trace_id: context.traceId, ...(context.spanId ? { span_id: context.spanId } : {}) },
  }
  return event
}

/**
 * Where a DSN sends to, for the start-up line: the host only (its user part is the project's
 * key, a secret).
 */
export function dsnHost(dsn: string): string {
  return new URL(dsn).host
}
