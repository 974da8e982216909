import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Harness, postgresHarness } from './db-harness.js'
import {
  asUser,
  buildSettlementApp,
  count,
  OPS,
  post,
  seedCreator,
  seedRefund,
  seedSale,
  settlementDeps,
} from './settlement-helper.js'

interface Line {
  code: string
  amountKrw: number
}
interface Answer {
  settlementId: string
  status: string
  lines: Line[]
  rates: { fee: { bp: number; creatorOverride: boolean } }
  totals?: Record<string, number>
  replayed?: boolean
}
const amount = (answer: Answer, code: string) =>
  answer.lines.find((l) => l.code === code)?.amountKrw

describe('payout-calculate on PostgreSQL', () => {
  let h: Harness
  let app: ReturnType<typeof buildSettlementApp>

  beforeAll(async () => {
    h = await postgresHarness()
    app = buildSettlementApp(settlementDeps(h.db))
  })
  afterAll(async () => {
    await h?.close()
  })

  const problem = async (res: Response) => {
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    return (await res.json()) as { code: string; errors?: Array<{ field: string }> }
  }

  it('worked example A end to end: 1,000,000 sold, 50,000 refunded → 817,610 transferred', async () => {
    const creator = await seedCreator(h, { priceKrw: 500_000 })
    const sale = await seedSale(h.db, creator, '2026-01-10T03:00:00Z', 2)
    await seedRefund(h, sale.paymentKey, 50_000, '2026-01-20T03:00:00Z')
    const res = await post(
      app,
      '/calculate',
      { action: 'calculate', creatorId: creator.id, period: '2026-01' },
      OPS,
    )
    expect(res.status).toBe(201)
    const body = (await res.json()) as Answer
    expect(body.status).toBe('draft')
    expect(amount(body, 'gross')).toBe(1_000_000)
    expect(amount(body, 'refunds')).toBe(-50_000)
    expect(amount(body, 'fee')).toBe(-95_000)
    expect(amount(body, 'vat')).toBe(-9_500)
    expect(amount(body, 'payable')).toBe(845_500)
    expect(amount(body, 'income-tax')).toBe(-25_360)
    expect(amount(body, 'local-tax')).toBe(-2_530)
    expect(amount(body, 'transfer')).toBe(817_610)
    const [row] = await h.sql<{ transfer_krw: string }>(
      'select transfer_krw from public.settlements where id = $1',
      [body.settlementId],
    )
    expect(Number(row?.transfer_krw)).toBe(817_610)
  })

  it('a payment at 23:59:59 KST on the last day belongs to that month, one at 00:00 KST to the next', async () => {
    const creator = await seedCreator(h)
    await seedSale(h.db, creator, '2026-01-31T14:59:59Z') // 2026-01-31 23:59:59 KST
    await seedSale(h.db, creator, '2026-01-31T15:00:00Z') // 2026-02-01 00:00:00 KST
    await seedSale(h.db, creator, '2025-12-31T15:00:00Z') // 2026-01-01 00:00:00 KST
    const preview = async (period: string) =>
      (await (
        await post(app, '/calculate', { action: 'preview', creatorId: creator.id, period }, OPS)
      ).json()) as Answer
    expect(amount(await preview('2026-01'), 'gross')).toBe(20_000)
    expect(amount(await preview('2026-02'), 'gross')).toBe(10_000)
    expect(amount(await preview('2025-12'), 'gross')).toBe(0)
    // A preview writes nothing.
    expect(await count(h, 'settlements', `creator_id = '${creator.id}'`)).toBe(0)
  })

  it('a refund after confirmation carries to the next period as a negative adjustment; the confirmed month never changes', async () => {
    const creator = await seedCreator(h, { priceKrw: 100_000 })
    const sale = await seedSale(h.db, creator, '2026-03-05T00:00:00Z')
    const confirm = await post(
      app,
      '/calculate',
      { action: 'confirm', creatorId: creator.id, period: '2026-03' },
      OPS,
    )
    expect(confirm.status).toBe(200)
    const march = (await confirm.json()) as Answer
    expect(march.status).toBe('confirmed')

    await seedRefund(h, sale.paymentKey, 30_000, '2026-04-02T00:00:00Z')
    const again = (await (
      await post(
        app,
        '/calculate',
        { action: 'confirm', creatorId: creator.id, period: '2026-03' },
        OPS,
      )
    ).json()) as Answer
    expect(again.replayed).toBe(true)
    expect(again.lines).toEqual(march.lines)

    const april = (await (
      await post(
        app,
        '/calculate',
        { action: 'calculate', creatorId: creator.id, period: '2026-04' },
        OPS,
      )
    ).json()) as Answer
    expect(amount(april, 'gross')).toBe(0)
    expect(amount(april, 'refunds')).toBe(0)
    expect(amount(april, 'adjustments')).toBe(-30_000)
    expect(amount(april, 'transfer')).toBe(0)
    expect(amount(april, 'carry-out')).toBe(-30_000)

    // The negative balance is taken over by the next confirmed period, before its fee.
    await post(
      app,
      '/calculate',
      { action: 'confirm', creatorId: creator.id, period: '2026-04' },
      OPS,
    )
    await seedSale(h.db, creator, '2026-05-03T00:00:00Z')
    const may = (await (
      await post(
        app,
        '/calculate',
        { action: 'confirm', creatorId: creator.id, period: '2026-05' },
        OPS,
      )
    ).json()) as Answer
    expect(amount(may, 'carried-in')).toBe(-30_000)
    expect(amount(may, 'base')).toBe(70_000)
    expect(amount(may, 'fee')).toBe(-7_000)

    await expect(
      h.sql(`update public.settlements set transfer_krw = 1 where id = $1`, [march.settlementId]),
    ).rejects.toThrow(/settlement-immutable/)
    await expect(
      h.sql(`delete from public.settlements where id = $1`, [march.settlementId]),
    ).rejects.toThrow(/settlement-immutable/)
  })

  it('refuses to confirm a period that is not over, or a later period while an earlier one is a draft', async () => {
    const creator = await seedCreator(h)
    await seedSale(h.db, creator, '2027-05-10T00:00:00Z')
    const early = buildSettlementApp(
      settlementDeps(h.db, { clock: () => Date.parse('2027-05-31T14:59:59Z') }),
    )
    const res = await post(
      early,
      '/calculate',
      { action: 'confirm', creatorId: creator.id, period: '2027-05' },
      OPS,
    )
    expect(res.status).toBe(409)
    const p = await problem(res)
    expect(p.code).toBe('period-not-over')
    expect(p.errors?.[0]?.field).toBe('period')
    expect(await count(h, 'settlements', `creator_id = '${creator.id}'`)).toBe(0)

    await post(
      app,
      '/calculate',
      { action: 'calculate', creatorId: creator.id, period: '2027-04' },
      OPS,
    )
    const later = await post(
      app,
      '/calculate',
      { action: 'confirm', creatorId: creator.id, period: '2027-05' },
      OPS,
    )
    expect((await problem(later)).code).toBe('earlier-period-unconfirmed')
  })

  it('refuses to confirm a creator without a verified identity (verify-identity), writing nothing', async () => {
    const creator = await seedCreator(h, { verified: false })
    await seedSale(h.db, creator, '2026-02-10T00:00:00Z')
    const res = await post(
      app,
      '/calculate',
      { action: 'confirm', creatorId: creator.id, period: '2026-02' },
      OPS,
    )
    expect((await problem(res)).code).toBe('identity-unverified')
    expect(
      await count(h, 'settlements', `creator_id = '${creator.id}' and status <> 'draft'`),
    ).toBe(0)
  })

  it('two concurrent calculations of one creator and period give one settlement; concurrent confirms one confirmation', async () => {
    const creator = await seedCreator(h)
    for (let i = 0; i < 5; i++) await seedSale(h.db, creator, `2026-06-0${i + 1}T00:00:00Z`)
    const calc = () =>
      post(
        app,
        '/calculate',
        { action: 'calculate', creatorId: creator.id, period: '2026-06' },
        OPS,
      )
    const answers = await Promise.all(Array.from({ length: 8 }, calc))
    expect(answers.map((r) => r.status)).toEqual(Array(8).fill(201))
    const ids = new Set(
      await Promise.all(answers.map(async (r) => ((await r.json()) as Answer).settlementId)),
    )
    expect(ids.size).toBe(1)
    expect(await count(h, 'settlements', `creator_id = '${creator.id}'`)).toBe(1)

    const confirm = () =>
      post(app, '/calculate', { action: 'confirm', creatorId: creator.id, period: '2026-06' }, OPS)
    const confirms = await Promise.all(Array.from({ length: 5 }, confirm))
    const bodies = await Promise.all(confirms.map(async (r) => (await r.json()) as Answer))
    expect(confirms.map((r) => r.status)).toEqual(Array(5).fill(200))
    expect(bodies.filter((b) => !b.replayed)).toHaveLength(1)
    expect(new Set(bodies.map((b) => b.settlementId))).toEqual(ids)
  })

  it('a per-creator fee override and dated default rates are data, chosen by date', async () => {
    const creator = await seedCreator(h)
    await h.sql(
      `insert into public.settlement_fee_rates (creator_id, effective_from, fee_bp) values ($1, '2026-08-01', 500)`,
      [creator.id],
    )
    await seedSale(h.db, creator, '2026-07-10T00:00:00Z')
    await seedSale(h.db, creator, '2026-08-10T00:00:00Z')
    const july = (await (
      await post(
        app,
        '/calculate',
        { action: 'preview', creatorId: creator.id, period: '2026-07' },
        OPS,
      )
    ).json()) as Answer
    const august = (await (
      await post(
        app,
        '/calculate',
        { action: 'preview', creatorId: creator.id, period: '2026-08' },
        OPS,
      )
    ).json()) as Answer
    expect(july.rates.fee).toMatchObject({ bp: 1000, creatorOverride: false })
    expect(amount(july, 'fee')).toBe(-1_000)
    expect(august.rates.fee).toMatchObject({ bp: 500, creatorOverride: true })
    expect(amount(august, 'fee')).toBe(-500)
  })

  it('other income below the per-payment threshold withholds nothing; business income before 2024-07 had the small-amount exemption', async () => {
    const otherCreator = await seedCreator(h, { incomeType: 'other', priceKrw: 100_000 })
    await seedSale(h.db, otherCreator, '2026-09-10T00:00:00Z')
    const other = (await (
      await post(
        app,
        '/calculate',
        { action: 'preview', creatorId: otherCreator.id, period: '2026-09' },
        OPS,
      )
    ).json()) as Answer
    expect(amount(other, 'payable')).toBe(89_000)
    expect(amount(other, 'income-tax')).toBe(0)

    const small = await seedCreator(h, { priceKrw: 30_000 })
    await seedSale(h.db, small, '2024-05-10T00:00:00Z')
    await seedSale(h.db, small, '2024-07-10T00:00:00Z')
    // May 2024 is paid 2024-06-01: tax 801 < 1,000 is not withheld. July 2024 is paid after
    // the exemption ended.
    const may = (await (
      await post(
        app,
        '/calculate',
        { action: 'preview', creatorId: small.id, period: '2024-05' },
        OPS,
      )
    ).json()) as Answer
    const july = (await (
      await post(
        app,
        '/calculate',
        { action: 'preview', creatorId: small.id, period: '2024-07' },
        OPS,
      )
    ).json()) as Answer
    expect(amount(may, 'payable')).toBe(26_700)
    expect(amount(may, 'income-tax')).toBe(0)
    expect(amount(july, 'income-tax')).toBe(-800)
    expect(amount(july, 'local-tax')).toBe(-80)
  })

  it('a creator previews and lists their own; everything else is 403 and nothing is written', async () => {
    const creator = await seedCreator(h)
    const other = await seedCreator(h)
    await seedSale(h.db, creator, '2026-10-10T00:00:00Z')
    const own = await post(
      app,
      '/calculate',
      { action: 'preview', creatorId: creator.id, period: '2026-10' },
      asUser(creator.id),
    )
    expect(own.status).toBe(200)
    for (const [body, headers] of [
      [{ action: 'calculate', creatorId: creator.id, period: '2026-10' }, asUser(creator.id)],
      [{ action: 'confirm', creatorId: creator.id, period: '2026-10' }, asUser(creator.id)],
      [{ action: 'preview', creatorId: creator.id, period: '2026-10' }, asUser(other.id)],
      [{ action: 'list', creatorId: creator.id }, asUser(other.id)],
      [{ action: 'calculate-all', period: '2026-10' }, asUser(creator.id)],
      [{ action: 'calculate', creatorId: creator.id, period: '2026-10' }, {}],
    ] as const) {
      const res = await post(app, '/calculate', body, headers)
      expect(res.status).toBe(403)
      expect(res.headers.get('content-type')).toBe('application/problem+json')
    }
    expect(await count(h, 'settlements', `creator_id = '${creator.id}'`)).toBe(0)
    expect(await count(h, 'settlement_runs')).toBe(0)

    await post(
      app,
      '/calculate',
      { action: 'calculate', creatorId: creator.id, period: '2026-10' },
      OPS,
    )
    const list = await post(app, '/calculate', { action: 'list' }, asUser(creator.id))
    expect(((await list.json()) as { settlements: Answer[] }).settlements).toHaveLength(1)
  })

  it('bad input is a 422 naming the field, with nothing written', async () => {
    const creator = await seedCreator(h)
    const before = await count(h, 'settlements')
    for (const [body, field] of [
      [{ action: 'calculate', creatorId: creator.id, period: '2026-13' }, 'period'],
      [{ action: 'calculate', creatorId: 'not-a-uuid', period: '2026-01' }, 'creatorId'],
      [
        {
          action: 'calculate',
          creatorId: creator.id,
          period: '2026-01',
          payoutDate: '2026-02-30x',
        },
        'payoutDate',
      ],
      // Matches the pattern but is no date: the database would refuse it (it was a 500).
      [
        { action: 'calculate', creatorId: creator.id, period: '2026-01', payoutDate: '2026-02-30' },
        'payoutDate',
      ],
      [
        { action: 'preview', creatorId: creator.id, period: '2026-01', payoutDate: '2090-04-31' },
        'payoutDate',
      ],
      [{ action: 'explode', creatorId: creator.id, period: '2026-01' }, 'action'],
      [{ creatorId: creator.id, period: '2026-01' }, 'action'],
      [{ action: 'calculate', creatorId: creator.id, period: '2026-01', extra: 1 }, 'extra'],
      [{ action: 'calculate-all', period: '2026-01', batchSize: 0 }, 'batchSize'],
    ] as const) {
      const res = await post(app, '/calculate', body, OPS)
      expect(res.status, JSON.stringify(body)).toBe(422)
      const p = await problem(res)
      expect(p.errors?.map((e) => e.field)).toContain(field)
    }
    const early = await post(
      app,
      '/calculate',
      { action: 'calculate', creatorId: creator.id, period: '2026-01', payoutDate: '2026-01-15' },
      OPS,
    )
    expect(early.status).toBe(422)
    expect((await problem(early)).errors?.[0]?.field).toBe('payoutDate')
    const unknown = await post(
      app,
      '/calculate',
      { action: 'calculate', creatorId: '00000000-0000-4000-8000-000000000000', period: '2026-01' },
      OPS,
    )
    expect(unknown.status).toBe(404)
    expect((await problem(unknown)).errors?.[0]?.field).toBe('creatorId')
    const notJson = await post(app, '/calculate', '{', OPS)
    expect(notJson.status).toBe(400)
    expect(await count(h, 'settlements')).toBe(before)
  })

  it('calculate-all runs in batches, each creator in its own transaction, and resumes by runId', async () => {
    const creators = []
    for (let i = 0; i < 5; i++) {
      const c = await seedCreator(h)
      await seedSale(h.db, c, '2025-03-10T00:00:00Z')
      creators.push(c)
    }
    const batchApp = buildSettlementApp(settlementDeps(h.db, { runBudgetMs: 0 }))
    let res = await post(
      batchApp,
      '/calculate',
      { action: 'calculate-all', period: '2025-03', batchSize: 2 },
      OPS,
    )
    let progress = (await res.json()) as {
      runId: string
      status: string
      processed: number
      total: number
    }
    expect(res.status).toBe(202)
    expect(progress).toMatchObject({ status: 'running', processed: 2, total: 5 })
    const steps = [progress.processed]
    while (progress.status === 'running') {
      res = await post(
        batchApp,
        '/calculate',
        { action: 'calculate-all', period: '2025-03', batchSize: 2, runId: progress.runId },
        OPS,
      )
      progress = (await res.json()) as typeof progress
      steps.push(progress.processed)
    }
    expect(res.status).toBe(200)
    expect(steps).toEqual([2, 4, 5, 5])
    const ids = creators.map((c) => `'${c.id}'`).join(',')
    expect(await count(h, 'settlements', `creator_id in (${ids}) and status = 'draft'`)).toBe(5)
  })

  it('mark-paid moves a confirmed settlement to paid, once; a draft cannot be paid', async () => {
    const creator = await seedCreator(h)
    await seedSale(h.db, creator, '2025-11-10T00:00:00Z')
    const draft = (await (
      await post(
        app,
        '/calculate',
        { action: 'calculate', creatorId: creator.id, period: '2025-11' },
        OPS,
      )
    ).json()) as Answer
    const early = await post(
      app,
      '/calculate',
      { action: 'mark-paid', settlementId: draft.settlementId },
      OPS,
    )
    expect((await problem(early)).code).toBe('settlement-not-confirmed')
    await post(
      app,
      '/calculate',
      { action: 'confirm', creatorId: creator.id, period: '2025-11' },
      OPS,
    )
    const paid = (await (
      await post(app, '/calculate', { action: 'mark-paid', settlementId: draft.settlementId }, OPS)
    ).json()) as Answer
    expect(paid.status).toBe('paid')
    const again = (await (
      await post(app, '/calculate', { action: 'mark-paid', settlementId: draft.settlementId }, OPS)
    ).json()) as Answer
    expect(again.replayed).toBe(true)
  })

  it('an order of two creators: each gets their lines; a refund is shared by line totals and adds up', async () => {
    const a = await seedCreator(h, { priceKrw: 7_000 })
    const b = await seedCreator(h, { priceKrw: 3_001 })
    const order = await h.db.call<{ orderId: string; amount: number }>('checkout_create_order', {
      p_user_id: a.id,
      p_items: [
        { productId: a.productId, quantity: 1 },
        { productId: b.productId, quantity: 1 },
      ],
    })
    await h.db.call('payment_apply_snapshot', {
      p_payment: {
        paymentKey: 'pk_two_creators',
        orderId: order.orderId,
        status: 'DONE',
        method: '카드',
        totalAmount: order.amount,
        balanceAmount: order.amount,
        approvedAt: '2026-11-05T00:00:00Z',
      },
    })
    // Moving the product to another creator later never rewrites the sale.
    await h.sql(`update public.products set creator_id = $1 where id = $2`, [a.id, b.productId])
    await seedRefund(h, 'pk_two_creators', 1_001, '2026-11-06T00:00:00Z')
    const preview = async (creatorId: string) =>
      (await (
        await post(app, '/calculate', { action: 'preview', creatorId, period: '2026-11' }, OPS)
      ).json()) as Answer
    const [pa, pb] = [await preview(a.id), await preview(b.id)]
    expect(amount(pa, 'gross')).toBe(7_000)
    expect(amount(pb, 'gross')).toBe(3_001)
    // 1,001 × 7,000 / 10,001 = 700.6 → 700 (+ the remainder 1 on the first line); 1,001 × 3,001 / 10,001 → 300.
    expect(amount(pa, 'refunds')).toBe(-701)
    expect(amount(pb, 'refunds')).toBe(-300)
  })
})
