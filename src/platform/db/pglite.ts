import { mkdir } from 'node:fs/promises'
import type { PGlite } from '@electric-sql/pglite'
import { buildFunctionCall } from './call-sql.js'
import { toDbError } from './errors.js'
import { applyMigrations, type MigrateOptions, pgliteMigrationTarget } from './migrate.js'
import type { Db } from './port.js'
import { SUPABASE_ROLES_SQL } from './roles.js'

export interface PgliteDbOptions {
  /** Folder for the data files; in memory when omitted (tests). */
  dataDir?: string
  /** Apply `supabase/migrations` at start (the default: PGlite is the zero-setup database). */
  migrate?: boolean
  migrations?: MigrateOptions
}

/**
 * The port over embedded PGlite (Node only): the default when no database is configured, so
 * `npm start` works with nothing installed. Supabase's roles are created first so the
 * migrations' grants apply as they do on Supabase.
 */
export async function createPgliteDb({
  dataDir,
  migrate = true,
  migrations,
}: PgliteDbOptions = {}): Promise<Db & { pglite: PGlite }> {
  // PGlite creates only the last directory of the path; a fresh clone has no `.data/` yet.
  if (dataDir !== undefined) await mkdir(dataDir, { recursive: true })
  // Loaded here, not at start-up: a gateway with a real database never pays for it.
  const { PGlite } = await import('@electric-sql/pglite')
  const pglite = dataDir === undefined ? await PGlite.create() : await PGlite.create({ dataDir })
  try {
    await pglite.exec(SUPABASE_ROLES_SQL)
    if (migrate) await applyMigrations(pgliteMigrationTarget(pglite), migrations)
  } catch (error) {
    await pglite.close().catch(() => {})
    throw error
  }
  return {
    kind: 'pglite',
    pglite,
    async call<T>(fn: string, args: Record<string, unknown>): Promise<T> {
      const { text, values } = buildFunctionCall(fn, args)
      try {
        const result = await pglite.query<{ result: T }>(text, values)
        return result.rows[0]?.result as T
      } catch (error) {
        throw toDbError(error)
      }
    },
    async ping() {
      if (pglite.closed) return false
      try {
        await pglite.query('select 1')
        return true
      } catch {
        return false
      }
    },
    async close() {
      if (!pglite.closed) await pglite.close()
    },
  }
}
