import {
  defineProblems,
  type FieldProblem,
  type GatewayError,
  type Problem,
  type ProblemInit,
  problemError,
} from './errors.js'

/**
 * The gateway's own problems: every code the core, the rollout runtime, the admin surface and
 * the legacy proxy answer with. A feature declares its own in `routes/<feature>/problems.ts`;
 * `routes/index.ts` lists them all (`PROBLEM_SETS`).
 */
export const GATEWAY_PROBLEMS = defineProblems('gateway', {
  // Requests the gateway cannot read
  'bad-request': { status: 400, title: 'Bad request' },
  'validation-failed': { status: 422, title: 'The request did not pass validation' },
  'invalid-function-path': { status: 400, title: 'Invalid function path' },
  'not-found': { status: 404, title: 'Not found' },
  'method-not-allowed': { status: 405, title: 'Method not allowed' },
  'duplicate-authorization': { status: 400, title: 'More than one Authorization header' },
  'invalid-backend-override': { status: 400, title: 'Invalid backend override' },
  'body-not-allowed': { status: 400, title: 'Request body not allowed' },
  'ambiguous-framing': { status: 400, title: 'Ambiguous request framing' },
  'body-timeout': { status: 408, title: 'Request body too slow' },
  'payload-too-large': { status: 413, title: 'Payload too large' },
  'client-closed': { status: 499, title: 'Client closed the request' },
  // A constraint the request broke that no SQL function named (src/platform/db/problems.ts)
  conflict: {
    status: 409,
    title: 'The request conflicts with the current state; fetch it and try again',
  },
  'invalid-value': { status: 422, title: 'A value in the request is out of range or malformed' },

  // Who may call
  'authentication-required': { status: 401, title: 'Authentication required' },
  'invalid-token': { status: 401, title: 'Invalid access token' },
  'token-expired': { status: 401, title: 'Access token expired' },
  'forbidden-role': { status: 403, title: 'Forbidden for this role' },
  'user-required': { status: 403, title: 'A signed-in user is required' },
  'origin-not-allowed': { status: 403, title: 'Origin not allowed' },
  'canary-token-required': { status: 403, title: 'Canary override refused' },
  'canary-disabled': { status: 403, title: 'Canary override refused' },
  'canary-token-malformed': { status: 403, title: 'Canary override refused' },
  'canary-token-expired': { status: 403, title: 'Canary override refused' },
  'canary-token-bad-signature': { status: 403, title: 'Canary override refused' },
  'canary-token-wrong-environment': { status: 403, title: 'Canary override refused' },
  'canary-token-lifetime-too-long': { status: 403, title: 'Canary override refused' },
  'rate-limited': { status: 429, title: 'Too many requests' },

  // The gateway or what it depends on
  internal: { status: 500, title: 'Internal error' },
  misconfigured: { status: 500, title: 'Gateway misconfigured' },
  'upstream-unavailable': { status: 502, title: 'Upstream unavailable' },
  'upstream-timeout': { status: 504, title: 'Upstream timed out' },
  'dependency-unavailable': { status: 503, title: 'Service unavailable', retryAfterSeconds: 5 },
  'rate-limiter-unavailable': { status: 503, title: 'Service unavailable' },
  'legacy-function-busy': { status: 503, title: 'Legacy function busy', retryAfterSeconds: 1 },

  // Operations: /metrics and the admin surface
  unauthorized: { status: 401, title: 'Unauthorized' },
  'metrics-disabled': { status: 403, title: 'Forbidden' },
  'admin-disabled': { status: 403, title: 'Admin access is not configured' },
  'invalid-admin-token': { status: 401, title: 'Invalid admin token' },
  'cross-origin-refused': { status: 403, title: 'Cross-origin request refused' },
  'csrf-refused': { status: 403, title: 'Form token refused' },
  'admin-locked-out': { status: 429, title: 'Too many admin requests' },
  'admin-rate-limited': { status: 429, title: 'Too many admin requests' },
  'version-conflict': { status: 409, title: 'The flag table changed' },
  'flag-store-unavailable': { status: 503, title: 'Flag store unavailable', retryAfterSeconds: 5 },
  'already-at-last-stage': { status: 409, title: 'Already at the last stage' },
  'ramp-gate-refused': { status: 409, title: 'The ramp gate refuses this step' },
  'fleet-figures-unavailable': { status: 503, title: 'Fleet figures unavailable' },
  'audit-failed': { status: 500, title: 'Change applied, audit trail unavailable' },
})

export type GatewayProblemCode = Parameters<typeof GATEWAY_PROBLEMS.get>[0]

/** The `GatewayError` of one of the gateway's own problems. */
export const gatewayProblem = (code: GatewayProblemCode, init?: ProblemInit): GatewayError =>
  GATEWAY_PROBLEMS.error(code, init)

// Constructors for the problems more than one module raises.

export const badRequest = (detail: string, errors?: FieldProblem[]) =>
  gatewayProblem('bad-request', { detail, errors })

export const validationFailed = (errors: FieldProblem[]) =>
  gatewayProblem('validation-failed', {
    detail: errors.map((e) => `${e.field}: ${e.message}`).join('; '),
    errors,
  })

export const notFound = (detail: string) => gatewayProblem('not-found', { detail })

export const methodNotAllowed = (allowed: readonly string[]) =>
  gatewayProblem('method-not-allowed', {
    detail: `Allowed: ${allowed.join(', ')}`,
    headers: { allow: allowed.join(', ') },
  })

export const upstreamTimeout = (detail: string) => gatewayProblem('upstream-timeout', { detail })

export const upstreamUnavailable = (detail: string, cause?: unknown) =>
  gatewayProblem('upstream-unavailable', { detail, cause })

export const invalidFunctionPath = (detail: string) =>
  gatewayProblem('invalid-function-path', { detail })

// Bearer authentication: each 401/403 carries the `WWW-Authenticate` challenge of RFC 6750
// section 3, so OAuth-aware clients (supabase-js refreshes its session on 401) react.

export interface BearerChallenge {
  realm?: string
  /** RFC 6750 section 3.1: none when the request carried no credentials. */
  error?: 'invalid_token' | 'insufficient_scope'
  description?: string
}

/** RFC 6750 allows only %x20-21 / %x23-5B / %x5D-7E in a quoted parameter. */
function quotable(text: string): string {
  return text.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, '')
}

/** The `WWW-Authenticate` value of a bearer challenge. */
export function bearerChallenge({ realm, error, description }: BearerChallenge = {}): string {
  const params = [
    realm === undefined ? undefined : `realm="${quotable(realm)}"`,
    error === undefined ? undefined : `error="${error}"`,
    description === undefined ? undefined : `error_description="${quotable(description)}"`,
  ].filter((param) => param !== undefined)
  return params.length ? `Bearer ${params.join(', ')}` : 'Bearer'
}

/** A problem of bearer authentication (any scope's 401 or 403) with its challenge. */
export function bearerProblem(
  problem: Problem,
  detail: string,
  challenge: BearerChallenge = {},
): GatewayError {
  return problemError(problem, {
    detail,
    headers: { 'www-authenticate': bearerChallenge(challenge) },
  })
}

/** A token was presented but is not acceptable (RFC 6750 `invalid_token`). */
export function invalidToken(
  description: string,
  code: 'invalid-token' | 'token-expired' = 'invalid-token',
) {
  return bearerProblem(GATEWAY_PROBLEMS.get(code), description, {
    error: 'invalid_token',
    description,
  })
}

/** No usable credentials: per RFC 6750 section 3.1 the challenge carries no error code. */
export const authenticationRequired = (detail: string) =>
  bearerProblem(GATEWAY_PROBLEMS.get('authentication-required'), detail)

/** Valid credentials without the role the route needs (RFC 6750 `insufficient_scope`). */
export const forbiddenRole = (detail: string) =>
  bearerProblem(GATEWAY_PROBLEMS.get('forbidden-role'), detail, {
    error: 'insufficient_scope',
    description: detail,
  })
