/**
 * The worker of the Sentry workerd test: the real `createApp` with the Workers reporter, under
 * the same `withErrorReporting` wrapper the entry uses, and a native handler that crashes or
 * refuses on demand.
 */
import type { ExecutionContext } from 'hono'
import { fetchTransport } from '../../legacy-proxy/fetch-transport.js'
import { ROUTE_IDS, ROUTES } from '../../routes/index.js'
import { createApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { GatewayError } from '../../src/errors.js'
import { createLogger } from '../../src/observability/log.js'
import {
  sentryWorkerOptions,
  sentryWorkerReporter,
  withErrorReporting,
} from '../../src/observability/sentry-worker.js'
import { compileFlags, staticFlags } from '../../src/rollout/flags.js'
import type { NativeHandler } from '../../src/types.js'

const crashing: NativeHandler = async (c) => {
  const mode = new URL(c.req.url).searchParams.get('mode')
  await c.req.text()
  if (mode === 'crash') throw new TypeError('lookup failed for kim.minsu@example.com')
  if (mode === 'bad-request')
    throw new GatewayError({ status: 400, code: 'bad-request', title: 'Bad request' })
  return c.json({ ok: true })
}

type Env = Record<string, string>
let app: ReturnType<typeof createApp> | undefined
let reported:
  | ((request: Request, env: Env, ctx: ExecutionContext) => Response | Promise<Response>)
  | undefined

export default {
  fetch(request: Request, env: Env, ctx: ExecutionContext) {
    const config = loadConfig(env)
    app ??= createApp({
      config,
      // A failure is answered, not replayed to legacy.
      routes: ROUTES.map((r) =>
        r.id === 'ops-manage' ? { ...r, policy: { ...r.policy, replay: 'never' as const } } : r,
      ),
      logger: createLogger({ level: 'error', write: () => {} }),
      errorReporter: sentryWorkerReporter(),
      flags: staticFlags(
        compileFlags(
          { routes: { 'ops-manage': { native: 100 } } },
          { knownRoutes: ROUTE_IDS, nativeRoutes: new Set(['ops-manage']) },
          'test',
          'test',
        ),
      ),
      legacy: fetchTransport({ headersTimeoutMs: 2_000, totalTimeoutMs: 5_000 }),
      native: { 'ops-manage': crashing },
    })
    const gateway = app
    reported ??= withErrorReporting(
      (req: Request, e: Env, c: ExecutionContext) => gateway.fetch(req, e, c),
      () => sentryWorkerOptions({ dsn: env.SENTRY_DSN as string, environment: 'workerd-test' }),
    )
    return reported(request, env, ctx)
  },
}
