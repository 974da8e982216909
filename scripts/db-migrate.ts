/**
 * `npm run db:migrate`: apply supabase/migrations to DATABASE_URL, or to the PGlite folder
 * (PGLITE_DIR, default .data/pglite) when no DATABASE_URL is set. A Supabase project is
 * migrated with the Supabase CLI (`supabase db push`) from the same files.
 */
import pg from 'pg'
import { applyMigrations, pgMigrationTarget } from '../src/platform/db/migrate.js'
import { createPgliteDb } from '../src/platform/db/pglite.js'
import { SUPABASE_ROLES_SQL } from '../src/platform/db/roles.js'

const report = (name: string, action: string) => console.log(`${action.padEnd(8)} ${name}`)

async function main(): Promise<void> {
  const url = process.env.DATABASE_URL
  if (url) {
    const pool = new pg.Pool({ connectionString: url, max: 1 })
    try {
      // Supabase already has these roles; a bare PostgreSQL needs them for the grants.
      if (process.env.DB_MIGRATE_CREATE_ROLES === '1') await pool.query(SUPABASE_ROLES_SQL)
      const result = await applyMigrations(pgMigrationTarget(pool), { onFile: report })
      summarize(result.changed)
    } finally {
      await pool.end()
    }
    return
  }
  if (process.env.SUPABASE_URL) {
    console.log('SUPABASE_URL without DATABASE_URL: apply migrations with the Supabase CLI')
    console.log('  supabase link --project-ref <ref> && supabase db push')
    return
  }
  const dataDir = process.env.PGLITE_DIR || '.data/pglite'
  const db = await createPgliteDb({ dataDir, migrations: { onFile: report } })
  await db.close()
  console.log(`PGlite at ${dataDir} is up to date`)
}

function summarize(changed: string[]): void {
  if (changed.length > 0) {
    console.warn(`edited after being applied (add a new migration instead): ${changed.join(', ')}`)
    process.exitCode = 1
  }
}

main().catch((error: unknown) => {
  console.error(`db:migrate failed: ${error instanceof Error ? error.message : String(error)}`)
  process.exitCode = 1
})
