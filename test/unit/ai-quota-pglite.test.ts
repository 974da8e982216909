import { readFile } from 'node:fs/promises'
import { PGlite } from '@electric-sql/pglite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

// The same migration must run on embedded PGlite (the default database when nothing is set).
const MIGRATION = new URL('../../supabase/migrations/0002_ai_quotas.sql', import.meta.url)
const USER = '7d4e3c2b-1a09-4f8e-9d7c-6b5a4f3e2d1c'

describe('0002_ai_quotas on PGlite', () => {
  let pg: PGlite
  beforeAll(async () => {
    pg = await PGlite.create()
    const sql = await readFile(MIGRATION, 'utf8')
    await pg.exec(sql)
    // Applying twice is harmless (a re-run of the migrator).
    await pg.exec(sql)
  })
  afterAll(async () => {
    await pg?.close()
  })

  const consume = async () =>
    (
      await pg.query<{ v: number }>(
        `select public.ai_quota_consume(p_user_id => $1, p_feature => 'poll-suggest', p_cost => 1) as v`,
        [USER],
      )
    ).rows[0]?.v

  it('creates the row on first use with the daily allowance, then counts down', async () => {
    expect(await consume()).toBe(19)
    expect(await consume()).toBe(18)
  })

  it('raises quota-exhausted, and the refill restores it', async () => {
    await pg.query(`update public.ai_quotas set remaining = 0`)
    await expect(consume()).rejects.toThrow(/^quota-exhausted: poll-suggest; resets_at=\d{4}-/)
    const refilled = await pg.query<{ n: number }>(
      `select public.ai_quota_refill(p_feature => 'poll-suggest') as n`,
    )
    expect(refilled.rows[0]?.n).toBe(1)
    expect(await consume()).toBe(19)
  })

  it('records usage without content', async () => {
    const r = await pg.query<{ id: number }>(
      `select public.ai_usage_record(p_request_id => 'r1', p_user_id => $1, p_feature => 'poll-suggest',
        p_model => 'claude-haiku-4-5', p_source => 'ai', p_input_tokens => 10, p_output_tokens => 5,
        p_fallback_reason => 'overloaded') as id`,
      [USER],
    )
    expect(Number(r.rows[0]?.id)).toBeGreaterThan(0)
  })

  it('is not executable by anon or authenticated', async () => {
    for (const role of ['anon', 'authenticated']) {
      await pg.exec(`set role ${role}`)
      await expect(consume()).rejects.toThrow(/permission denied/)
      await pg.exec('reset role')
    }
  })
})
