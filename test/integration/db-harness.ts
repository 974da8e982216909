import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { applyMigrations, pgMigrationTarget } from '../../src/platform/db/migrate.js'
import { createPgliteDb } from '../../src/platform/db/pglite.js'
import type { Db } from '../../src/platform/db/port.js'
import { createPostgresDb } from '../../src/platform/db/postgres.js'
import { SUPABASE_ROLES_SQL } from '../../src/platform/db/roles.js'

/** Admin connection to the test server (trust auth, loopback). */
export const ADMIN_URL =
  process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

export interface Harness {
  kind: 'postgres' | 'pglite'
  db: Db
  /** Superuser SQL for seeding and assertions. */
  sql<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<R[]>
  /** Run one statement as `role` (SET ROLE), to prove grants. */
  asRole(role: string, text: string, params?: unknown[]): Promise<unknown>
  /** Connection URL of the temporary database (postgres only). */
  url?: string
  close(): Promise<void>
}

/** Roles are cluster-wide and other suites create them too: tolerate the race and retry. */
export async function ensureRoles(client: pg.Pool | pg.Client): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await client.query(SUPABASE_ROLES_SQL)
      return
    } catch (error) {
      if (attempt >= 5) throw error
    }
  }
}

/** A fresh database `bff_payments_<random>` on the test server, dropped by `drop()`. */
export async function createTempDatabase(
  prefix = 'bff_payments',
): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`
  const admin = new pg.Client({ connectionString: ADMIN_URL })
  await admin.connect()
  try {
    await admin.query(`create database ${name}`)
    await ensureRoles(admin)
  } finally {
    await admin.end()
  }
  const url = new URL(ADMIN_URL)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: ADMIN_URL })
      await client.connect()
      try {
        await client.query(`drop database if exists ${name} with (force)`)
      } finally {
        await client.end()
      }
    },
  }
}

export async function postgresHarness(): Promise<Harness> {
  const temp = await createTempDatabase()
  const admin = new pg.Pool({ connectionString: temp.url, max: 4 })
  // `drop database … with (force)` may reach a connection still closing: not a test failure.
  admin.on('error', () => {})
  await applyMigrations(pgMigrationTarget(admin))
  const db = createPostgresDb({ connectionString: temp.url, max: 20 })
  return {
    kind: 'postgres',
    db,
    url: temp.url,
    sql: async (text, params) => (await admin.query(text, params)).rows,
    async asRole(role, text, params) {
      const client = await admin.connect()
      try {
        await client.query(`set role ${role}`)
        return (await client.query(text, params)).rows
      } finally {
        await client.query('reset role').catch(() => {})
        client.release()
      }
    },
    async close() {
      await db.close()
      await admin.end()
      await temp.drop()
    },
  }
}

export async function pgliteHarness(): Promise<Harness> {
  const db = await createPgliteDb()
  const { pglite } = db
  return {
    kind: 'pglite',
    db,
    sql: async (text, params) => (await pglite.query(text, params)).rows as never[],
    async asRole(role, text, params) {
      await pglite.exec(`set role ${role}`)
      try {
        return (await pglite.query(text, params)).rows
      } finally {
        await pglite.exec('reset role')
      }
    },
    close: () => db.close(),
  }
}

export const USER_A = '0b7a7c3e-4a53-4d8e-9a51-5f7f1d0e2a01'
export const USER_B = '6f1c2a9b-8d3e-4f5a-b6c7-d8e9f0a1b2c3'

/** Two active products and an inactive one. */
export async function seedCatalog(h: Pick<Harness, 'sql'>): Promise<void> {
  await h.sql(`insert into public.products (id, name, price_krw, active) values
    ('tee', '티셔츠', 15000, true), ('cap', '모자', 9000, true), ('old', '단종', 1000, false)
    on conflict (id) do nothing`)
}

export interface SeededPayment {
  orderId: string
  paymentKey: string
  amount: number
}

/** An order for `userId` and a DONE Toss payment for it, recorded as confirm would. */
export async function seedPayment(
  db: Db,
  {
    userId = USER_A,
    items = [{ productId: 'tee', quantity: 2 }],
    method = '카드',
    secret = null as string | null,
    approvedAt = new Date().toISOString(),
    status = 'DONE',
    paymentKey = `pk_${randomBytes(8).toString('hex')}`,
  } = {},
): Promise<SeededPayment> {
  const order = await db.call<{ orderId: string; amount: number }>('checkout_create_order', {
    p_user_id: userId,
    p_items: items,
  })
  const outcome = await db.call('payment_apply_snapshot', {
    p_payment: {
      paymentKey,
      orderId: order.orderId,
      status,
      method,
      secret,
      totalAmount: order.amount,
      balanceAmount: order.amount,
      requestedAt: approvedAt,
      approvedAt: status === 'DONE' ? approvedAt : null,
    },
  })
  if (outcome !== 'applied') throw new Error(`seedPayment: ${String(outcome)}`)
  return { orderId: order.orderId, paymentKey, amount: order.amount }
}
