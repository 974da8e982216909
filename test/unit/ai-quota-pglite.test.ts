import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPgliteDb } from '../../src/platform/db/pglite.js'
import { DbFunctionError } from '../../src/platform/db/port.js'

// The AI migration must run on embedded PGlite, the default database when nothing is set.
const USER = '7d4e3c2b-1a09-4f8e-9d7c-6b5a4f3e2d1c'

describe('0002_ai_quotas on PGlite', () => {
  let db: Awaited<ReturnType<typeof createPgliteDb>>
  beforeAll(async () => {
    db = await createPgliteDb()
  })
  afterAll(async () => {
    await db?.close()
  })

  const consume = () =>
    db.call<number>('ai_quota_consume', { p_user_id: USER, p_feature: 'poll-suggest', p_cost: 1 })

  it('creates the row on first use with the daily allowance, then counts down', async () => {
    expect(await consume()).toBe(19)
    expect(await consume()).toBe(18)
  })

  it('raises quota-exhausted through the port, and the refill restores it', async () => {
    await db.pglite.query('update public.ai_quotas set remaining = 0')
    const error = await consume().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(DbFunctionError)
    expect(error).toMatchObject({ code: 'quota-exhausted' })
    expect((error as DbFunctionError).detail).toMatch(/^poll-suggest; resets_at=\d{4}-\d\d-\d\dT/)
    expect(await db.call('ai_quota_refill', { p_feature: 'poll-suggest' })).toBe(1)
    expect(await consume()).toBe(19)
  })

  it('records usage without content', async () => {
    const id = await db.call('ai_usage_record', {
      p_request_id: 'r1',
      p_user_id: USER,
      p_feature: 'poll-suggest',
      p_model: 'claude-haiku-5-5',
      p_source: 'ai',
      p_input_tokens: 10,
      p_output_tokens: 5,
      p_fallback_reason: 'overloaded',
    })
    expect(Number(id)).toBeGreaterThan(0)
  })

  it('rejects an unknown feature and a non-positive cost with stable codes', async () => {
    await expect(
      db.call('ai_quota_consume', { p_user_id: USER, p_feature: 'nope', p_cost: 1 }),
    ).rejects.toMatchObject({ code: 'unknown-feature' })
    await expect(
      db.call('ai_quota_consume', { p_user_id: USER, p_feature: 'poll-suggest', p_cost: 0 }),
    ).rejects.toMatchObject({ code: 'invalid-cost' })
  })

  it('is executable by service_role only', async () => {
    const sql = `select public.ai_quota_consume('${USER}', 'poll-suggest', 1)`
    for (const role of ['anon', 'authenticated']) {
      await db.pglite.exec(`set role ${role}`)
      await expect(db.pglite.query(sql)).rejects.toThrow(/permission denied/)
      await expect(db.pglite.query('select * from public.ai_quotas')).rejects.toThrow(
        /permission denied/,
      )
      await db.pglite.exec('reset role')
    }
    await db.pglite.exec('set role service_role')
    try {
      expect((await db.pglite.query(sql)).rows).toHaveLength(1)
    } finally {
      await db.pglite.exec('reset role')
    }
  })
})
