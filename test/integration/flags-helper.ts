import { readFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { connect, createServer, type Server, type Socket } from 'node:net'
import pg from 'pg'
import { fetchTransport } from '../../legacy-proxy/fetch-transport.js'
import { ROUTES } from '../../routes/index.js'
import { type AuditTrail, dbAuditTrail, mountAdmin } from '../../src/admin/index.js'
import { createApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { createLogger } from '../../src/observability/log.js'
import { Metrics } from '../../src/observability/metrics.js'
import type { Db } from '../../src/platform/db/port.js'
import { createPostgresDb } from '../../src/platform/db/postgres.js'
import { SUPABASE_ROLES_SQL } from '../../src/platform/db/roles.js'
import { AutoRollback } from '../../src/rollout/auto-rollback.js'
import { compileFlags, type FlagsFile } from '../../src/rollout/flags.js'
import {
  FleetStats,
  type FleetStatsStore,
  memoryFleetStore,
} from '../../src/rollout/fleet-stats.js'
import { LiveFlags } from '../../src/rollout/live-flags.js'
import { ShadowTraffic } from '../../src/rollout/shadow.js'
import type { FlagStore } from '../../src/rollout/stores/port.js'
import { flagRulesFor } from '../../src/route-table.js'
import { verifierFromConfig } from '../../src/security/from-config.js'
import { createRateLimiter } from '../../src/security/ratelimit/index.js'
import type { NativeHandler } from '../../src/types.js'
import { TEST_JWT_SECRET } from '../helpers/tokens.js'

/**
 * Test-only: gateways with the live flag store, auto-rollback and /admin mounted, a throwaway
 * Postgres database for the audit trail, and a TCP proxy to Redis that a test can cut.
 */

export const ADMIN_TOKEN = 'ops-admin-token-for-tests-0123456789'
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const ADMIN_DB_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

/** A key no other suite (or run) uses on the shared Redis. */
export const uniqueKey = (name: string) =>
  `bff-test:${name}:${process.pid}:${Math.random().toString(36).slice(2, 10)}`

export interface NativeSwitch {
  /** Answer 500 from every native handler while true. */
  failing: boolean
}

// payment-webhook needs no JWT and has a generous limit: tests can poll it.
export const NATIVE_ROUTES = [
  'payment-checkout',
  'payment-webhook',
  'refund-process',
  'ai-reply-suggest',
] as const

function nativeHandlers(control: NativeSwitch): Record<string, NativeHandler> {
  const handler: NativeHandler = async (c) =>
    control.failing ? c.json({ error: 'native broke' }, 500) : c.json({ served: 'native' })
  return Object.fromEntries(NATIVE_ROUTES.map((id) => [id, handler]))
}

export interface GatewayOptions {
  store: FlagStore
  audit: AuditTrail
  refreshMs?: number
  routes?: FlagsFile['routes']
  env?: Record<string, string>
  /** Fleet-wide counters shared by instances (Redis); in-process when absent. */
  fleetStore?: FleetStatsStore
  /** More native handlers (a read-only route for shadow traffic). */
  native?: Record<string, NativeHandler>
}

export const DEFAULT_ROUTES: FlagsFile['routes'] = {
  'payment-checkout': { native: 0, group: 'payments' },
  'payment-webhook': { native: 0, group: 'payments' },
  'refund-process': { native: 0, group: 'payments' },
  'ai-reply-suggest': { native: 0 },
}

/** A gateway instance as the Node entry builds it, with a stand-in legacy side answering 200. */
export async function startGateway({
  store,
  audit,
  refreshMs = 200,
  routes = DEFAULT_ROUTES,
  env = {},
  fleetStore = memoryFleetStore(),
  native: extraNative = {},
}: GatewayOptions) {
  const control: NativeSwitch = { failing: false }
  const native = { ...nativeHandlers(control), ...extraNative }
  const logLines: string[] = []
  const logger = createLogger({ level: 'debug', write: (line) => logLines.push(line) })
  const config = loadConfig({
    LEGACY_FUNCTIONS_URL: 'http://legacy.test/functions/v1',
    SUPABASE_JWT_SECRET: TEST_JWT_SECRET,
    BFF_ADMIN_TOKEN: ADMIN_TOKEN,
    FLAGS_REFRESH_MS: String(refreshMs),
    ...env,
  })
  const rules = flagRulesFor(ROUTES, native)
  const file = compileFlags({ routes }, rules, 'file:test-flags.json', 'file-test')
  const metrics = new Metrics()
  const flags = new LiveFlags({ file, rules, store, refreshMs, logger, metrics })
  const autoRollback = new AutoRollback({ flags, audit, logger, metrics, evaluateEveryMs: 0 })
  await flags.start()
  const fleet = new FleetStats({ store: fleetStore })
  const shadow = new ShadowTraffic({ metrics, onResult: fleet.shadow })
  const verifier = verifierFromConfig(config)
  const legacyFetch = (async () =>
    new Response(JSON.stringify({ served: 'legacy' }), {
      headers: { 'content-type': 'application/json' },
    })) as typeof fetch
  const app = createApp({
    config,
    routes: ROUTES,
    logger,
    metrics,
    identity: verifier,
    rateLimiter: createRateLimiter({ store: 'memory', timeoutMs: 100, prefix: uniqueKey('rl') }),
    flags,
    rollout: {
      hold: autoRollback.hold,
      observe: (sample) => {
        autoRollback.observe(sample)
        fleet.observe(sample)
      },
    },
    mount: mountAdmin({
      flags,
      audit,
      autoRollback,
      fleet,
      adminToken: ADMIN_TOKEN,
      verifier,
      secureCookies: false,
      logger,
    }),
    legacy: fetchTransport({ headersTimeoutMs: 1000, totalTimeoutMs: 1000, fetch: legacyFetch }),
    shadow,
    legacyFetch,
    native,
    readiness: { 'flag-store': { probe: flags.readiness, degradedOnly: true } },
  })
  return {
    app,
    flags,
    autoRollback,
    fleet,
    shadow,
    control,
    logLines,
    close: async () => {
      await fleet.flush()
      await flags.stop()
    },
  }
}

export type TestGateway = Awaited<ReturnType<typeof startGateway>>

/** Call the admin API of an in-process gateway. */
export function adminCall(
  gw: TestGateway,
  method: string,
  path: string,
  body?: unknown,
  token = ADMIN_TOKEN,
) {
  return gw.app.request(`/admin/api${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
}

/** Poll `check` every 50 ms until it returns true or `ms` have passed. */
export async function within(
  ms: number,
  check: () => Promise<boolean> | boolean,
): Promise<boolean> {
  const deadline = Date.now() + ms
  for (let i = 0; i < 10_000 && Date.now() < deadline; i++) {
    if (await check()) return true
    await new Promise((r) => setTimeout(r, 50))
  }
  return check()
}

/** A TCP proxy to Redis on a loopback port, which a test can stop (Redis "down") and restart. */
export async function redisProxy(target = new URL(REDIS_URL)) {
  const sockets = new Set<Socket>()
  let server: Server | undefined
  let port = 0
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = createServer((client) => {
        const upstream = connect(Number(target.port || 6379), target.hostname)
        for (const sock of [client, upstream]) {
          sockets.add(sock)
          sock.on('close', () => sockets.delete(sock))
          sock.on('error', () => sock.destroy())
        }
        client.pipe(upstream).pipe(client)
      })
      s.once('error', reject)
      s.listen(port, '127.0.0.1', () => {
        port = (s.address() as AddressInfo).port
        server = s
        resolve()
      })
    })
  await listen()
  return {
    get url() {
      return `redis://127.0.0.1:${port}`
    },
    async stop() {
      const s = server
      server = undefined
      for (const sock of sockets) sock.destroy()
      await new Promise<void>((resolve) => (s ? s.close(() => resolve()) : resolve()))
    },
    start: listen,
  }
}

/** A throwaway database `bff_ops_<random>` with the roles and the audit migration. */
export async function auditDatabase(): Promise<{
  db: Db
  url: string
  name: string
  drop(): Promise<void>
}> {
  const name = `bff_ops_${Math.random().toString(36).slice(2, 10)}`
  const admin = new pg.Client({ connectionString: ADMIN_DB_URL })
  await admin.connect()
  try {
    await admin.query(SUPABASE_ROLES_SQL)
    await admin.query(`create database ${name}`)
  } finally {
    await admin.end()
  }
  const url = new URL(ADMIN_DB_URL)
  url.pathname = `/${name}`
  const setup = new pg.Client({ connectionString: url.toString() })
  setup.on('error', () => {})
  await setup.connect()
  try {
    await setup.query(
      await readFile(
        new URL('../../supabase/migrations/0003_flag_audit.sql', import.meta.url),
        'utf8',
      ),
    )
  } finally {
    await setup.end()
  }
  const db = createPostgresDb({ connectionString: url.toString(), max: 4 })
  return {
    db,
    url: url.toString(),
    name,
    async drop() {
      await db.close()
      const dropper = new pg.Client({ connectionString: ADMIN_DB_URL })
      await dropper.connect()
      try {
        await dropper.query(`drop database if exists ${name} with (force)`)
      } finally {
        await dropper.end()
      }
    },
  }
}

export { dbAuditTrail }
