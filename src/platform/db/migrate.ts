import { createHash } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'

/** One transaction on the target database, as the migrator needs it. */
export interface MigrationTx {
  exec(sql: string): Promise<void>
  query(sql: string, params?: unknown[]): Promise<Record<string, unknown>[]>
}

/** A database the migrator can open a transaction on (node-postgres or PGlite, see below). */
export interface MigrationTarget {
  transaction<T>(fn: (tx: MigrationTx) => Promise<T>): Promise<T>
}

export interface MigrateOptions {
  /** Folder of `NNNN_name.sql` files; `supabase/migrations` under the working directory by default. */
  dir?: string
  /** Told about each file applied or skipped. */
  onFile?: (name: string, action: 'applied' | 'skipped' | 'changed') => void
}

export interface MigrateResult {
  applied: string[]
  skipped: string[]
  /** Applied earlier but edited since: never re-run, reported so someone adds a new file instead. */
  changed: string[]
}

/** Default folder, relative to the working directory (the repository root or the image's WORKDIR). */
export const defaultMigrationsDir = () => resolve(process.cwd(), 'supabase/migrations')

// Any constant works; it only has to be the same for every migrator run on this database.
const MIGRATION_LOCK_KEY = 72_120_001

/**
 * Apply `supabase/migrations/*.sql` in file-name order, each at most once, all in one
 * transaction under an advisory lock (two instances starting together do not race). Applied
 * files are recorded in `bff_schema_migrations`. Supabase-hosted databases are migrated by the
 * Supabase CLI instead, from the same files.
 */
export async function applyMigrations(
  target: MigrationTarget,
  { dir = defaultMigrationsDir(), onFile = () => {} }: MigrateOptions = {},
): Promise<MigrateResult> {
  const files = (await readdir(dir)).filter((name) => name.endsWith('.sql')).sort()
  const sources = await Promise.all(
    files.map(async (name) => ({ name, sql: await readFile(join(dir, name), 'utf8') })),
  )
  return target.transaction(async (tx) => {
    await tx.query('select pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY])
    await tx.exec(`create table if not exists public.bff_schema_migrations (
      name text primary key,
      checksum text not null,
      applied_at timestamptz not null default now()
    )`)
    const rows = await tx.query('select name, checksum from public.bff_schema_migrations')
    const known = new Map(rows.map((row) => [String(row.name), String(row.checksum)]))
    const result: MigrateResult = { applied: [], skipped: [], changed: [] }
    for (const { name, sql } of sources) {
      const checksum = createHash('sha256').update(sql).digest('hex')
      const previous = known.get(name)
      if (previous !== undefined) {
        const action = previous === checksum ? 'skipped' : 'changed'
        result[action].push(name)
        onFile(name, action)
        continue
      }
      await tx.exec(sql)
      await tx.query('insert into public.bff_schema_migrations (name, checksum) values ($1, $2)', [
        name,
        checksum,
      ])
      result.applied.push(name)
      onFile(name, 'applied')
    }
    return result
  })
}

/** node-postgres as a migration target (a `pg.Pool` or anything with `connect()`). */
export function pgMigrationTarget(pool: {
  connect(): Promise<{
    query(sql: string, params?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>
    release(error?: Error | boolean): void
  }>
}): MigrationTarget {
  return {
    async transaction(fn) {
      const client = await pool.connect()
      try {
        await client.query('begin')
        const value = await fn({
          exec: async (sql) => {
            await client.query(sql)
          },
          query: async (sql, params) => (await client.query(sql, params)).rows,
        })
        await client.query('commit')
        client.release()
        return value
      } catch (error) {
        await client.query('rollback').catch(() => {})
        client.release(true)
        throw error
      }
    },
  }
}

/** PGlite (or anything with its `transaction` shape) as a migration target. */
export function pgliteMigrationTarget(db: {
  transaction<T>(
    fn: (tx: {
      exec(sql: string): Promise<unknown>
      query(sql: string, params?: unknown[]): Promise<{ rows: unknown[] }>
    }) => Promise<T>,
  ): Promise<T>
}): MigrationTarget {
  return {
    transaction: (fn) =>
      db.transaction((tx) =>
        fn({
          exec: async (sql) => {
            await tx.exec(sql)
          },
          query: async (sql, params) =>
            (await tx.query(sql, params)).rows as Record<string, unknown>[],
        }),
      ),
  }
}
