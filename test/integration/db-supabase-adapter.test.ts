import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DbFunctionError, DbUnavailableError } from '../../src/platform/db/port.js'
import { createSupabaseDb, SupabaseRpcError } from '../../src/platform/db/supabase.js'
import { type PostgrestRpcFake, startPostgrestRpcFake } from '../fakes/postgrest-rpc.js'
import { type Harness, postgresHarness, seedCatalog, USER_A } from './db-harness.js'

/** Unsigned JWT-shaped keys: the stand-in reads the role claim as PostgREST would after verifying. */
const jwtFor = (role: string) =>
  ['{"alg":"HS256","typ":"JWT"}', JSON.stringify({ role, iss: 'supabase' })]
    .map((part) => Buffer.from(part).toString('base64url'))
    .concat('signature')
    .join('.')
const SERVICE_KEY = jwtFor('service_role')
const ANON_KEY = jwtFor('anon')

describe('the supabase-js adapter against a PostgREST RPC stand-in on PostgreSQL', () => {
  let h: Harness
  let rest: PostgrestRpcFake

  beforeAll(async () => {
    h = await postgresHarness()
    await seedCatalog(h)
    rest = await startPostgrestRpcFake({
      connectionString: h.url as string,
      apiKeys: [SERVICE_KEY, ANON_KEY],
    })
  })
  afterAll(async () => {
    await rest?.close()
    await h?.close()
  })

  it('sends what PostgREST expects and returns the function result', async () => {
    const db = createSupabaseDb({ url: rest.url, serviceRoleKey: SERVICE_KEY })
    const args = {
      p_user_id: USER_A,
      p_items: [{ productId: 'tee', quantity: 2 }],
      p_idempotency_key: 'k-1',
    }
    const order = await db.call<{ amount: number; orderId: string }>('checkout_create_order', args)
    expect(order.amount).toBe(30000)
    const sent = rest.requests.at(-1)
    expect(sent?.method).toBe('POST')
    expect(sent?.path).toBe('/rest/v1/rpc/checkout_create_order')
    expect(sent?.headers.apikey).toBe(SERVICE_KEY)
    expect(sent?.headers.authorization).toBe(`Bearer ${SERVICE_KEY}`)
    expect(sent?.headers['content-type']).toMatch(/^application\/json/)
    expect(sent?.headers['x-client-info']).toMatch(/postgrest-js/)
    expect(sent?.body).toEqual(args)
    expect(await db.ping()).toBe(true)
  })

  it('turns a function error (P0001) into DbFunctionError with its code', async () => {
    const db = createSupabaseDb({ url: rest.url, serviceRoleKey: SERVICE_KEY })
    const error = await db
      .call('checkout_create_order', {
        p_user_id: USER_A,
        p_items: [{ productId: 'nope', quantity: 1 }],
      })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(DbFunctionError)
    expect(error).toMatchObject({ code: 'unknown-product', detail: 'items.0.productId' })
  })

  it('is refused with the anon key (grants)', async () => {
    const db = createSupabaseDb({ url: rest.url, serviceRoleKey: ANON_KEY })
    const error = await db
      .call('checkout_create_order', {
        p_user_id: USER_A,
        p_items: [{ productId: 'tee', quantity: 1 }],
      })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SupabaseRpcError)
    expect(error).toMatchObject({ code: '42501', status: 401 })
  })

  it('reports an unreachable database or PostgREST as DbUnavailableError', async () => {
    const db = createSupabaseDb({ url: rest.url, serviceRoleKey: SERVICE_KEY })
    rest.setDatabaseDown(true)
    try {
      const error = await db
        .call('refund_get', { p_refund_id: crypto.randomUUID() })
        .catch((e: unknown) => e)
      expect(error).toBeInstanceOf(DbUnavailableError)
    } finally {
      rest.setDatabaseDown(false)
    }
    const nowhere = createSupabaseDb({ url: 'http://127.0.0.1:9', serviceRoleKey: SERVICE_KEY })
    expect(
      await nowhere
        .call('refund_get', { p_refund_id: crypto.randomUUID() })
        .catch((e: unknown) => e),
    ).toBeInstanceOf(DbUnavailableError)
    expect(await nowhere.ping()).toBe(false)
  })
})
