import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { fetchTransport } from '../../legacy-proxy/fetch-transport.js'
import { nodeTransport } from '../../legacy-proxy/node-transport.js'
import { ROUTES } from '../../routes/index.js'
import type { Deps } from '../../src/app.js'
import { createApp, type GatewayApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { createLogger } from '../../src/observability/log.js'
import { compileFlags, type FlagsFile, staticFlags } from '../../src/rollout/flags.js'
import { flagRulesFor } from '../../src/route-table.js'
import { verifierFromConfig } from '../../src/security/from-config.js'
import type { NativeHandler } from '../../src/types.js'
import { TEST_JWT_SECRET } from './tokens.js'

export interface TestGatewayOptions {
  env?: Record<string, string>
  native?: Record<string, NativeHandler>
  flags?: FlagsFile['routes']
  transport?: 'node' | 'fetch'
  /** Collected log lines (parsed). */
  logs?: Record<string, unknown>[]
  extra?: Partial<Deps>
}

/** Build the app as the entries do, with a test legacy URL, flags and native handlers. */
export function buildTestApp(
  legacyFunctionsUrl: string,
  options: TestGatewayOptions = {},
): GatewayApp {
  const config = loadConfig({
    LEGACY_FUNCTIONS_URL: legacyFunctionsUrl,
    LOG_LEVEL: 'debug',
    SUPABASE_JWT_SECRET: TEST_JWT_SECRET,
    ...options.env,
  })
  const native = options.native ?? {}
  const table = compileFlags(
    { routes: options.flags ?? {} },
    flagRulesFor(ROUTES, native),
    'test',
    'test',
  )
  const transportOptions = {
    headersTimeoutMs: config.LEGACY_HEADERS_TIMEOUT_MS,
    totalTimeoutMs: config.LEGACY_TOTAL_TIMEOUT_MS,
    idleSocketMs: config.LEGACY_SOCKET_IDLE_MS,
    maxSocketAgeMs: config.LEGACY_SOCKET_MAX_AGE_MS,
    maxPerFunction: config.LEGACY_MAX_PER_FUNCTION,
  }
  const logs = options.logs
  return createApp({
    config,
    routes: ROUTES,
    logger: createLogger({ level: 'debug', write: (line) => logs?.push(JSON.parse(line)) }),
    flags: staticFlags(table),
    legacy:
      options.transport === 'fetch'
        ? fetchTransport(transportOptions)
        : nodeTransport(transportOptions),
    native,
    identity: verifierFromConfig(config),
    ...options.extra,
  })
}

export interface TestGateway {
  url: string
  app: GatewayApp
  close(): Promise<void>
}

/** Serve the test app on a real Node HTTP server on loopback. */
export async function startTestGateway(
  legacyFunctionsUrl: string,
  options: TestGatewayOptions = {},
): Promise<TestGateway> {
  const app = buildTestApp(legacyFunctionsUrl, options)
  const server = serve({
    fetch: app.fetch,
    port: 0,
    hostname: '127.0.0.1',
    overrideGlobalObjects: false,
  })
  await new Promise<void>((resolve) => server.once('listening', () => resolve()))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    app,
    close: () =>
      new Promise((resolve) => {
        if ('closeAllConnections' in server) server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
