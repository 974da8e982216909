import pg from 'pg'
import { applyMigrations, pgMigrationTarget } from '../../src/platform/db/migrate.js'
import type { Db } from '../../src/platform/db/port.js'
import { createPostgresDb } from '../../src/platform/db/postgres.js'
import { createTempDatabase } from './db-harness.js'

/**
 * Test-only: a throwaway `bff_ai_<random>` database on the shared PostgreSQL server with every
 * migration applied, the gateway's own Postgres adapter over it, and a superuser pool for
 * seeding and assertions.
 */
export interface TestDatabase {
  db: Db
  pool: pg.Pool
  drop(): Promise<void>
}

export async function createTestDatabase(poolSize = 20): Promise<TestDatabase> {
  const temp = await createTempDatabase('bff_ai')
  const pool = new pg.Pool({ connectionString: temp.url, max: 4 })
  pool.on('error', () => {}) // a forced drop at teardown may reach a closing connection
  try {
    await applyMigrations(pgMigrationTarget(pool))
  } catch (error) {
    await pool.end()
    await temp.drop()
    throw error
  }
  const db = createPostgresDb({ connectionString: temp.url, max: poolSize })
  return {
    db,
    pool,
    async drop() {
      await db.close()
      await pool.end()
      await temp.drop()
    },
  }
}
