/**
 * The worker used by the workerd tests: the real `createApp` with the Workers (fetch)
 * transport, a steerable native handler, and an endpoint that computes the bucketing vectors
 * inside workerd.
 */
import { fetchTransport } from '../../legacy-proxy/fetch-transport.js'
import { ROUTE_IDS, ROUTES } from '../../routes/index.js'
import { createApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { createLogger } from '../../src/observability/log.js'
import { bucketOf } from '../../src/rollout/bucket.js'
import { compileFlags, staticFlags } from '../../src/rollout/flags.js'
import { murmur3_x86_32 } from '../../src/rollout/murmur3.js'
import { verifierFromConfig } from '../../src/security/from-config.js'
import { ROUTING_FLAGS } from '../shared/routing-cases.js'
import { steerableNative } from '../shared/steerable-native.js'
import vectors from '../vectors/bucketing.json'

let app: ReturnType<typeof createApp> | undefined

export default {
  async fetch(request: Request, env: Record<string, string>): Promise<Response> {
    const url = new URL(request.url)
    if (url.pathname === '/__vectors') {
      const encoder = new TextEncoder()
      return Response.json({
        murmur3: vectors.murmur3.map((v) => murmur3_x86_32(encoder.encode(v.input), v.seed)),
        buckets: vectors.buckets.map((v) => bucketOf(v.scope, v.subject)),
        runtime: typeof navigator !== 'undefined' ? navigator.userAgent : 'unknown',
      })
    }
    const config = loadConfig(env)
    app ??= createApp({
      config,
      routes: ROUTES,
      identity: verifierFromConfig(config),
      logger: createLogger({ level: 'warn' }),
      flags: staticFlags(
        compileFlags(
          { routes: ROUTING_FLAGS },
          { knownRoutes: ROUTE_IDS, nativeRoutes: new Set(['ops-manage']) },
          'test',
          'test',
        ),
      ),
      legacy: fetchTransport({ headersTimeoutMs: 2_000, totalTimeoutMs: 5_000 }),
      native: { 'ops-manage': steerableNative },
    })
    return app.fetch(request, env)
  },
}
