import { readFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { nodeTransport } from '../../legacy-proxy/node-transport.js'
import { nativeHandlers, PROBLEM_SETS, ROUTES } from '../../routes/index.js'
import { exceljsXlsxWriter } from '../../routes/settlement/export-xlsx-node.js'
import { fontFromPackage } from '../../routes/settlement/font-node.js'
import { createApp, type GatewayApp } from '../app.js'
import { type Config, loadConfig } from '../config.js'
import { dsnHost } from '../observability/error-report.js'
import { createLogger, errorFields, type Logger } from '../observability/log.js'
import { Metrics } from '../observability/metrics.js'
import { otlpNodeExporter } from '../observability/otlp-node.js'
import { sentryNodeReporter } from '../observability/sentry-node.js'
import { batchedStdout } from '../observability/stdout.js'
import { otlpHeaders, Tracer, vendorFetches } from '../observability/tracing.js'
import { createDb, databaseKind } from '../platform/db/create.js'
import { lazyDb } from '../platform/db/lazy.js'
import { type FlagRules, type FlagTable, flagsFromText } from '../rollout/flags.js'
import { flagRulesFor } from '../route-table.js'
import { verifierFromConfig } from '../security/from-config.js'
import { rateLimiterFromConfig } from '../security/ratelimit/index.js'
import { createIoredisAdapter } from '../security/ratelimit/redis-adapter.js'
import { docsScriptFromDisk } from './docs-script-node.js'
import { startNodeRollout } from './node-rollout.js'

export interface RunningServer {
  app: GatewayApp
  port: number
  config: Config
  /** Stop accepting, drain in-flight requests (up to the grace period), release resources. */
  shutdown(reason: string): Promise<void>
}

export async function loadFlagsFile(path: string, rules: FlagRules): Promise<FlagTable> {
  const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new Error(
      `config error: FLAGS_FILE ${path} cannot be read (${error.code ?? error.message})`,
    )
  })
  return flagsFromText(text, rules, `file:${path}`)
}

/**
 * Build the Node dependencies from the environment and serve the app.
 * @throws ConfigError or FlagsError before listening when the configuration is bad.
 */
export async function startNodeServer(
  env: Record<string, string | undefined>,
  options: { logger?: Logger; port?: number } = {},
): Promise<RunningServer> {
  const config = loadConfig(env)
  const stdout = batchedStdout()
  const logger =
    options.logger ??
    createLogger({
      level: config.LOG_LEVEL,
      base: { service: 'bff-gateway', env: config.APP_ENV },
      write: stdout.write,
      traceProject: config.GOOGLE_CLOUD_PROJECT,
    })
  // Loaded only when configured: without a DSN the SDK is neither imported nor bundled.
  const errorReporter = config.SENTRY_DSN
    ? await sentryNodeReporter({
        dsn: config.SENTRY_DSN,
        environment: config.APP_ENV,
        release: config.SENTRY_RELEASE,
      })
    : undefined
  const spanExporter = config.OTEL_EXPORTER_OTLP_ENDPOINT
    ? await otlpNodeExporter({
        endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
        headers: otlpHeaders(config.OTEL_EXPORTER_OTLP_HEADERS),
        serviceName: config.OTEL_SERVICE_NAME,
        environment: config.APP_ENV,
      })
    : undefined
  const tracer =
    spanExporter &&
    new Tracer({ exporter: spanExporter, sampleRatio: config.OTEL_TRACES_SAMPLER_ARG })
  const identity = verifierFromConfig(config)
  const rateLimiter = rateLimiterFromConfig(config, {
    connectRedis: (url) =>
      createIoredisAdapter(url, {
        onError: (error) =>
          logger.warn('redis error', { component: 'rate-limit', ...errorFields(error) }),
      }),
  })
  databaseKind(config) // refuses embedded PGlite in production before anything starts
  const db = lazyDb(
    () =>
      createDb(config, {
        onPoolError: (error) => logger.warn('database pool error', errorFields(error)),
      }),
    (error) => logger.error('database failed to start', errorFields(error)),
  )

  const metrics = new Metrics()
  const native = nativeHandlers({
    config,
    logger,
    metrics,
    db,
    resources: { 'settlement.font': fontFromPackage(), 'settlement.xlsx': exceljsXlsxWriter },
    ...(tracer ? { vendorFetch: vendorFetches(tracer) } : {}),
  })
  const rules = flagRulesFor(ROUTES, native)
  const table = await loadFlagsFile(config.FLAGS_FILE, rules)
  const legacy = nodeTransport({
    headersTimeoutMs: config.LEGACY_HEADERS_TIMEOUT_MS,
    totalTimeoutMs: config.LEGACY_TOTAL_TIMEOUT_MS,
    idleSocketMs: config.LEGACY_SOCKET_IDLE_MS,
    maxSocketAgeMs: config.LEGACY_SOCKET_MAX_AGE_MS,
    maxPerFunction: config.LEGACY_MAX_PER_FUNCTION,
  })
  let draining = false
  // Live flag store over flags.json, auto-rollback, and the admin API and dashboard.
  const rollout = await startNodeRollout({
    db,
    config,
    file: table,
    rules,
    logger,
    metrics,
    storeKey: config.FLAGS_STORE_KEY,
    verifier: identity,
  })
  const app = createApp({
    config,
    routes: ROUTES,
    problems: PROBLEM_SETS,
    logger,
    errorReporter,
    tracer,
    metrics,
    flags: rollout.flags,
    rollout: rollout.hooks,
    shadow: rollout.shadow,
    mount: rollout.mount,
    legacy,
    native,
    identity,
    rateLimiter,
    docsScript: docsScriptFromDisk(),
    readiness: { accepting: () => !draining, database: () => db.ping(), ...rollout.readiness },
  })

  const server = serve({
    fetch: app.fetch,
    port: options.port ?? config.PORT,
    overrideGlobalObjects: false,
  })
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve)
    server.once('error', reject)
  })
  const port = (server.address() as AddressInfo).port
  logger.info('listening', {
    port,
    legacy: new URL(config.legacyFunctionsUrl).origin,
    flags: table.source,
    flagsVersion: table.version,
    nativeRoutes: Object.keys(native),
    jwt: identity ? 'verified' : 'decoded only (development)',
    rateLimiter: rateLimiter.kind,
    // Where exports go, by host only: a DSN's user part is a key.
    errorReporting: config.SENTRY_DSN ? `sentry ${dsnHost(config.SENTRY_DSN)}` : 'off',
    traces: config.OTEL_EXPORTER_OTLP_ENDPOINT
      ? `otlp ${new URL(config.OTEL_EXPORTER_OTLP_ENDPOINT).host}`
      : 'off',
  })

  let closing: Promise<void> | undefined
  const shutdown = (reason: string) => {
    closing ??= (async () => {
      draining = true
      const began = Date.now()
      logger.info('shutting down', { reason, graceMs: config.SHUTDOWN_GRACE_MS })
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      // Keep-alive sockets with no request in flight would hold close() open.
      if ('closeIdleConnections' in server) server.closeIdleConnections()
      const idleTimer = setInterval(() => {
        if ('closeIdleConnections' in server) server.closeIdleConnections()
      }, 100)
      let graceTimer: ReturnType<typeof setTimeout> | undefined
      const grace = new Promise<'timeout'>((resolve) => {
        graceTimer = setTimeout(() => resolve('timeout'), config.SHUTDOWN_GRACE_MS)
      })
      const outcome = await Promise.race([closed.then(() => 'drained' as const), grace])
      clearInterval(idleTimer)
      clearTimeout(graceTimer)
      if (outcome === 'timeout' && 'closeAllConnections' in server) server.closeAllConnections()
      // Releasing connections must not outlast the grace period either (a database still
      // starting, a Redis that does not answer): whatever is left is dropped with the process.
      const releasing = Promise.allSettled([
        legacy.close?.(),
        rollout.close(),
        rateLimiter.close(),
        db.close(),
        errorReporter?.close(Math.min(2_000, config.SHUTDOWN_GRACE_MS)),
        spanExporter?.close(Math.min(2_000, config.SHUTDOWN_GRACE_MS)),
      ])
      const left = Math.max(250, config.SHUTDOWN_GRACE_MS - (Date.now() - began))
      let releaseTimer: ReturnType<typeof setTimeout> | undefined
      const released = await Promise.race([
        releasing.then(() => true),
        new Promise<false>((resolve) => {
          releaseTimer = setTimeout(() => resolve(false), left)
        }),
      ])
      clearTimeout(releaseTimer)
      logger.info('stopped', { outcome, released })
      stdout.flush()
    })()
    return closing
  }
  return { app, port, config, shutdown }
}
