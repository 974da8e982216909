import { Hono, type MiddlewareHandler } from 'hono'
import { fetchTransport } from '../legacy-proxy/fetch-transport.js'
import type { LegacyTransport } from '../legacy-proxy/transport.js'
import type { Config } from './config.js'
import { createDispatcher } from './dispatch.js'
import { type DocsScript, docsRoutes } from './docs-page.js'
import { errorHandler, notFoundHandler } from './error-handler.js'
import { bodyLimit } from './middleware/body-limit.js'
import { corsLayer, strictOrigin } from './middleware/cors.js'
import { decide } from './middleware/decide.js'
import { frame, type Layer } from './middleware/frame.js'
import { identify } from './middleware/identify.js'
import { rateLimit } from './middleware/rate-limit.js'
import { requestContextLayer } from './middleware/request-context.js'
import { createRouteResolver, resolveRoute } from './middleware/resolve-route.js'
import { responseHeadersLayer } from './middleware/response-headers.js'
import { secureHeadersLayer } from './middleware/secure-headers.js'
import { sequence } from './middleware/sequence.js'
import { spanNative, spanStep, traceSpans } from './middleware/trace-spans.js'
import type { ErrorReporter } from './observability/error-report.js'
import { errorFields, type Logger } from './observability/log.js'
import { gatewayMetrics, Metrics } from './observability/metrics.js'
import type { Tracer } from './observability/tracing.js'
import { type DocumentedProblemSet, openApiDocument } from './openapi.js'
import { opsRoutes } from './ops-routes.js'
import { NativeBreakers } from './rollout/breaker.js'
import type { FlagSource } from './rollout/flags.js'
import { ShadowTraffic } from './rollout/shadow.js'
import { createRateLimiter } from './security/ratelimit/index.js'
import type {
  AppEnv,
  IdentityVerifier,
  NativeHandler,
  RateLimiter,
  ReadinessCheck,
  RolloutHooks,
  RouteDef,
} from './types.js'

/** What `createApp` builds itself and hands to `mount` (admin API, dashboard). */
export interface AppInternals {
  breakers: NativeBreakers
  metrics: Metrics
  /** Native handlers by route id. */
  nativeRoutes: ReadonlySet<string>
  /** The route table the app serves. */
  routes: readonly RouteDef[]
  /** Shadow traffic of this instance: counts and recent mismatches. */
  shadow: ShadowTraffic
}

export interface Deps {
  config: Config
  /** The route table, assembled from the features (`routes/index.ts`). */
  routes: readonly RouteDef[]
  flags: FlagSource
  legacy: LegacyTransport
  logger: Logger
  /** Where unexpected errors are reported (Sentry), when configured. */
  errorReporter?: ErrorReporter
  /** Spans of routed requests for OpenTelemetry export, when configured. */
  tracer?: Tracer
  metrics?: Metrics
  /** Native handlers by route id (built by the entries from the features, or given by tests). */
  native?: Record<string, NativeHandler>
  identity?: IdentityVerifier
  rateLimiter?: RateLimiter
  /** Readiness checks of dependencies, by name; each rejects or returns false when down. */
  readiness?: Record<string, ReadinessCheck>
  rollout?: RolloutHooks
  /** Mounts extra routes (the admin API and dashboard) before the routed pipeline. */
  mount?: (app: Hono<AppEnv>, internals: AppInternals) => void
  /** Shadow traffic with its caps; built with the defaults when absent. */
  shadow?: ShadowTraffic
  /** The fetch shadow calls reach legacy with (the platform's by default; tests use a stand-in). */
  legacyFetch?: typeof fetch
  clock?: () => number
  /** Every problem catalogue, for the problem+json answers `/openapi.json` documents. */
  problems?: readonly DocumentedProblemSet[]
  /** The `/docs` reference's script; absent where the platform serves it (Workers assets). */
  docsScript?: DocsScript
}

/**
 * The composition root: one Hono app, no runtime imports. The Node and Workers entries build
 * `deps` from their environment; tests build them with real or test parts.
 *
 * @example
 * const app = createApp({ config, routes: ROUTES, flags, legacy, logger })
 * const res = await app.request('/functions/v1/payment-checkout', { method: 'POST' })
 */
export function createApp(deps: Deps) {
  const { config, logger } = deps
  const metricsRegistry = deps.metrics ?? new Metrics()
  const metrics = gatewayMetrics(metricsRegistry)
  const routes = deps.routes
  const routeIds = new Set(routes.map((r) => r.id))
  const tracer = deps.tracer
  const native = tracer ? tracedHandlers(tracer, deps.native ?? {}) : (deps.native ?? {})
  const nativeRoutes = new Set(Object.keys(native).filter((id) => routeIds.has(id)))
  const breakers = new NativeBreakers({
    clock: deps.clock,
    onChange: (routeId, state) => {
      metrics.breakerState.set({ route: routeId }, state === 'closed' ? 0 : 1)
      logger.warn('native breaker changed state', { route: routeId, state })
    },
  })
  if (!deps.rateLimiter && !config.isDevelopment) {
    throw new TypeError('createApp needs a rate limiter outside development')
  }
  const limiter =
    deps.rateLimiter ??
    createRateLimiter({ store: 'memory', timeoutMs: config.RATE_LIMIT_TIMEOUT_MS, prefix: 'dev' })
  const resolver = createRouteResolver(routes, config.PROXY_BODY_LIMIT_BYTES)
  const shadow =
    deps.shadow ??
    new ShadowTraffic({
      metrics: metricsRegistry,
      onError: (route, error) =>
        logger.warn('shadow call failed', { route, ...errorFields(error) }),
    })
  const dispatch = createDispatcher({
    legacyFunctionsUrl: config.legacyFunctionsUrl,
    legacy: deps.legacy,
    native,
    breakers,
    replayBufferBytes: config.REPLAY_BUFFER_BYTES,
    trustedIpHeader: config.TRUSTED_IP_HEADER,
    metrics,
    logger,
    tracer,
    errorReporter: deps.errorReporter,
    shadow: {
      traffic: shadow,
      flags: deps.flags,
      // The Workers transport answers with a Response already; Node's writes to the socket.
      observableLegacy:
        deps.legacy.kind === 'fetch'
          ? deps.legacy
          : fetchTransport({
              headersTimeoutMs: config.LEGACY_HEADERS_TIMEOUT_MS,
              totalTimeoutMs: config.LEGACY_TOTAL_TIMEOUT_MS,
              ...(deps.legacyFetch ? { fetch: deps.legacyFetch } : {}),
            }),
      timeoutMs: config.LEGACY_TOTAL_TIMEOUT_MS,
      ...(deps.legacyFetch ? { fetch: deps.legacyFetch } : {}),
    },
  })

  const app = new Hono<AppEnv>()

  app.onError(errorHandler(logger, deps.errorReporter))
  app.notFound(notFoundHandler)

  // The layers every request passes, run as one middleware (`frame`). No CORS for /admin: an
  // allowed app origin's script must not read the dashboard, its form token or the audit trail
  // with the operator's cookie.
  const appCors = corsLayer({ allowedOrigins: config.ALLOWED_ORIGINS })
  const corsOutsideAdmin: Layer = {
    name: 'cors',
    before(c) {
      const path = c.req.path
      return path === '/admin' || path.startsWith('/admin/') ? undefined : appCors.before?.(c)
    },
  }
  app.use(
    '*',
    frame([
      requestContextLayer({
        logger,
        metrics,
        knownRoutes: routeIds,
        observe: deps.rollout?.observe,
      }),
      responseHeadersLayer,
      secureHeadersLayer({ hsts: !config.isDevelopment }),
      corsOutsideAdmin,
    ]),
  )
  if (tracer) {
    const spans = traceSpans({ tracer })
    app.use('/functions/v1/*', spans)
    app.use('/api/v1/*', spans)
  }

  app.route(
    '/',
    opsRoutes({
      config,
      metricsRegistry,
      readiness: deps.readiness ?? {},
      legacyKind: deps.legacy.kind,
    }),
  )
  let openApi: ReturnType<typeof openApiDocument> | undefined
  app.get('/openapi.json', (c) => {
    openApi ??= openApiDocument(routes, { problems: deps.problems ?? [] })
    return c.json(openApi)
  })
  app.route('/', docsRoutes({ script: deps.docsScript }))
  deps.mount?.(app, { breakers, metrics: metricsRegistry, nativeRoutes, routes, shadow })

  const traced = (name: string, step: MiddlewareHandler<AppEnv>) =>
    tracer ? spanStep(tracer, name, step) : step
  const routed = [
    resolveRoute(resolver),
    strictOrigin({ allowedOrigins: config.ALLOWED_ORIGINS }),
    bodyLimit({ timeoutMs: config.BODY_TIMEOUT_MS }),
    identify({
      verifier: deps.identity,
      logger,
      allowUnverified: config.isDevelopment,
      serviceRoleKey: config.SUPABASE_SERVICE_ROLE_KEY,
    }),
    rateLimit({
      limiter,
      logger,
      trustedIpHeader: config.TRUSTED_IP_HEADER,
      onOutcome: (routeId, outcome) => metrics.rateLimit.inc({ route: routeId, outcome }),
    }),
    traced(
      'decision',
      decide({
        flags: deps.flags,
        nativeRoutes,
        canarySecret: config.BFF_CANARY_SECRET,
        environment: config.APP_ENV,
        development: config.isDevelopment,
        hold: (routeId) =>
          breakers.state(routeId) === 'open' ? 'breaker-open' : deps.rollout?.hold(routeId),
        metrics,
      }),
    ),
  ]
  const pipeline = sequence(routed, dispatch)
  app.all('/functions/v1/*', pipeline)
  app.all('/api/v1/*', pipeline)

  return Object.assign(app, { breakers, metrics: metricsRegistry, shadow })
}

export type GatewayApp = ReturnType<typeof createApp>

function tracedHandlers(
  tracer: Tracer,
  native: Record<string, NativeHandler>,
): Record<string, NativeHandler> {
  return Object.fromEntries(
    Object.entries(native).map(([id, handler]) => [id, spanNative(tracer, id, handler)]),
  )
}
