import { readFile } from 'node:fs/promises'
import pg from 'pg'
import { type Db, DbFunctionError, DbUnavailableError } from '../../src/platform/db/port.js'

/**
 * Test-only: a throwaway database on the shared PostgreSQL server with the AI migration
 * applied, and a minimal `Db` over it calling `public.<fn>(p_x => $1, …)` as the service role.
 */

const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const MIGRATION = new URL('../../supabase/migrations/0002_ai_quotas.sql', import.meta.url)

export interface TestDatabase {
  db: Db
  pool: pg.Pool
  name: string
  drop(): Promise<void>
}

const IDENT = /^[a-z_][a-z0-9_]*$/

function dbCall(pool: pg.Pool): Db {
  return {
    kind: 'postgres',
    async call<T>(fn: string, args: Record<string, unknown>): Promise<T> {
      if (!IDENT.test(fn)) throw new TypeError(`bad function name: ${fn}`)
      const names = Object.keys(args)
      if (!names.every((n) => IDENT.test(n))) throw new TypeError('bad argument name')
      const list = names.map((n, i) => `${n} => $${i + 1}`).join(', ')
      let client: pg.PoolClient
      try {
        client = await pool.connect()
      } catch (error) {
        throw new DbUnavailableError('database unreachable', { cause: error })
      }
      try {
        // The functions are executable by service_role only, as the gateway connects in production.
        await client.query('set role service_role')
        const result = await client.query(
          `select public.${fn}(${list}) as value`,
          Object.values(args),
        )
        return result.rows[0]?.value as T
      } catch (error) {
        const e = error as { code?: string; message?: string }
        if (e.code === 'P0001' && e.message) {
          const at = e.message.indexOf(': ')
          throw at > 0
            ? new DbFunctionError(e.message.slice(0, at), e.message.slice(at + 2), { cause: error })
            : new DbFunctionError(e.message, '', { cause: error })
        }
        throw error
      } finally {
        await client.query('reset role').catch(() => undefined)
        client.release()
      }
    },
    async ping() {
      await pool.query('select 1')
      return true
    },
    async close() {
      await pool.end()
    },
  }
}

async function ensureRoles(admin: pg.Client) {
  for (const role of ['anon', 'authenticated', 'service_role']) {
    // Roles are cluster-wide and other suites create them concurrently.
    await admin.query(
      `DO $$ BEGIN CREATE ROLE ${role} NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN null; END $$`,
    )
  }
}

/** Create `bff_ai_<random>`, apply the migration, return a `Db` over it. */
export async function createTestDatabase(poolSize = 20): Promise<TestDatabase> {
  const name = `bff_ai_${Math.random().toString(36).slice(2, 10)}`
  const admin = new pg.Client({ connectionString: ADMIN_URL })
  await admin.connect()
  try {
    await ensureRoles(admin)
    await admin.query(`create database ${name}`)
  } finally {
    await admin.end()
  }
  const url = new URL(ADMIN_URL)
  url.pathname = `/${name}`
  const pool = new pg.Pool({ connectionString: url.toString(), max: poolSize })
  await pool.query(await readFile(MIGRATION, 'utf8'))
  const db = dbCall(pool)
  return {
    db,
    pool,
    name,
    async drop() {
      await pool.end()
      const dropper = new pg.Client({ connectionString: ADMIN_URL })
      await dropper.connect()
      try {
        await dropper.query(`drop database if exists ${name} with (force)`)
      } finally {
        await dropper.end()
      }
    },
  }
}
