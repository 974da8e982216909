import { getCookie } from 'hono/cookie'
import { createMiddleware } from 'hono/factory'
import type { GatewayMetrics } from '../observability/metrics.js'
import { bufferBody, parseJson } from '../platform/body.js'
import { readHeader } from '../platform/request-headers.js'
import { type GatewayProblemCode, gatewayProblem } from '../problems.js'
import { type CanaryEnvironment, verifyCanaryToken } from '../rollout/canary.js'
import { decideBackend, type Subject } from '../rollout/decide.js'
import type { FlagSource } from '../rollout/flags.js'
import type { AppContext, AppEnv } from '../types.js'

/** Holds a route on legacy regardless of its flag (the native breaker, an auto-rollback). */
export type LegacyHold = (routeId: string) => 'breaker-open' | 'rolled-back' | undefined

export interface DecideOptions {
  flags: FlagSource
  nativeRoutes: ReadonlySet<string>
  canarySecret: string | undefined
  /** `APP_ENV`: a canary token is valid only in the environment it was minted for. */
  environment?: CanaryEnvironment
  /** In development the override needs no token. */
  development: boolean
  hold: LegacyHold
  metrics: GatewayMetrics
}

const CLIENT_ID = /^[A-Za-z0-9._:-]{1,128}$/

const canaryProblem = (code: GatewayProblemCode & `canary-${string}`, detail: string) =>
  gatewayProblem(code, { detail })

/** The sticky subject: JWT `sub`, else `x-client-id`, else the route's own key, else random. */
async function subjectOf(c: AppContext): Promise<Subject> {
  const sub = c.get('identity')?.subject
  if (sub) return { value: sub, source: 'jwt' }
  const clientId = readHeader(c, 'x-client-id')
  if (clientId && CLIENT_ID.test(clientId))
    return { value: `client:${clientId}`, source: 'client-id' }
  const keyOf = c.get('route')?.def.policy.subjectKey
  if (keyOf) {
    const key = await keyOf({
      headers: c.req.raw.headers,
      url: new URL(c.req.url),
      json: () => bufferBody(c).then(parseJson),
    })
    if (key) return { value: key, source: 'route-key' }
  }
  return { value: crypto.randomUUID(), source: 'random' }
}

/**
 * The canary override from `x-bff-backend` + `x-bff-canary`, or the `bff_backend` +
 * `bff_canary` cookies. Outside development a missing or bad token is refused with 403
 * rather than ignored, so a tester never believes an override is in force when it is not.
 */
async function overrideOf(
  c: AppContext,
  opts: DecideOptions,
): Promise<'native' | 'legacy' | undefined> {
  const fromHeader = readHeader(c, 'x-bff-backend')
  const cookieHeader = fromHeader === undefined ? readHeader(c, 'cookie') : undefined
  const requested =
    fromHeader ?? (cookieHeader?.includes('bff_backend') ? getCookie(c, 'bff_backend') : undefined)
  if (requested === undefined) return undefined
  if (requested !== 'native' && requested !== 'legacy') {
    throw gatewayProblem('invalid-backend-override', {
      detail: 'x-bff-backend must be native or legacy',
      errors: [{ field: 'header:x-bff-backend', message: 'must be native or legacy' }],
    })
  }
  if (opts.development) return requested
  const token =
    fromHeader !== undefined ? readHeader(c, 'x-bff-canary') : getCookie(c, 'bff_canary')
  if (!token)
    throw canaryProblem(
      'canary-token-required',
      'A backend override needs a signed x-bff-canary token',
    )
  if (!opts.canarySecret)
    throw canaryProblem('canary-disabled', 'Canary overrides are not configured here')
  const verdict = await verifyCanaryToken(
    opts.canarySecret,
    token,
    Date.now(),
    opts.environment ?? 'staging',
  )
  if (!verdict.valid) {
    const detail = {
      malformed: 'The canary token is malformed',
      expired: 'The canary token has expired; mint a new one',
      'bad-signature': 'The canary token signature does not match',
      'wrong-environment': 'The canary token was minted for another environment',
      'lifetime-too-long': 'The canary token lives longer than 30 days; mint a shorter one',
    }[verdict.reason]
    throw canaryProblem(`canary-token-${verdict.reason}`, detail)
  }
  return requested
}

/** Decides native or legacy for the resolved route and records why (`c.var.decision`). */
export function decide(opts: DecideOptions) {
  return createMiddleware<AppEnv>(async function decide(c, next) {
    const route = c.get('route')
    if (!route) return next()
    const { def } = route
    if (route.unknown || def.stayLegacy || !opts.nativeRoutes.has(def.id)) {
      // Nothing to decide: skip the subject (and its random fallback) on the proxy hot path.
      const reason = def.stayLegacy ? 'stay-legacy' : 'no-native-handler'
      c.set('decision', {
        backend: 'legacy',
        reason,
        bucket: undefined,
        subjectSource: 'none',
        percent: 0,
      })
      if (!route.unknown) opts.metrics.decisions.inc({ route: def.id, backend: 'legacy', reason })
      return next()
    }
    const override = await overrideOf(c, opts)
    const subject = await subjectOf(c)
    const decision = decideBackend({
      routeId: def.id,
      stayLegacy: def.stayLegacy,
      hasNative: true,
      table: opts.flags.current(),
      subject,
      override,
      heldOnLegacy: opts.hold(def.id),
    })
    c.set('decision', decision)
    opts.metrics.decisions.inc({
      route: def.id,
      backend: decision.backend,
      reason: decision.reason,
    })
    if (subject.source === 'random') opts.metrics.unsticky.inc({ route: def.id })
    await next()
  })
}
