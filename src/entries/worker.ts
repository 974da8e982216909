import type { ExecutionContext } from 'hono'
import flagsDocument from '../../flags.json'
import { fetchTransport } from '../../legacy-proxy/fetch-transport.js'
import { nativeHandlers, PROBLEM_SETS, ROUTES } from '../../routes/index.js'
import { jobDispatcher, runCron } from '../../routes/jobs/index.js'
import { createApp, type GatewayApp } from '../app.js'
import { type Config, type ConfigError, loadConfig } from '../config.js'
import { problemResponse } from '../errors.js'
import { deferredReporter, dsnHost } from '../observability/error-report.js'
import { createLogger } from '../observability/log.js'
import { Metrics } from '../observability/metrics.js'
import { otlpFetchExporter } from '../observability/otlp-fetch.js'
import { otlpHeaders, Tracer, vendorFetches } from '../observability/tracing.js'
import { createSupabaseDb } from '../platform/db/supabase.js'
import { gatewayProblem } from '../problems.js'
import { compileFlags } from '../rollout/flags.js'
import { flagRulesFor } from '../route-table.js'
import { verifierFromConfig } from '../security/from-config.js'
import { rateLimiterFromConfig } from '../security/ratelimit/select.js'
import { workerRollout } from './worker-rollout.js'

/**
 * The Cloudflare Workers entry. Configuration comes from `wrangler.toml` vars and secrets; the
 * app is built once per isolate, on the first request. `flags.json` is bundled at deploy time.
 */

type WorkerEnv = Record<string, unknown>

/** The part of workerd's `ScheduledController` the entry reads. */
interface ScheduledController {
  cron: string
  scheduledTime: number
}

interface Built {
  app: GatewayApp
  config: Config
  /** Refresh the live flag table when it is due (nothing runs between requests on Workers). */
  refreshIfDue: () => Promise<void> | undefined
  /** A cron trigger: the jobs of `cron`, natively or through legacy as the flag says. */
  cron: (cron: string) => Promise<unknown>
}

let built: Built | undefined
let startupError: ConfigError | Error | undefined

function build(env: WorkerEnv): Built {
  const strings: Record<string, string | undefined> = {}
  for (const [k, v] of Object.entries(env)) if (typeof v === 'string') strings[k] = v
  const config = loadConfig(strings)
  const logger = createLogger({
    level: config.LOG_LEVEL,
    base: { service: 'bff-gateway', env: config.APP_ENV },
    traceProject: config.GOOGLE_CLOUD_PROJECT,
  })
  const metrics = new Metrics()
  // Workers reach the database only through PostgREST (supabase-js rpc()).
  const db =
    config.SUPABASE_URL && config.SUPABASE_SERVICE_ROLE_KEY
      ? createSupabaseDb({
          url: config.SUPABASE_URL,
          serviceRoleKey: config.SUPABASE_SERVICE_ROLE_KEY,
        })
      : undefined
  // Spans are posted at the end of each request, under waitUntil (see traceSpans).
  const tracer = config.OTEL_EXPORTER_OTLP_ENDPOINT
    ? new Tracer({
        exporter: otlpFetchExporter({
          endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
          headers: otlpHeaders(config.OTEL_EXPORTER_OTLP_HEADERS),
          serviceName: config.OTEL_SERVICE_NAME,
          environment: config.APP_ENV,
        }),
        sampleRatio: config.OTEL_TRACES_SAMPLER_ARG,
      })
    : undefined
  const native = nativeHandlers({
    config,
    logger,
    metrics,
    db,
    ...(tracer ? { vendorFetch: vendorFetches(tracer) } : {}),
  })
  const rules = flagRulesFor(ROUTES, native)
  const table = compileFlags(flagsDocument, rules, 'bundle:flags.json', 'bundled')
  const identity = verifierFromConfig(config)
  const rollout = workerRollout({
    config,
    file: table,
    rules,
    logger,
    metrics,
    storeKey: config.FLAGS_STORE_KEY,
    verifier: identity,
    db,
  })
  const app = createApp({
    config,
    routes: ROUTES,
    problems: PROBLEM_SETS,
    logger,
    ...(config.SENTRY_DSN
      ? {
          errorReporter: deferredReporter('sentry', () =>
            sentryWorker().then((m) => m.sentryWorkerReporter()),
          ),
        }
      : {}),
    tracer,
    flags: rollout.flags,
    rollout: rollout.hooks,
    shadow: rollout.shadow,
    mount: rollout.mount,
    readiness: rollout.readiness,
    legacy: fetchTransport({
      headersTimeoutMs: config.LEGACY_HEADERS_TIMEOUT_MS,
      totalTimeoutMs: config.LEGACY_TOTAL_TIMEOUT_MS,
    }),
    native,
    metrics,
    identity,
    rateLimiter: rateLimiterFromConfig(config),
  })
  // Once per isolate: where reports and traces go, by host only (a DSN's user part is a key).
  logger.info('isolate started', {
    errorReporting: config.SENTRY_DSN ? `sentry ${dsnHost(config.SENTRY_DSN)}` : 'off',
    traces: config.OTEL_EXPORTER_OTLP_ENDPOINT
      ? `otlp ${new URL(config.OTEL_EXPORTER_OTLP_ENDPOINT).host}`
      : 'off',
  })
  const jobs = db ? jobDispatcher({ config, logger, db }, 'worker') : undefined
  const cron = async (expression: string) => {
    await rollout.refreshIfDue()
    return runCron({
      dispatcher: jobs,
      cron: expression,
      nativeBasisPoints:
        rollout.flags.current().routes.get('scheduled-dispatcher')?.basisPoints ?? 0,
      config,
      logger,
    })
  }
  return { app, config, refreshIfDue: rollout.refreshIfDue, cron }
}

function ensureBuilt(env: WorkerEnv): Built | undefined {
  if (!built && !startupError) {
    try {
      built = build(env)
    } catch (error) {
      startupError = error as Error
      console.error(error instanceof Error ? error.message : String(error))
    }
  }
  return built
}

/** The app's answer, once the isolate is built. */
function serve(
  request: Request,
  env: WorkerEnv,
  ctx: ExecutionContext,
): Response | Promise<Response> {
  const app = built as Built
  const refreshing = app.refreshIfDue()
  if (refreshing) ctx.waitUntil(refreshing)
  return app.app.fetch(request, env, ctx)
}

/**
 * Sentry on Workers, imported when a DSN is configured: bundled either way, but an isolate
 * without one never evaluates the SDK.
 */
const sentryWorker = () => import('../observability/sentry-worker.js')

/** `serve` under Sentry's request wrapper, made on the first request when a DSN is set. */
let reported: Promise<typeof serve> | undefined

export default {
  fetch(request: Request, env: WorkerEnv, ctx: ExecutionContext): Response | Promise<Response> {
    const built = ensureBuilt(env)
    if (!built) {
      return problemResponse(
        gatewayProblem('misconfigured', { detail: 'The gateway could not start; see its logs' }),
        crypto.randomUUID(),
      )
    }
    const { config } = built
    if (!config.SENTRY_DSN) return serve(request, env, ctx)
    const dsn = config.SENTRY_DSN
    reported ??= sentryWorker().then((m) =>
      m.withErrorReporting(serve, () =>
        m.sentryWorkerOptions({
          dsn,
          environment: config.APP_ENV,
          release: config.SENTRY_RELEASE,
        }),
      ),
    )
    return reported.then((fetch) => fetch(request, env, ctx))
  },

  /** Workers cron triggers (`[triggers] crons` in wrangler.toml, UTC). */
  scheduled(controller: ScheduledController, env: WorkerEnv, ctx: ExecutionContext): void {
    const built = ensureBuilt(env)
    if (!built) return
    ctx.waitUntil(
      built.cron(controller.cron).catch((error: unknown) => {
        console.error(`cron ${controller.cron} failed: ${(error as Error)?.name ?? 'error'}`)
      }),
    )
  },
}
