// Node entry of the database port. Workers import `./supabase.js` only (no pg, no PGlite).
export { createDb } from './create.js'
export { createPgliteDb, type PgliteDbOptions } from './pglite.js'
export { createPostgresDb, type PostgresDbOptions } from './postgres.js'
export { createSupabaseDb, SupabaseRpcError, type SupabaseDbOptions } from './supabase.js'
export {
  applyMigrations,
  defaultMigrationsDir,
  pgliteMigrationTarget,
  pgMigrationTarget,
  type MigrateOptions,
  type MigrateResult,
} from './migrate.js'
export { SUPABASE_ROLES_SQL } from './roles.js'
export { DbFunctionError, DbUnavailableError, type Db } from './port.js'
