// Node entry of the database port. Workers import `./supabase.js` only (no pg, no PGlite).
export { createDb } from './create.js'
export {
  applyMigrations,
  defaultMigrationsDir,
  type MigrateOptions,
  type MigrateResult,
  pgliteMigrationTarget,
  pgMigrationTarget,
} from './migrate.js'
export { createPgliteDb, type PgliteDbOptions } from './pglite.js'
export { type Db, DbFunctionError, DbUnavailableError } from './port.js'
export { createPostgresDb, type PostgresDbOptions } from './postgres.js'
export { SUPABASE_ROLES_SQL } from './roles.js'
export { createSupabaseDb, type SupabaseDbOptions, SupabaseRpcError } from './supabase.js'
