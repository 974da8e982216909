import flagsDocument from '../flags.json'
import { fetchTransport } from '../legacy-proxy/fetch-transport.js'
import { createApp, type GatewayApp } from './app.js'
import { ConfigError, loadConfig } from './config.js'
import { GatewayError, problemResponse } from './errors.js'
import { createLogger } from './observability/log.js'
import { Metrics } from './observability/metrics.js'
import { createSupabaseDb } from './platform/db/supabase.js'
import { compileFlags, staticFlags } from './rollout/flags.js'
import { ROUTE_IDS } from './route-table.js'
import { nativeHandlers } from '../routes/index.js'
import { verifierFromConfig } from './security/from-config.js'
import { rateLimiterFromConfig } from './security/ratelimit/select.js'

/**
 * The Cloudflare Workers entry. Configuration comes from `wrangler.toml` vars and secrets; the
 * app is built once per isolate, on the first request. `flags.json` is bundled at deploy time.
 */

type WorkerEnv = Record<string, unknown>

let app: GatewayApp | undefined
let startupError: ConfigError | Error | undefined

function build(env: WorkerEnv): GatewayApp {
  const strings: Record<string, string | undefined> = {}
  for (const [k, v] of Object.entries(env)) if (typeof v === 'string') strings[k] = v
  const config = loadConfig(strings)
  const logger = createLogger({ level: config.LOG_LEVEL, base: { service: 'bff-gateway', env: config.APP_ENV } })
  const metrics = new Metrics()
  // Workers reach the database only through PostgREST (supabase-js rpc()).
  const db =
    config.SUPABASE_URL && config.SUPABASE_SERVICE_ROLE_KEY
      ? createSupabaseDb({ url: config.SUPABASE_URL, serviceRoleKey: config.SUPABASE_SERVICE_ROLE_KEY })
      : undefined
  const native = nativeHandlers({ config, logger, metrics, db })
  const table = compileFlags(
    flagsDocument,
    { knownRoutes: ROUTE_IDS, nativeRoutes: new Set(Object.keys(native)) },
    'bundle:flags.json',
    'bundled',
  )
  return createApp({
    config,
    logger,
    flags: staticFlags(table),
    legacy: fetchTransport({
      headersTimeoutMs: config.LEGACY_HEADERS_TIMEOUT_MS,
      totalTimeoutMs: config.LEGACY_TOTAL_TIMEOUT_MS,
    }),
    native,
    metrics,
    identity: verifierFromConfig(config),
    rateLimiter: rateLimiterFromConfig(config),
  })
}

export default {
  fetch(request: Request, env: WorkerEnv, ctx: unknown): Response | Promise<Response> {
    if (!app && !startupError) {
      try {
        app = build(env)
      } catch (error) {
        startupError = error as Error
        console.error(error instanceof Error ? error.message : String(error))
      }
    }
    if (!app) {
      return problemResponse(
        new GatewayError({ status: 500, code: 'misconfigured', title: 'Gateway misconfigured', detail: 'The gateway could not start; see its logs' }),
        crypto.randomUUID(),
      )
    }
    return app.fetch(request, env, ctx as never)
  },
}
