/**
 * Every error the gateway itself produces is one `GatewayError`, rendered as
 * `application/problem+json` (RFC 9457). `code` is stable: clients branch on it, and the
 * `type` URI is derived from it.
 */

/**
 * The base of every error class the gateway defines (problems, configuration, flags, stores,
 * database, vendors): `instanceof AppError` tells the gateway's own errors from a library's.
 */
export class AppError extends Error {
  constructor(message?: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = new.target.name
  }
}

export interface FieldProblem {
  /** JSON-pointer-ish path of the field at fault, e.g. `items.0.quantity` or `header:origin`. */
  field: string
  message: string
}

export interface GatewayErrorOptions {
  status: number
  code: string
  title: string
  detail?: string
  errors?: FieldProblem[]
  headers?: Record<string, string>
  cause?: unknown
  /** Extra members for the problem document (never secrets or personal data). */
  extra?: Record<string, unknown>
}

export class GatewayError extends AppError {
  readonly status: number
  readonly code: string
  readonly title: string
  readonly detail: string | undefined
  readonly errors: FieldProblem[] | undefined
  readonly headers: Record<string, string>
  readonly extra: Record<string, unknown> | undefined

  constructor(options: GatewayErrorOptions) {
    super(options.detail ?? options.title, { cause: options.cause })
    this.name = 'GatewayError'
    this.status = options.status
    this.code = options.code
    this.title = options.title
    this.detail = options.detail
    this.errors = options.errors
    this.headers = options.headers ?? {}
    this.extra = options.extra
  }
}

export const PROBLEM_TYPE_BASE = 'https://bff.dev/problems/'

export interface ProblemDocument {
  type: string
  title: string
  status: number
  detail: string
  code: string
  requestId: string
  errors?: FieldProblem[]
  [member: string]: unknown
}

export function problemDocument(error: GatewayError, requestId: string): ProblemDocument {
  return {
    ...error.extra,
    type: PROBLEM_TYPE_BASE + error.code,
    title: error.title,
    status: error.status,
    detail: error.detail ?? error.title,
    code: error.code,
    requestId,
    ...(error.errors ? { errors: error.errors } : {}),
  }
}

/** Render a problem as a Response; `x-relay-error` is never set (supabase-js treats it as relay failure). */
export function problemResponse(error: GatewayError, requestId: string): Response {
  const headers = new Headers(error.headers)
  headers.set('content-type', 'application/problem+json')
  headers.set('cache-control', 'no-store')
  return new Response(JSON.stringify(problemDocument(error, requestId)), {
    status: error.status,
    headers,
  })
}

// Constructors for the problems more than one module raises.

export const badRequest = (detail: string, errors?: FieldProblem[]) =>
  new GatewayError({ status: 400, code: 'bad-request', title: 'Bad request', detail, errors })

export const validationFailed = (errors: FieldProblem[]) =>
  new GatewayError({
    status: 422,
    code: 'validation-failed',
    title: 'The request did not pass validation',
    detail: errors.map((e) => `${e.field}: ${e.message}`).join('; '),
    errors,
  })

export const notFound = (detail: string) =>
  new GatewayError({ status: 404, code: 'not-found', title: 'Not found', detail })

export const methodNotAllowed = (allowed: readonly string[]) =>
  new GatewayError({
    status: 405,
    code: 'method-not-allowed',
    title: 'Method not allowed',
    detail: `Allowed: ${allowed.join(', ')}`,
    headers: { allow: allowed.join(', ') },
  })

export const upstreamTimeout = (detail: string) =>
  new GatewayError({ status: 504, code: 'upstream-timeout', title: 'Upstream timed out', detail })

export const upstreamUnavailable = (detail: string, cause?: unknown) =>
  new GatewayError({
    status: 502,
    code: 'upstream-unavailable',
    title: 'Upstream unavailable',
    detail,
    cause,
  })

export const serviceUnavailable = (
  detail: string,
  retryAfterSeconds: number,
  code = 'unavailable',
) =>
  new GatewayError({
    status: 503,
    code,
    title: 'Service unavailable',
    detail,
    headers: { 'retry-after': String(retryAfterSeconds) },
  })

/**
 * A dependency (database, vendor) is unreachable. Whether the request is replayed to legacy
 * depends on the route's replay policy and the effect mark, not on this error; otherwise the
 * client gets 503 `dependency-unavailable` with `Retry-After`.
 */
export class DependencyUnavailableError extends AppError {
  constructor(
    readonly dependency: string,
    options?: { cause?: unknown },
  ) {
    super(`${dependency} is unavailable`, options)
    this.name = 'DependencyUnavailableError'
  }
}

/** Map zod issues to field problems. */
export function fieldProblemsFromZod(
  issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>,
  prefix = '',
): FieldProblem[] {
  return issues.map((issue) => ({
    field: prefix + (issue.path.length ? issue.path.map(String).join('.') : '(root)'),
    message: issue.message,
  }))
}
