import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  applyMigrations,
  pgliteMigrationTarget,
  pgMigrationTarget,
} from '../../src/platform/db/migrate.js'
import { DbFunctionError } from '../../src/platform/db/port.js'
import {
  type Harness,
  pgliteHarness,
  postgresHarness,
  seedCatalog,
  seedPayment,
  USER_A,
  USER_B,
} from './db-harness.js'

// One contract, two engines: the real PostgreSQL 15 server and embedded PGlite.
describe.each([
  ['postgres', postgresHarness],
  ['pglite', pgliteHarness],
] as const)('database contract on %s', (_name, makeHarness) => {
  let h: Harness

  beforeAll(async () => {
    h = await makeHarness()
    await seedCatalog(h)
  })
  afterAll(async () => {
    await h?.close()
  })

  const fnError = async (promise: Promise<unknown>) => {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(DbFunctionError)
    return error as DbFunctionError
  }
  const count = async (table: string) =>
    Number((await h.sql<{ n: string }>(`select count(*) as n from public.${table}`))[0]?.n)

  it('applies the migrations once and skips them afterwards', async () => {
    const rows = await h.sql<{ name: string }>('select name from public.bff_schema_migrations')
    expect(rows.map((r) => r.name)).toContain('0001_payments.sql')
    if (h.kind === 'postgres') {
      const pool = new pg.Pool({ connectionString: h.url, max: 1 })
      pool.on('error', () => {})
      const again = await applyMigrations(pgMigrationTarget(pool))
      await pool.end()
      expect(again.applied).toEqual([])
      expect(again.skipped).toContain('0001_payments.sql')
    } else {
      const pglite = (h.db as unknown as { pglite: Parameters<typeof pgliteMigrationTarget>[0] })
        .pglite
      const again = await applyMigrations(pgliteMigrationTarget(pglite))
      expect(again.applied).toEqual([])
    }
  })

  it('prices a checkout from the catalog', async () => {
    const order = await h.db.call<Record<string, unknown>>('checkout_create_order', {
      p_user_id: USER_A,
      p_items: [
        { productId: 'tee', quantity: 2 },
        { productId: 'cap', quantity: 1 },
      ],
    })
    expect(order).toMatchObject({
      amount: 39000,
      currency: 'KRW',
      orderName: '티셔츠 외 1건',
      replayed: false,
    })
    expect(order.orderId).toMatch(/^[A-Za-z0-9_-]{6,64}$/)
    expect(order.customerKey).toMatch(/^[A-Za-z0-9_=.@-]{2,50}$/)
    const again = await h.db.call<Record<string, unknown>>('checkout_create_order', {
      p_user_id: USER_A,
      p_items: [{ productId: 'cap', quantity: 1 }],
    })
    expect(again.customerKey).toBe(order.customerKey)
    expect(again.orderId).not.toBe(order.orderId)
  })

  it('returns the same order for a repeated idempotency key, and refuses other items under it', async () => {
    const args = {
      p_user_id: USER_B,
      p_items: [{ productId: 'tee', quantity: 1 }],
      p_idempotency_key: 'cart-42',
    }
    const first = await h.db.call<Record<string, unknown>>('checkout_create_order', args)
    const before = await count('orders')
    const second = await h.db.call<Record<string, unknown>>('checkout_create_order', args)
    expect(second.orderId).toBe(first.orderId)
    expect(second.replayed).toBe(true)
    expect(await count('orders')).toBe(before)
    const reused = await fnError(
      h.db.call('checkout_create_order', { ...args, p_items: [{ productId: 'tee', quantity: 2 }] }),
    )
    expect(reused.code).toBe('idempotency-key-reused')
    // The same key of another user is another order.
    const other = await h.db.call<Record<string, unknown>>('checkout_create_order', {
      ...args,
      p_user_id: USER_A,
    })
    expect(other.orderId).not.toBe(first.orderId)
  })

  it('refuses unknown, inactive and malformed items with stable codes, writing nothing', async () => {
    const before = await count('orders')
    const cases: Array<[unknown, string, string]> = [
      [
        [
          { productId: 'tee', quantity: 1 },
          { productId: 'nope', quantity: 1 },
        ],
        'unknown-product',
        'items.1.productId',
      ],
      [[{ productId: 'old', quantity: 1 }], 'inactive-product', 'items.0.productId'],
      [[{ productId: 'tee', quantity: 0 }], 'invalid-quantity', 'items.0.quantity'],
      [[{ productId: 'tee', quantity: 100 }], 'invalid-quantity', 'items.0.quantity'],
      [[{ productId: 'tee', quantity: 1.5 }], 'invalid-quantity', 'items.0.quantity'],
      [[{ productId: 'tee', quantity: '1' }], 'invalid-quantity', 'items.0.quantity'],
      [
        [{ productId: "tee'; drop table orders; --", quantity: 1 }],
        'invalid-product-id',
        'items.0.productId',
      ],
      [
        [
          { productId: 'tee', quantity: 1 },
          { productId: 'tee', quantity: 1 },
        ],
        'duplicate-product',
        'items.1.productId',
      ],
      [[], 'invalid-items', 'items'],
      [{ productId: 'tee' }, 'invalid-items', 'items'],
    ]
    for (const [items, code, detail] of cases) {
      const error = await fnError(
        h.db.call('checkout_create_order', { p_user_id: USER_A, p_items: items }),
      )
      expect([error.code, error.detail]).toEqual([code, detail])
    }
    expect(await count('orders')).toBe(before)
  })

  it('dedupes webhook events and ignores stale transitions', async () => {
    const paid = await seedPayment(h.db)
    const base = {
      paymentKey: paid.paymentKey,
      orderId: paid.orderId,
      totalAmount: paid.amount,
      method: '카드',
      approvedAt: new Date(Date.now() - 60_000).toISOString(),
    }
    const canceled = {
      ...base,
      status: 'CANCELED',
      balanceAmount: 0,
      cancels: [
        {
          transactionKey: 'tx-c',
          cancelAmount: paid.amount,
          canceledAt: new Date(Date.now() + 60_000).toISOString(),
        },
      ],
    }
    const apply = (eventId: string, payment: unknown) =>
      h.db.call('webhook_apply_payment_event', {
        p_event_id: eventId,
        p_event_type: 'PAYMENT_STATUS_CHANGED',
        p_payment: payment,
      })
    expect(await apply('t-1', canceled)).toBe('applied')
    expect(await apply('t-1', canceled)).toBe('duplicate')
    // DONE after CANCELED: an older snapshot arriving late.
    expect(await apply('t-2', { ...base, status: 'DONE', balanceAmount: paid.amount })).toBe(
      'stale',
    )
    expect(
      await apply('t-3', { ...canceled, status: 'PARTIAL_CANCELED', balanceAmount: 1000 }),
    ).toBe('stale')
    const [row] = await h.sql<{ status: string; balance_amount: number }>(
      'select status, balance_amount from public.payments where payment_key = $1',
      [paid.paymentKey],
    )
    expect(row).toMatchObject({ status: 'CANCELED', balance_amount: 0 })
    const events = await h.sql<{ event_id: string; outcome: string }>(
      `select event_id, outcome from public.payment_events where event_id in ('t-1', 't-2', 't-3') order by event_id`,
    )
    expect(events.map((e) => e.outcome)).toEqual(['applied', 'stale', 'stale'])
    expect(
      await apply('t-4', {
        ...base,
        orderId: 'ord_not_ours_000',
        status: 'DONE',
        balanceAmount: 1,
      }),
    ).toBe('unknown-order')
    const other = await seedPayment(h.db)
    expect(
      await apply('t-5', {
        ...base,
        paymentKey: other.paymentKey,
        orderId: other.orderId,
        status: 'DONE',
        totalAmount: 1,
        balanceAmount: 1,
      }),
    ).toBe('amount-mismatch')
  })

  it('authenticates deposit callbacks by the stored secret', async () => {
    const paid = await seedPayment(h.db, {
      method: '가상계좌',
      secret: 'ps_secret_123',
      status: 'WAITING_FOR_DEPOSIT',
    })
    const deposit = (eventId: string, secret: string, status = 'DONE') =>
      h.db.call('webhook_apply_deposit_callback', {
        p_event_id: eventId,
        p_order_id: paid.orderId,
        p_secret: secret,
        p_status: status,
        p_transaction_key: 'tx-d',
        p_created_at: new Date(Date.now() + 60_000).toISOString(),
      })
    expect(await deposit('d-1', 'wrong')).toBe('secret-mismatch')
    // A forged delivery does not burn the transmission id.
    expect(await deposit('d-1', 'ps_secret_123')).toBe('applied')
    expect(await deposit('d-1', 'ps_secret_123')).toBe('duplicate')
    const [row] = await h.sql<{ status: string }>(
      'select status from public.payments where payment_key = $1',
      [paid.paymentKey],
    )
    expect(row?.status).toBe('DONE')
  })

  it('reserves and settles refunds, and never lets the balance go below zero', async () => {
    const paid = await seedPayment(h.db) // 30000
    const reserve = (args: Record<string, unknown>) =>
      h.db.call<Record<string, unknown>>('refund_reserve', {
        p_payment_key: paid.paymentKey,
        p_user_id: USER_A,
        p_reason: '단순 변심',
        p_is_ops: false,
        ...args,
      })
    const first = await reserve({ p_amount: 10000 })
    expect(first).toMatchObject({ status: 'pending', amount: 10000, refundableAmount: 30000 })
    expect(first.idempotencyKey).toBe(`refund_${String(first.refundId).replaceAll('-', '')}`)
    expect((await fnError(reserve({ p_amount: 1000 }))).code).toBe('refund-in-progress')
    const done = await h.db.call<Record<string, unknown>>('refund_settle', {
      p_refund_id: first.refundId,
      p_outcome: 'done',
      p_payment: {
        paymentKey: paid.paymentKey,
        orderId: paid.orderId,
        status: 'PARTIAL_CANCELED',
        totalAmount: 30000,
        balanceAmount: 20000,
        // Toss's answer to a cancel names it: the refund is settled by this key (0004).
        lastTransactionKey: 'tx-r1',
        cancels: [
          {
            transactionKey: 'tx-r1',
            cancelAmount: 10000,
            canceledAt: new Date(Date.now() + 1000).toISOString(),
          },
        ],
      },
    })
    expect(done).toMatchObject({ status: 'done', balanceAmount: 20000, transactionKey: 'tx-r1' })
    const again = await h.db.call<Record<string, unknown>>('refund_settle', {
      p_refund_id: first.refundId,
      p_outcome: 'done',
      p_payment: {
        paymentKey: paid.paymentKey,
        orderId: paid.orderId,
        status: 'PARTIAL_CANCELED',
        totalAmount: 30000,
      },
    })
    expect(again).toMatchObject({ status: 'done', replayed: true, balanceAmount: 20000 })
    expect((await fnError(reserve({ p_amount: 20001 }))).code).toBe('exceeds-refundable')
    expect((await fnError(reserve({ p_amount: 0 }))).code).toBe('invalid-amount')
    expect((await fnError(reserve({ p_user_id: USER_B, p_amount: 1 }))).code).toBe(
      'payment-not-found',
    )
    expect(
      (
        await fnError(
          reserve({ p_amount: 1, p_now: new Date(Date.now() + 8 * 86400_000).toISOString() }),
        )
      ).code,
    ).toBe('refund-window-closed')
    const full = await reserve({
      p_amount: null,
      p_is_ops: true,
      p_user_id: null,
      p_now: new Date(Date.now() + 30 * 86400_000).toISOString(),
    })
    expect(full).toMatchObject({ amount: 20000, fullCancel: true })
    const failed = await h.db.call<Record<string, unknown>>('refund_settle', {
      p_refund_id: full.refundId,
      p_outcome: 'failed',
      p_failure_code: 'NOT_CANCELABLE_PAYMENT',
    })
    expect(failed).toMatchObject({
      status: 'failed',
      balanceAmount: 20000,
      failureCode: 'NOT_CANCELABLE_PAYMENT',
    })
    expect(
      (
        await fnError(
          h.db.call('refund_settle', {
            p_refund_id: full.refundId,
            p_outcome: 'done',
            p_payment: {},
          }),
        )
      ).code,
    ).toBe('refund-already-settled')
  })

  it('replays a refund by client key, and keeps it pending (key kept) after a temporary failure', async () => {
    const paid = await seedPayment(h.db)
    const args = {
      p_payment_key: paid.paymentKey,
      p_user_id: USER_A,
      p_reason: 'r',
      p_is_ops: false,
      p_amount: 500,
      p_client_key: 'refund-req-1',
    }
    const first = await h.db.call<Record<string, unknown>>('refund_reserve', args)
    const replay = await h.db.call<Record<string, unknown>>('refund_reserve', args)
    expect(replay).toMatchObject({ refundId: first.refundId, replayed: true })
    expect((await fnError(h.db.call('refund_reserve', { ...args, p_amount: 600 }))).code).toBe(
      'idempotency-key-reused',
    )
    // 0004: a temporary failure is not an outcome; the same key resumes the same refund.
    const kept = await h.db.call<Record<string, unknown>>('refund_settle', {
      p_refund_id: first.refundId,
      p_outcome: 'failed',
      p_failure_code: 'FAILED_REFUND_PROCESS',
      p_release_client_key: true,
    })
    expect(kept).toMatchObject({ status: 'pending', lastError: 'FAILED_REFUND_PROCESS' })
    const again = await h.db.call<Record<string, unknown>>('refund_reserve', args)
    expect(again).toMatchObject({ refundId: first.refundId, replayed: true, status: 'pending' })
    const pending = await h.db.call<Array<{ refundId: string }>>('refund_pending_list', {
      p_older_than_seconds: 0,
    })
    expect(pending.map((r) => r.refundId)).toContain(first.refundId)
  })

  it('requires a refund account for virtual-account payments and stores only its last digits', async () => {
    const paid = await seedPayment(h.db, { method: '가상계좌', secret: 's' })
    const args = {
      p_payment_key: paid.paymentKey,
      p_user_id: USER_A,
      p_reason: 'r',
      p_is_ops: false,
      p_amount: 100,
    }
    expect((await fnError(h.db.call('refund_reserve', args))).code).toBe('refund-account-required')
    const refund = await h.db.call<Record<string, unknown>>('refund_reserve', {
      ...args,
      p_refund_account: { bank: '88', accountNumber: '110123456789', holderName: '홍길동' },
    })
    const [row] = await h.sql<{ refund_account: unknown }>(
      'select refund_account from public.refunds where id = $1',
      [refund.refundId],
    )
    expect(row?.refund_account).toEqual({ bank: '88', accountNumberLast4: '6789' })
  })

  it('lets only service_role execute the functions', async () => {
    const call = `select public.checkout_create_order(p_user_id => '${USER_A}', p_items => '[{"productId":"tee","quantity":1}]')`
    for (const role of ['anon', 'authenticated']) {
      const error = (await h.asRole(role, call).catch((e: unknown) => e)) as { code?: string }
      expect(error?.code).toBe('42501')
      const select = (await h
        .asRole(role, 'select * from public.orders')
        .catch((e: unknown) => e)) as { code?: string }
      expect(select?.code).toBe('42501')
      for (const fn of [
        'refund_reserve',
        'refund_settle',
        'webhook_apply_payment_event',
        'payment_apply_snapshot',
      ]) {
        const rows = await h.sql<{ ok: boolean }>(
          `select bool_or(has_function_privilege($1, p.oid, 'execute')) as ok from pg_proc p
           join pg_namespace n on n.oid = p.pronamespace where n.nspname = 'public' and p.proname = $2`,
          [role, fn],
        )
        expect(rows[0]?.ok).toBe(false)
      }
    }
    const rows = (await h.asRole('service_role', call)) as Array<{
      checkout_create_order: { amount: number }
    }>
    expect(rows[0]?.checkout_create_order.amount).toBe(15000)
  })
})
