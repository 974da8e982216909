import type { Config } from '../../config.js'
import { createPgliteDb } from './pglite.js'
import type { Db } from './port.js'
import { createPostgresDb } from './postgres.js'
import { createSupabaseDb } from './supabase.js'

/**
 * Pick the Node adapter from configuration: `DATABASE_URL` → node-postgres; else
 * `SUPABASE_URL` + `SUPABASE_SERVICE_ROLE_KEY` → supabase-js rpc; else embedded PGlite in
 * `PGLITE_DIR` with the migrations applied. Workers call `createSupabaseDb` from
 * `./supabase.js` directly, so pg and PGlite stay out of their bundle.
 */
export async function createDb(
  config: Pick<
    Config,
    'DATABASE_URL' | 'SUPABASE_URL' | 'SUPABASE_SERVICE_ROLE_KEY' | 'PGLITE_DIR'
  >,
  options: { onPoolError?: (error: Error) => void } = {},
): Promise<Db> {
  if (config.DATABASE_URL) {
    return createPostgresDb({ connectionString: config.DATABASE_URL, ...options })
  }
  if (config.SUPABASE_URL && config.SUPABASE_SERVICE_ROLE_KEY) {
    return createSupabaseDb({
      url: config.SUPABASE_URL,
      serviceRoleKey: config.SUPABASE_SERVICE_ROLE_KEY,
    })
  }
  return createPgliteDb({ dataDir: config.PGLITE_DIR })
}
