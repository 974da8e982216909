import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DbFunctionError } from '../../src/platform/db/port.js'
import { type Harness, postgresHarness, seedCatalog, seedPayment, USER_A } from './db-harness.js'

// Real PostgreSQL only: row locks and unique-index waits are what these cases exercise.
describe('payments under concurrency (PostgreSQL)', () => {
  let h: Harness
  let tick = 0
  // Strictly increasing transaction times shared by every worker, never before "now".
  const nextTime = () => {
    tick = Math.max(tick + 1000, Date.now() + 1000)
    return new Date(tick).toISOString()
  }

  beforeAll(async () => {
    h = await postgresHarness()
    await seedCatalog(h)
  })
  afterAll(async () => {
    await h?.close()
  })

  it('applies 100 concurrent deliveries of one webhook exactly once', async () => {
    const paid = await seedPayment(h.db)
    const payment = {
      paymentKey: paid.paymentKey,
      orderId: paid.orderId,
      status: 'CANCELED',
      totalAmount: paid.amount,
      balanceAmount: 0,
      cancels: [{ transactionKey: 'tx-all', cancelAmount: paid.amount, canceledAt: nextTime() }],
    }
    const outcomes = await Promise.all(
      Array.from({ length: 100 }, () =>
        h.db.call<string>('webhook_apply_payment_event', {
          p_event_id: `transmission-${paid.paymentKey}`,
          p_event_type: 'PAYMENT_STATUS_CHANGED',
          p_payment: payment,
        }),
      ),
    )
    expect(outcomes.filter((o) => o === 'applied')).toHaveLength(1)
    expect(outcomes.filter((o) => o === 'duplicate')).toHaveLength(99)
    const [row] = await h.sql<{ version: number; status: string }>(
      'select version, status from public.payments where payment_key = $1',
      [paid.paymentKey],
    )
    expect(row).toEqual({ version: 2, status: 'CANCELED' })
    const [events] = await h.sql<{ n: string }>(
      'select count(*) as n from public.payment_events where payment_key = $1',
      [paid.paymentKey],
    )
    expect(Number(events?.n)).toBe(1)
  })

  it('lets only one of 50 simultaneous refund reservations through', async () => {
    const paid = await seedPayment(h.db)
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, () =>
        h.db.call('refund_reserve', {
          p_payment_key: paid.paymentKey,
          p_user_id: USER_A,
          p_amount: 1000,
          p_reason: 'race',
          p_is_ops: false,
        }),
      ),
    )
    const codes = results.map((r) =>
      r.status === 'fulfilled' ? 'reserved' : (r.reason as DbFunctionError).code,
    )
    expect(codes.filter((c) => c === 'reserved')).toHaveLength(1)
    expect(codes.filter((c) => c === 'refund-in-progress')).toHaveLength(49)
  })

  it('never over-refunds when 50 partial refunds adding up to more than the payment race', async () => {
    const paid = await seedPayment(h.db) // 30000 won
    const amount = 1000 // 50 x 1000 = 50000 > 30000
    // Waiting workers wake when the current holder settles (or after a short poll).
    const signal = () => {
      let resolve = () => {}
      const promise = new Promise<void>((r) => {
        resolve = r
      })
      return { promise, resolve }
    }
    let settled = signal()
    const worker = async (): Promise<'done' | 'refused'> => {
      for (let attempt = 0; attempt < 2000; attempt++) {
        let refund: { refundId: string; refundableAmount: number }
        try {
          refund = await h.db.call('refund_reserve', {
            p_payment_key: paid.paymentKey,
            p_user_id: USER_A,
            p_amount: amount,
            p_reason: 'race',
            p_is_ops: false,
          })
        } catch (error) {
          if (error instanceof DbFunctionError && error.code === 'refund-in-progress') {
            await Promise.race([settled.promise, new Promise((r) => setTimeout(r, 50))])
            continue
          }
          if (
            error instanceof DbFunctionError &&
            ['exceeds-refundable', 'not-refundable'].includes(error.code)
          ) {
            return 'refused'
          }
          throw error
        }
        const balance = refund.refundableAmount - amount
        await h.db.call('refund_settle', {
          p_refund_id: refund.refundId,
          p_outcome: 'done',
          p_payment: {
            paymentKey: paid.paymentKey,
            orderId: paid.orderId,
            status: balance === 0 ? 'CANCELED' : 'PARTIAL_CANCELED',
            totalAmount: paid.amount,
            balanceAmount: balance,
            // Toss's answer names its cancel; the refund is settled by this key.
            lastTransactionKey: `tx-${refund.refundId}`,
            cancels: [
              {
                transactionKey: `tx-${refund.refundId}`,
                cancelAmount: amount,
                canceledAt: nextTime(),
              },
            ],
          },
        })
        const previous = settled
        settled = signal()
        previous.resolve()
        return 'done'
      }
      throw new Error('worker gave up')
    }
    const outcomes = await Promise.all(Array.from({ length: 50 }, worker))
    expect(outcomes.filter((o) => o === 'done')).toHaveLength(30)
    const [sum] = await h.sql<{ total: string }>(
      `select coalesce(sum(amount), 0) as total from public.refunds where payment_key = $1 and status = 'done'`,
      [paid.paymentKey],
    )
    expect(Number(sum?.total)).toBe(paid.amount)
    const [row] = await h.sql<{ balance_amount: number; status: string }>(
      'select balance_amount, status from public.payments where payment_key = $1',
      [paid.paymentKey],
    )
    expect(row).toEqual({ balance_amount: 0, status: 'CANCELED' })
  })

  it('ends consistent when a refund settles while a cancellation webhook lands', async () => {
    for (let round = 0; round < 10; round++) {
      const paid = await seedPayment(h.db)
      const refund = await h.db.call<{ refundId: string }>('refund_reserve', {
        p_payment_key: paid.paymentKey,
        p_user_id: USER_A,
        p_amount: 10000,
        p_reason: 'race',
        p_is_ops: false,
      })
      const refundAt = nextTime()
      const fullCancelAt = nextTime()
      const partial = {
        paymentKey: paid.paymentKey,
        orderId: paid.orderId,
        totalAmount: paid.amount,
        status: 'PARTIAL_CANCELED',
        balanceAmount: paid.amount - 10000,
        lastTransactionKey: `tx-r-${round}`,
        cancels: [{ transactionKey: `tx-r-${round}`, cancelAmount: 10000, canceledAt: refundAt }],
      }
      // Ops cancelled the rest in Toss's console right after our refund.
      const canceled = {
        ...partial,
        status: 'CANCELED',
        balanceAmount: 0,
        lastTransactionKey: `tx-c-${round}`,
        cancels: [
          ...partial.cancels,
          {
            transactionKey: `tx-c-${round}`,
            cancelAmount: paid.amount - 10000,
            canceledAt: fullCancelAt,
          },
        ],
      }
      const settle = () =>
        h.db.call('refund_settle', {
          p_refund_id: refund.refundId,
          p_outcome: 'done',
          p_payment: partial,
        })
      const webhook = () =>
        h.db.call('webhook_apply_payment_event', {
          p_event_id: `race-${paid.paymentKey}`,
          p_event_type: 'PAYMENT_STATUS_CHANGED',
          p_payment: canceled,
        })
      await Promise.all(round % 2 === 0 ? [settle(), webhook()] : [webhook(), settle()])
      const [row] = await h.sql<{ balance_amount: number; status: string }>(
        'select balance_amount, status from public.payments where payment_key = $1',
        [paid.paymentKey],
      )
      expect(row).toEqual({ balance_amount: 0, status: 'CANCELED' })
      const [refundRow] = await h.sql<{ status: string }>(
        'select status from public.refunds where id = $1',
        [refund.refundId],
      )
      expect(refundRow?.status).toBe('done')
      const error = await h.db
        .call('refund_reserve', {
          p_payment_key: paid.paymentKey,
          p_user_id: USER_A,
          p_amount: 1,
          p_reason: 'after',
          p_is_ops: false,
        })
        .catch((e: unknown) => e)
      expect((error as DbFunctionError).code).toBe('not-refundable')
    }
  })
})
