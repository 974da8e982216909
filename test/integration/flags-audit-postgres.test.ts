import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPgliteDb } from '../../src/platform/db/pglite.js'
import { type AuditTrail, dbAuditTrail } from '../../src/rollout/audit.js'
import { auditDatabase } from './flags-helper.js'

let database: Awaited<ReturnType<typeof auditDatabase>>
let trail: AuditTrail
let client: pg.Client

beforeAll(async () => {
  database = await auditDatabase()
  trail = dbAuditTrail(database.db)
  client = new pg.Client({ connectionString: database.url })
  client.on('error', () => {}) // a forced drop at teardown may reach a closing connection
  await client.connect()
})

afterAll(async () => {
  await client?.end()
  await database?.drop()
})

const entry = (over: Partial<Parameters<AuditTrail['append']>[0]> = {}) => ({
  actor: 'token:alice',
  routeId: 'payment-checkout',
  from: 0,
  to: 10,
  reason: 'first ramp',
  source: 'api' as const,
  version: 'v1',
  ...over,
})

describe('flag audit trail on PostgreSQL', () => {
  it('appends and lists newest first, per route and in pages', async () => {
    const first = await trail.append(entry())
    expect(first).toMatchObject({
      actor: 'token:alice',
      routeId: 'payment-checkout',
      from: 0,
      to: 10,
      source: 'api',
    })
    expect(Date.parse(first.at)).not.toBeNaN()
    await trail.append(
      entry({ routeId: 'ai-reply-suggest', to: 12.5, reason: 'ai', source: 'cli' }),
    )
    const third = await trail.append(
      entry({
        from: 10,
        to: 0,
        reason: 'rolled back',
        source: 'auto-rollback',
        actor: 'auto-rollback',
      }),
    )
    const all = await trail.list()
    expect(all.map((e) => e.id)).toEqual([third.id, third.id - 1, first.id])
    expect(all[1]?.to).toBe(12.5)
    expect((await trail.list({ routeId: 'payment-checkout' })).map((e) => e.reason)).toEqual([
      'rolled back',
      'first ramp',
    ])
    expect((await trail.list({ before: third.id, limit: 1 })).map((e) => e.routeId)).toEqual([
      'ai-reply-suggest',
    ])
  })

  it('refuses entries that break its rules', async () => {
    await expect(trail.append(entry({ reason: '   ' }))).rejects.toThrow(/check constraint/)
    await expect(trail.append(entry({ to: 101 }))).rejects.toThrow(/check constraint/)
    await expect(trail.append(entry({ source: 'email' as never }))).rejects.toThrow(
      /check constraint/,
    )
  })

  it('is append-only: update, delete and truncate are refused, even to the owner', async () => {
    await trail.append(entry())
    await expect(client.query(`update public.flag_audit set reason = 'rewritten'`)).rejects.toThrow(
      /append-only/,
    )
    await expect(client.query('delete from public.flag_audit')).rejects.toThrow(/append-only/)
    await expect(client.query('truncate public.flag_audit')).rejects.toThrow(/append-only/)
    expect((await trail.list()).every((e) => e.reason !== 'rewritten')).toBe(true)
  })

  it('lets the service role call the functions only, and nobody else', async () => {
    await client.query('set role service_role')
    try {
      await expect(client.query(`update public.flag_audit set reason = 'x'`)).rejects.toThrow(
        /permission denied/,
      )
      await expect(client.query('delete from public.flag_audit')).rejects.toThrow(
        /permission denied/,
      )
      await expect(client.query('select * from public.flag_audit')).rejects.toThrow(
        /permission denied/,
      )
      const listed = await client.query('select public.flag_audit_list() as l')
      expect(listed.rows[0].l.length).toBeGreaterThan(0)
    } finally {
      await client.query('reset role')
    }
    for (const role of ['anon', 'authenticated']) {
      await client.query(`set role ${role}`)
      try {
        await expect(client.query('select public.flag_audit_list()')).rejects.toThrow(
          /permission denied/,
        )
        await expect(
          client.query(
            `select public.flag_audit_append('a', 'payment-checkout', 0, 100, 'sneaky', 'api', 'v9')`,
          ),
        ).rejects.toThrow(/permission denied/)
      } finally {
        await client.query('reset role')
      }
    }
  })
})

describe('flag audit trail on PGlite (the zero-setup default)', () => {
  it('applies with the other migrations and behaves the same', async () => {
    const db = await createPgliteDb()
    try {
      const local = dbAuditTrail(db)
      const saved = await local.append(entry({ to: 50 }))
      expect((await local.list())[0]).toEqual(saved)
      await expect(db.pglite.query('delete from public.flag_audit')).rejects.toThrow(/append-only/)
    } finally {
      await db.close()
    }
  })
})
