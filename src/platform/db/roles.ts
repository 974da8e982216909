/**
 * The roles Supabase provides. Grants in the migrations name them, so a bare PostgreSQL or
 * PGlite needs them before the migrations run. Idempotent and safe under concurrent callers
 * (roles are cluster-wide: parallel test databases share them).
 */
export const SUPABASE_ROLES_SQL = ['anon', 'authenticated', 'service_role']
  .map(
    (role) =>
      `do $$ begin create role ${role} nologin; exception when duplicate_object or unique_violation then null; end $$;`,
  )
  .join('\n')
