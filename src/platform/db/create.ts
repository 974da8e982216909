import { type Config, ConfigError } from '../../config.js'
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
type DbConfig = Pick<
  Config,
  'DATABASE_URL' | 'SUPABASE_URL' | 'SUPABASE_SERVICE_ROLE_KEY' | 'PGLITE_DIR' | 'isProduction'
>

/**
 * Which adapter the configuration selects. Production refuses embedded PGlite: every instance
 * would keep its own orders, payments and audit trail.
 * @throws ConfigError
 */
export function databaseKind(config: DbConfig): 'postgres' | 'supabase' | 'pglite' {
  if (config.DATABASE_URL) return 'postgres'
  if (config.SUPABASE_URL && config.SUPABASE_SERVICE_ROLE_KEY) return 'supabase'
  if (config.isProduction) {
    throw new ConfigError(
      'DATABASE_URL',
      'set (or SUPABASE_URL with SUPABASE_SERVICE_ROLE_KEY) in production: embedded PGlite keeps data per instance',
    )
  }
  return 'pglite'
}

export async function createDb(
  config: DbConfig,
  options: { onPoolError?: (error: Error) => void } = {},
): Promise<Db> {
  const kind = databaseKind(config)
  if (kind === 'postgres') {
    return createPostgresDb({ connectionString: config.DATABASE_URL as string, ...options })
  }
  if (kind === 'supabase') {
    return createSupabaseDb({
      url: config.SUPABASE_URL as string,
      serviceRoleKey: config.SUPABASE_SERVICE_ROLE_KEY as string,
    })
  }
  return createPgliteDb({ dataDir: config.PGLITE_DIR })
}
