import type { Context } from 'hono'
import type { z } from 'zod'
import type { TraceContext } from './observability/trace-context.js'
import type { Bindings } from './platform/runtime.js'

// The route vocabulary (the rows are declared by the features, see `src/route-table.ts`).

export type Phase = 1 | 2 | 3 | 'stay-legacy' | 'unknown'

/**
 * Who may call: `service` means a service-role JWT only; `none` leaves authentication to the
 * handler (webhook signatures, Cloud Scheduler's Google OIDC token).
 */
export type AuthPolicy = 'required' | 'optional' | 'none' | 'service'

export interface RateLimitPolicy {
  /** Requests allowed per window per identifier (verified subject, else client IP). */
  limit: number
  windowSeconds: number
  /**
   * `closed`: a limiter that errors or is slow denies with 503 (money and AI routes).
   * `open`: it lets the request through and logs every open.
   */
  failMode: 'closed' | 'open'
}

export interface SubjectKeyInput {
  headers: Headers
  url: URL
  /** Parsed JSON body, or undefined when the body is absent, too large or not JSON. */
  json: () => Promise<unknown>
}

export interface RoutePolicy {
  auth: AuthPolicy
  rateLimit: RateLimitPolicy | null
  /** Largest request body accepted, in bytes (413 beyond it). */
  bodyLimitBytes: number
  /**
   * Whether a failed native attempt may be replayed to legacy (`src/rollout/fallback.ts`):
   * `always`, `before-effect` (only while the handler has not called `markEffect`) or `never`.
   * Every route in the table declares it; a request's `Idempotency-Key` never widens it.
   */
  replay: ReplayPolicy
  /** Checks `Origin` against the allow-list and rejects a disallowed one with 403. */
  strictOrigin: boolean
  /** Route-specific sticky key when there is no JWT subject and no `x-client-id`. */
  subjectKey?: (input: SubjectKeyInput) => Promise<string | undefined>
  /**
   * The call changes nothing anywhere (a read, a preview, an export), so the same request may
   * also be sent to the other backend and the answers compared (shadow traffic). Money-moving
   * and quota-spending routes are never read-only.
   */
  readOnly: boolean
  /** How native and legacy answers of this route are compared (shadow traffic and parity). */
  compare?: CompareRules
}

/**
 * Normalisation before native and legacy answers are compared. Paths are a JSONPath subset:
 * `$`, `.key`, `[n]`, and `*` for any key or index (`$.items[*].id`).
 */
export interface CompareRules {
  /** Volatile values (ids, timestamps): compared by type only. */
  mask?: readonly string[]
  /** Left out of the comparison altogether. */
  ignore?: readonly string[]
  /** Compared by shape: keys and value types, not values (model-written text, lists). */
  shape?: readonly string[]
  /** Response headers compared besides the defaults (lower case). */
  headers?: readonly string[]
}

/** The request and response headers an operation documents, beyond its route's policy. */
export type ApiHeader = 'idempotency-key' | 'x-ai-quota-remaining' | 'retry-after' | 'etag'

/**
 * One operation of a native route, described with the zod schemas its handler validates with:
 * the OpenAPI document (`/openapi.json`) and the typed client (`AppType`) are generated from it.
 */
export interface ApiOperation {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  /** Below the route's paths, Hono style (`/users/:userId`); the route's own path by default. */
  path?: string
  summary?: string
  /** The JSON body. */
  body?: z.ZodType
  /** The query string. */
  query?: z.ZodType
  /** The successful JSON answer (omitted: a JSON object the schema does not describe yet). */
  response?: z.ZodType
  /** Its status (200 by default); others it may also answer with. */
  status?: number
  otherStatuses?: readonly number[]
  /** A file instead of JSON: its media type (`text/csv`, `application/pdf`). */
  produces?: readonly string[]
  headers?: readonly ApiHeader[]
  example?: { body?: unknown; response?: unknown }
  /**
   * The codes of the feature's problem catalogue this operation answers with (besides the
   * pipeline's: auth, limits, validation); every code of the feature's catalogues when omitted.
   */
  problems?: readonly string[]
}

export interface RouteDef {
  /** The operations of a native route, for the OpenAPI document and the typed client. */
  api?: readonly ApiOperation[]
  id: string
  phase: Phase
  /** REST aliases under `/api/v1`, matched exactly or as a prefix followed by `/`. */
  aliases: readonly string[]
  /** Allowed methods; `*` allows any. OPTIONS (CORS preflight) is always answered. */
  methods: readonly string[] | '*'
  policy: RoutePolicy
  /** A stay-legacy route is always proxied, whatever the flags or an override say. */
  stayLegacy: boolean
  summary: string
  /** The feature folder that owns the route, `routes/<feature>/` ('' for unlisted functions). */
  feature: string
}

// The request context every layer shares.

/** The backend that served a routed response (`x-bff-backend`). */
export type Backend = 'native' | 'legacy' | 'legacy-fallback'

/** A route resolved from the request path. */
export interface RouteMatch {
  def: RouteDef
  /** The function name the legacy target uses (the route id for aliases). */
  name: string
  /** Path after the function name, without a leading slash ('' when none). */
  rest: string
  /** True when the function is not in the route table (proxied as is). */
  unknown: boolean
}

/** Verified (or, without a verifier, decoded) JWT claims of the caller. */
export interface Identity {
  subject: string | undefined
  role: string | undefined
  claims: Record<string, unknown>
  /** False only when no verifier is configured and the token was merely decoded. */
  verified: boolean
}

export interface IdentityVerifier {
  /**
   * Verify a bearer token and return its claims.
   * @throws GatewayError (401) when the token is not acceptable.
   */
  verify(token: string): Promise<Record<string, unknown>>
}

export interface RateLimitOutcome {
  allowed: boolean
  limit: number
  remaining: number
  /** Unix milliseconds when the window resets. */
  reset: number
}

export interface RateLimiter {
  /**
   * Count one request for `identifier` on `routeId` under `policy`.
   * Rejects (throws) when the store errors or does not answer within its deadline; the
   * middleware turns that into 503 (fail-closed) or a logged pass (fail-open).
   */
  limit(
    routeId: string,
    identifier: string,
    policy: { limit: number; windowSeconds: number },
  ): Promise<RateLimitOutcome>
  /** Name for logs and /ready (memory, redis, upstash). */
  readonly kind: string
}

export interface DecisionInfo {
  backend: 'native' | 'legacy'
  /** Why: flag, override, stay-legacy, no-native-handler, breaker-open, rolled-back. */
  reason: string
  bucket: number | undefined
  subjectSource: 'jwt' | 'client-id' | 'route-key' | 'random' | 'none'
  percent: number
}

/**
 * Whether a failed native attempt may be replayed to legacy (`src/rollout/fallback.ts`):
 * `always` (idempotent end to end and shared with legacy), `before-effect` (only while the
 * handler has not called `markEffect`), `never`.
 */
export type ReplayPolicy = 'always' | 'before-effect' | 'never'

export type Variables = {
  requestId: string
  /** W3C trace context of the request (continued from the caller or started here). */
  trace: TraceContext
  /** performance.now() at the start of the request. */
  startedAt: number
  route: RouteMatch | undefined
  identity: Identity | undefined
  decision: DecisionInfo | undefined
  backend: Backend | undefined
  /** Milliseconds spent waiting on the legacy function (headers and body). */
  upstreamMs: number | undefined
  /** Set by a native handler once it has caused an effect that must not be repeated. */
  sideEffect: boolean
  /** The request body, once something had to read it whole (native path, route subject key). */
  bufferedBody: Uint8Array | undefined
  /** When the request body must have arrived whole (performance.now(); set by `bodyLimit`). */
  bodyDeadline: number | undefined
  /** Status written by a transport that answered the client itself (Node direct path). */
  sentStatus: number | undefined
  /**
   * Headers the gateway adds to whatever answers the request (request id, `x-bff-backend`,
   * CORS, rate-limit), lower-case names. Transports write them into a proxied response;
   * `requestContext` applies them to every other response (native, problems).
   */
  responseHeaders: Record<string, string>
  /** Set by middleware to add fields to the access log line (masked before writing). */
  logFields: Record<string, unknown>
}

export interface AppEnv {
  Bindings: Bindings
  Variables: Variables
}

export type AppContext = Context<AppEnv>

/** A native implementation of one function. The body, if any, can be read with `c.req.*`. */
export type NativeHandler = (c: AppContext) => Promise<Response>

export type ReadinessProbe = () => Promise<boolean | undefined> | boolean | undefined

/**
 * A dependency check for `/ready`. A `degraded` check reports trouble without taking the
 * instance out of rotation: the live flag store, whose outage the instance rides out on its
 * last good table.
 */
export type ReadinessCheck = ReadinessProbe | { probe: ReadinessProbe; degradedOnly: true }

/** One finished routed request, as auto-rollback and the dashboard see it. */
export interface RequestSample {
  routeId: string
  backend: Backend
  status: number
  latencyMs: number
}

/** Rollout control beyond the static flags (live store, auto-rollback). */
export interface RolloutHooks {
  /** A route held on legacy by an auto-rollback, or undefined. */
  hold(routeId: string): 'rolled-back' | undefined
  /** Called after every routed request of a known route. */
  observe(sample: RequestSample): void
}
