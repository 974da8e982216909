/**
 * Every error the gateway itself produces is one `GatewayError`, rendered as
 * `application/problem+json` (RFC 9457). `code` is stable: clients branch on it, and the
 * `type` URI is derived from it. Each code the gateway answers is declared once in a problem
 * catalogue (`defineProblems`): the gateway's own in `src/problems.ts`, a feature's in its
 * folder (`routes/<feature>/problems.ts`).
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

export const PROBLEM_TYPE_BASE = 'https://bff.dev/problems/'

/** The `type` URI of a problem code. */
export const problemType = (code: string) => PROBLEM_TYPE_BASE + code

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

  /** The same problem with members replaced (a copy: the error keeps its code and status). */
  with(changes: Pick<GatewayErrorOptions, 'detail' | 'errors' | 'headers' | 'extra'>) {
    return new GatewayError({
      status: this.status,
      code: this.code,
      title: this.title,
      detail: this.detail,
      errors: this.errors,
      headers: this.headers,
      extra: this.extra,
      cause: this.cause,
      ...changes,
    })
  }
}

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
    type: problemType(error.code),
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

/** One entry of a problem catalogue, as its module declares it. */
export interface ProblemSpec {
  /**
   * The code answered, when it is not the entry's key: entries of one scope that share a code
   * with different titles, or a SQL function's code answered as another.
   */
  code?: string
  status: number
  /** Other statuses one occurrence may answer with (`ProblemInit.status`). */
  otherStatuses?: readonly number[]
  title: string
  /** Sent as `Retry-After` unless the call names its own. */
  retryAfterSeconds?: number
  /**
   * When a SQL function raises the code (`src/platform/db/problems.ts`): the field at fault
   * (`field`), or what the function's detail text is, the field at fault (`detail: 'field'`,
   * its first word) or the current state (`detail: 'state'`, answered as `state`).
   */
  sql?: { field?: string; detail?: 'field' | 'state' }
}

/** A catalogue entry: the spec with its code, `type` URI and the scope that declares it. */
export interface Problem extends ProblemSpec {
  /** The entry's name in its scope (its code unless the spec names another). */
  readonly key: string
  readonly code: string
  readonly type: string
  /** `gateway` for the core's problems, else the feature's folder name. */
  readonly scope: string
}

/** What one occurrence of a problem adds to its catalogue entry. */
export interface ProblemInit {
  /** One of the entry's `otherStatuses`, when this occurrence answers with it. */
  status?: number
  detail?: string
  /** The one field at fault, its message the detail (or the title): shorthand for `errors`. */
  field?: string
  errors?: FieldProblem[]
  headers?: Record<string, string>
  /** Overrides the entry's `retryAfterSeconds` (0: no `Retry-After`). */
  retryAfterSeconds?: number
  extra?: Record<string, unknown>
  cause?: unknown
}

/** The problems one scope declares, by key (the code, unless an entry names another). */
export interface ProblemSet<C extends string = string> {
  readonly scope: string
  /** Every entry, in declaration order (OpenAPI, the catalogue test). */
  readonly entries: readonly Problem[]
  get(key: C): Problem
  has(key: string): key is C
  /** The `GatewayError` of entry `key`, with what this occurrence adds. */
  error(key: C, init?: ProblemInit): GatewayError
}

/** The `GatewayError` of a catalogue entry. */
export function problemError(problem: Problem, init: ProblemInit = {}): GatewayError {
  const retryAfter = init.retryAfterSeconds ?? problem.retryAfterSeconds
  const status = init.status ?? problem.status
  if (status !== problem.status && !problem.otherStatuses?.includes(status)) {
    throw new TypeError(`problem ${problem.code}: status ${status} is not in its catalogue entry`)
  }
  return new GatewayError({
    status,
    code: problem.code,
    title: problem.title,
    detail: init.detail,
    errors:
      init.field === undefined
        ? init.errors
        : [{ field: init.field, message: init.detail ?? problem.title }],
    headers: retryAfter ? { ...init.headers, 'retry-after': String(retryAfter) } : init.headers,
    extra: init.extra,
    cause: init.cause,
  })
}

const KEBAB = /^[a-z0-9]+(-[a-z0-9]+)*$/

/**
 * Declare the problems of one scope: `gateway` (`src/problems.ts`) or a feature
 * (`routes/<feature>/problems.ts`). Codes are kebab-case; a code may appear in several scopes
 * (each with its own title) but always with one status, which the catalogue test checks over
 * every scope (`routes/index.ts`, `PROBLEM_SETS`).
 *
 * @example
 * export const SETTLEMENT_PROBLEMS = defineProblems('settlement', {
 *   'ops-only': { status: 403, title: 'Only ops may do this' },
 * })
 * throw SETTLEMENT_PROBLEMS.error('ops-only', { detail: 'Only ops may confirm' })
 */
export function defineProblems<C extends string>(
  scope: string,
  specs: Record<C, ProblemSpec>,
): ProblemSet<C> {
  const byKey = new Map<string, Problem>()
  for (const [key, spec] of Object.entries<ProblemSpec>(specs)) {
    const code = spec.code ?? key
    for (const name of [key, code]) {
      if (!KEBAB.test(name)) throw new TypeError(`problems ${scope}: ${name} is not kebab-case`)
    }
    byKey.set(key, Object.freeze({ ...spec, key, code, type: problemType(code), scope }))
  }
  const get = (key: C) => byKey.get(key) as Problem
  return {
    scope,
    entries: [...byKey.values()],
    get,
    has: (key: string): key is C => byKey.has(key),
    error: (key, init) => problemError(get(key), init),
  }
}
