import { randomBytes, randomUUID } from 'node:crypto'
import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { applyMigrations, pgMigrationTarget } from '../../../src/platform/db/migrate.js'
import { createPostgresDb } from '../../../src/platform/db/postgres.js'
import { type FakeAnthropic, startFakeAnthropic } from '../../../test/fakes/anthropic.js'
import { type LegacyStandIn, startLegacyStandIn } from '../../../test/fakes/legacy-functions.js'
import { startTossFake, type TossFake } from '../../../test/fakes/toss.js'
import { type GatewayProcess, spawnGateway } from '../../../test/helpers/process.js'
import { TEST_JWT_SECRET, userToken } from '../../../test/helpers/tokens.js'
import {
  createTempDatabase,
  ensureRoles,
  seedCatalog,
  seedPayment,
} from '../../../test/integration/db-harness.js'
import { type PrivatePostgres, type PrivateRedis, privatePostgres, privateRedis } from './infra.js'
import type { DrillUser, LoadTarget } from './load.js'

/**
 * A drill's stage: the stand-ins (legacy functions, Toss, Anthropic), a migrated database with a
 * catalog and one DONE payment per user (in the database and in the Toss stand-in), optionally
 * a private Redis, and the built gateway (`node dist/node.js`) configured for all of it, with the
 * payment and AI routes native at 100 %.
 */

export interface StageOptions {
  /** `shared`: a temporary database on the shared server; `private`: a cluster of our own. */
  database?: 'shared' | 'private'
  redis?: boolean
  users?: number
  /** Extra gateway environment. */
  env?: Record<string, string>
  /** Auto-rollback on the native routes (on by default, as in production). */
  rollback?: boolean
  /** More routes native at 100 % (beyond the payment and AI routes). */
  nativeRoutes?: readonly string[]
}

export interface Stage extends LoadTarget {
  gateway: GatewayProcess
  legacy: LegacyStandIn
  toss: TossFake
  anthropic: FakeAnthropic
  pg: PrivatePostgres | undefined
  redis: PrivateRedis | undefined
  databaseUrl: string
  /** Superuser SQL on the drill's database (errors while it is down are the caller's). */
  sql<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<R[]>
  /** The gateway's environment, to start another one like it. */
  env: Record<string, string>
  /** Start another gateway with the same configuration (and `extra`). */
  spawn(extra?: Record<string, string>): Promise<GatewayProcess>
  close(): Promise<void>
}

export const NATIVE_FLAGS = {
  routes: {
    'payment-checkout': { native: 100, group: 'payments' },
    'payment-webhook': { native: 100, group: 'payments' },
    'refund-process': { native: 100, group: 'payments' },
    'ai-reply-suggest': { native: 100 },
  },
}

export async function startStage(options: StageOptions = {}): Promise<Stage> {
  const cleanups: (() => Promise<unknown> | unknown)[] = []
  const close = async () => {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => {})
  }
  try {
    const legacy = await startLegacyStandIn()
    cleanups.push(() => legacy.close())
    const toss = await startTossFake()
    cleanups.push(() => toss.close())
    const anthropic = await startFakeAnthropic({
      apiKey: 'drill-anthropic-key',
      mode: { kind: 'normal', text: '{"suggestions":["고마워요!","반가워요!"]}' },
    })
    cleanups.push(() => anthropic.close())

    let privatePg: PrivatePostgres | undefined
    let databaseUrl: string
    if (options.database === 'private') {
      privatePg = await privatePostgres()
      cleanups.push(() => privatePg?.close())
      databaseUrl = privatePg.url
    } else {
      const temp = await createTempDatabase('bff_drill')
      cleanups.push(() => temp.drop())
      databaseUrl = temp.url
    }
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 4 })
    pool.on('error', () => {}) // a restart drill breaks idle connections on purpose
    cleanups.push(() => pool.end())
    await ensureRoles(pool)
    await applyMigrations(pgMigrationTarget(pool))
    const sql = async <R>(text: string, params?: unknown[]) =>
      (await pool.query(text, params)).rows as R[]
    await seedCatalog({ sql })

    const db = createPostgresDb({ connectionString: databaseUrl, max: 8 })
    const users: DrillUser[] = []
    const count = options.users ?? 200
    for (let start = 0; start < count; start += 20) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(20, count - start) }, async () => {
          const id = randomUUID()
          const paid = await seedPayment(db, {
            userId: id,
            items: [{ productId: 'tee', quantity: 10 }],
          })
          toss.seed({
            paymentKey: paid.paymentKey,
            orderId: paid.orderId,
            totalAmount: paid.amount,
            status: 'DONE',
            method: '카드',
          })
          return { id, token: await userToken(id), paymentKey: paid.paymentKey }
        }),
      )
      users.push(...batch)
    }
    await db.close()

    let redis: PrivateRedis | undefined
    if (options.redis) {
      redis = await privateRedis()
      cleanups.push(() => redis?.close())
    }
    const dir = mkdtempSync(join(tmpdir(), 'drill-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const flags = join(dir, 'flags.json')
    const off = options.rollback === false ? { rollback: { enabled: false } } : {}
    const routes: Record<string, object> = { ...NATIVE_FLAGS.routes }
    for (const id of options.nativeRoutes ?? []) routes[id] ??= { native: 100 }
    writeFileSync(
      flags,
      JSON.stringify({
        routes: Object.fromEntries(Object.entries(routes).map(([id, f]) => [id, { ...f, ...off }])),
      }),
    )
    const adminToken = randomBytes(24).toString('hex')
    const env: Record<string, string> = {
      LEGACY_FUNCTIONS_URL: legacy.functionsUrl,
      DATABASE_URL: databaseUrl,
      TOSS_SECRET_KEY: toss.secretKey,
      TOSS_API_URL: toss.url,
      ANTHROPIC_API_KEY: anthropic.apiKey,
      ANTHROPIC_BASE_URL: anthropic.url,
      SUPABASE_JWT_SECRET: TEST_JWT_SECRET,
      FLAGS_FILE: flags,
      BFF_ADMIN_TOKEN: adminToken,
      TRUSTED_IP_HEADER: 'x-forwarded-for',
      LOG_LEVEL: 'warn',
      ...(redis ? { REDIS_URL: redis.url, FLAGS_STORE_KEY: `drill:${randomUUID()}` } : {}),
      ...options.env,
    }
    const spawned = new Set<GatewayProcess>()
    cleanups.push(async () => {
      for (const g of spawned) await g.stop('SIGKILL')
    })
    const spawn = async (extra: Record<string, string> = {}) => {
      const g = await spawnGateway({ ...env, ...extra }, 60_000)
      spawned.add(g)
      return g
    }
    const gateway = await spawn()
    return {
      url: gateway.url,
      users,
      adminToken,
      toss,
      gateway,
      legacy,
      anthropic,
      pg: privatePg,
      redis,
      databaseUrl,
      sql,
      env,
      spawn,
      close,
    }
  } catch (error) {
    await close()
    throw error
  }
}

/**
 * Open file descriptors of a process (sockets included), leaving out TCP connections to
 * `excludePorts` (the database pool keeps up to 10 connections, closing idle ones after 10 s:
 * not a leak, but noise in a before/after count).
 */
export function fdCount(pid: number, excludePorts: readonly number[] = []): number {
  const fds = readdirSync(`/proc/${pid}/fd`)
  if (excludePorts.length === 0) return fds.length
  const excluded = socketsTo(pid, excludePorts)
  let n = 0
  for (const fd of fds) {
    try {
      const target = readlinkSync(`/proc/${pid}/fd/${fd}`)
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1]
      if (!inode || !excluded.has(inode)) n++
    } catch {
      // closed while we looked
    }
  }
  return n
}

/** Inodes of the process's TCP sockets whose remote port is one of `ports`. */
function socketsTo(pid: number, ports: readonly number[]): Set<string> {
  const wanted = new Set(ports)
  const inodes = new Set<string>()
  for (const file of ['tcp', 'tcp6']) {
    let text = ''
    try {
      text = readFileSync(`/proc/${pid}/net/${file}`, 'utf8')
    } catch {
      continue
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/)
      const remote = cols[2]
      const inode = cols[9]
      if (!remote || !inode) continue
      const port = Number.parseInt(remote.split(':')[1] ?? '', 16)
      if (wanted.has(port)) inodes.add(inode)
    }
  }
  return inodes
}

/** Socket descriptors of a process. */
export function socketCount(pid: number): number {
  let n = 0
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) n++
    } catch {
      // closed while we looked
    }
  }
  return n
}
