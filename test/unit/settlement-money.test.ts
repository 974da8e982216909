import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  computeSettlement,
  feeWithVat,
  type SettlementInputs,
  type WithholdingRule,
  withhold,
} from '../../routes/settlement/money.js'
import { kstDate, monthPeriod } from '../../routes/settlement/period.js'

// The rules as supabase/migrations/0005_settlement.sql seeds them.
const business2024: WithholdingRule = {
  incomeType: 'business',
  effectiveFrom: '2024-07-01',
  incomeTaxBp: 300,
  localTaxBp: 1000,
  deemedExpenseBp: 0,
  minTaxableIncomeKrw: null,
  smallAmountExemptBelowKrw: null,
}
const business2020: WithholdingRule = {
  ...business2024,
  effectiveFrom: '2020-01-01',
  smallAmountExemptBelowKrw: 1000,
}
const other: WithholdingRule = {
  incomeType: 'other',
  effectiveFrom: '2019-01-01',
  incomeTaxBp: 2000,
  localTaxBp: 1000,
  deemedExpenseBp: 6000,
  minTaxableIncomeKrw: 50_000,
  smallAmountExemptBelowKrw: 1000,
}

function inputs(overrides: Partial<SettlementInputs> = {}, rule = business2024): SettlementInputs {
  return {
    creatorId: '00000000-0000-4000-8000-000000000001',
    periodStart: '2026-01-01',
    periodEnd: '2026-02-01',
    payoutDate: '2026-02-01',
    grossKrw: 0,
    refundsKrw: 0,
    adjustmentsKrw: 0,
    saleCount: 0,
    refundCount: 0,
    carriedInKrw: 0,
    carriedFrom: null,
    rates: {
      fee: { bp: 1000, effectiveFrom: '2020-01-01', creatorOverride: false },
      vat: { bp: 1000, effectiveFrom: '2000-01-01' },
      withholding: rule,
    },
    ...overrides,
  }
}

describe('worked examples', () => {
  it('A: 1,000,000 sold, 50,000 refunded, fee 10 % + VAT, business income → 817,610', () => {
    const r = computeSettlement(inputs({ grossKrw: 1_000_000, refundsKrw: 50_000 }))
    expect(r.baseKrw).toBe(950_000)
    expect(r.feeKrw).toBe(95_000)
    expect(r.vatKrw).toBe(9_500)
    expect(r.payableKrw).toBe(845_500)
    expect(r.incomeTaxKrw).toBe(25_360)
    expect(r.localTaxKrw).toBe(2_530)
    expect(r.transferKrw).toBe(817_610)
    // A flat 3.3 % would withhold 27,901: each tax is truncated separately instead.
    expect(r.incomeTaxKrw + r.localTaxKrw).not.toBe(27_901)
  })

  it('B: 30,000 paid: nothing withheld before 2024-07-01, 900 + 90 from then on', () => {
    expect(withhold(30_000, business2020)).toEqual({
      incomeAmountKrw: 30_000,
      incomeTaxKrw: 0,
      localTaxKrw: 0,
    })
    const after = withhold(30_000, business2024)
    expect(after).toEqual({ incomeAmountKrw: 30_000, incomeTaxKrw: 900, localTaxKrw: 90 })
    expect(30_000 - after.incomeTaxKrw - after.localTaxKrw).toBe(29_010)
  })

  it('C: other income at 60 % deemed expenses: 1,000,000 → 912,000; 125,000 → 0; 125,010 → 11,000', () => {
    const million = withhold(1_000_000, other)
    expect(million).toEqual({ incomeAmountKrw: 400_000, incomeTaxKrw: 80_000, localTaxKrw: 8_000 })
    expect(1_000_000 - million.incomeTaxKrw - million.localTaxKrw).toBe(912_000)
    expect(withhold(125_000, other)).toMatchObject({ incomeTaxKrw: 0, localTaxKrw: 0 })
    expect(withhold(125_010, other)).toEqual({
      incomeAmountKrw: 50_004,
      incomeTaxKrw: 10_000,
      localTaxKrw: 1_000,
    })
  })

  it('business income 123,456 → 3,700 + 370 (each truncated below 10 won)', () => {
    expect(withhold(123_456, business2024)).toMatchObject({ incomeTaxKrw: 3_700, localTaxKrw: 370 })
  })

  it('VAT inside a fee total is split as TossPayments splits VAT-inclusive totals', () => {
    // 15,000 inclusive → 13,636 + 1,364: a fee rate that yields a 15,000 total on 136,364.
    const { feeKrw, vatKrw } = feeWithVat(136_364, 1000, 1000)
    expect(feeKrw + vatKrw).toBe(15_000)
    expect(vatKrw).toBe(1_364)
    expect(feeKrw).toBe(13_636)
  })

  it('a negative base pays nothing and carries over whole, before any fee', () => {
    const r = computeSettlement(
      inputs({ grossKrw: 10_000, adjustmentsKrw: 30_000, carriedInKrw: -5_000 }),
    )
    expect(r).toMatchObject({
      baseKrw: -25_000,
      feeKrw: 0,
      vatKrw: 0,
      payableKrw: 0,
      incomeTaxKrw: 0,
      localTaxKrw: 0,
      transferKrw: 0,
      carryOutKrw: -25_000,
    })
    const next = computeSettlement(inputs({ grossKrw: 100_000, carriedInKrw: r.carryOutKrw }))
    expect(next.baseKrw).toBe(75_000)
    expect(next.carryOutKrw).toBe(0)
  })

  it('the statutory cliffs are real: one more won can lower the transfer', () => {
    // Other income: 125,000 pays no tax, 125,010 pays 11,000 (the threshold is per payment).
    const net = (paid: number) => {
      const t = withhold(paid, other)
      return paid - t.incomeTaxKrw - t.localTaxKrw
    }
    expect(net(125_000)).toBe(125_000)
    expect(net(125_010)).toBe(114_010)
    // Before 2024-07-01 an income tax under 1,000 won was not withheld at all.
    const below = withhold(33_330, business2020)
    const above = withhold(33_340, business2020)
    expect(below.incomeTaxKrw).toBe(0)
    expect(above.incomeTaxKrw).toBe(1_000)
  })
})

describe('periods in KST', () => {
  it('a month runs from its first KST day to the next month’s', () => {
    expect(monthPeriod('2026-12')).toEqual({
      id: '2026-12',
      start: '2026-12-01',
      end: '2027-01-01',
    })
    expect(monthPeriod('2024-02')).toMatchObject({ start: '2024-02-01', end: '2024-03-01' })
  })

  it('23:59:59 KST on the last day is still that month; 00:00 KST is the next', () => {
    expect(kstDate(new Date('2026-01-31T14:59:59Z'))).toBe('2026-01-31')
    expect(kstDate(new Date('2026-01-31T15:00:00Z'))).toBe('2026-02-01')
  })
})

const rule = fc.constantFrom(business2024, business2020, other, {
  ...business2024,
  incomeType: 'none' as const,
  incomeTaxBp: 0,
  localTaxBp: 0,
})
const anyInputs = fc
  .record({
    grossKrw: fc.integer({ min: 0, max: 5_000_000_000 }),
    refundShare: fc.double({ min: 0, max: 1, noNaN: true }),
    adjustmentsKrw: fc.integer({ min: 0, max: 500_000_000 }),
    carriedInKrw: fc.integer({ min: -500_000_000, max: 0 }),
    feeBp: fc.integer({ min: 0, max: 3000 }),
    vatBp: fc.integer({ min: 0, max: 1000 }),
    rule,
  })
  .map(({ grossKrw, refundShare, adjustmentsKrw, carriedInKrw, feeBp, vatBp, rule }) => {
    const base = inputs(
      {
        grossKrw,
        refundsKrw: Math.floor(grossKrw * refundShare),
        adjustmentsKrw,
        carriedInKrw,
      },
      rule,
    )
    base.rates.fee.bp = feeBp
    base.rates.vat.bp = vatBp
    return base
  })

describe('properties', () => {
  it('the parts always add up to the gross, every amount is an integer', () => {
    fc.assert(
      fc.property(anyInputs, (i) => {
        const r = computeSettlement(i)
        const parts =
          r.refundsKrw +
          r.adjustmentsKrw -
          r.carriedInKrw +
          r.feeKrw +
          r.vatKrw +
          r.incomeTaxKrw +
          r.localTaxKrw +
          r.transferKrw +
          r.carryOutKrw
        expect(parts).toBe(r.grossKrw)
        expect(r.payableKrw).toBe(r.incomeTaxKrw + r.localTaxKrw + r.transferKrw)
        for (const line of r.lines) expect(Number.isSafeInteger(line.amountKrw)).toBe(true)
      }),
      { numRuns: 2000 },
    )
  })

  it('no tax, fee or transfer is ever negative; a carried balance never is positive', () => {
    fc.assert(
      fc.property(anyInputs, (i) => {
        const r = computeSettlement(i)
        for (const amount of [r.feeKrw, r.vatKrw, r.incomeTaxKrw, r.localTaxKrw, r.transferKrw]) {
          expect(amount).toBeGreaterThanOrEqual(0)
        }
        expect(r.carryOutKrw).toBeLessThanOrEqual(0)
      }),
      { numRuns: 2000 },
    )
  })

  it('moving a refund into the period never increases the amount paid', () => {
    fc.assert(
      fc.property(anyInputs, fc.integer({ min: 1, max: 10_000_000 }), (i, refund) => {
        const before = computeSettlement(i)
        const after = computeSettlement({ ...i, refundsKrw: i.refundsKrw + refund })
        expect(after.payableKrw).toBeLessThanOrEqual(before.payableKrw)
        expect(after.carryOutKrw).toBeLessThanOrEqual(before.carryOutKrw)
      }),
      { numRuns: 2000 },
    )
  })

  it('moving a refund of 100 won or more into the period never increases the transfer (business income from 2024-07-01)', () => {
    // Below that, or across the statutory cliffs above (other income's 50,000-won threshold,
    // the pre-2024-07 small-amount exemption), the law itself makes the transfer move up: the
    // truncation below 10 won can drop a 10-won tax step when the amount paid falls by a few won.
    const businessInputs = anyInputs.map((i) => ({
      ...i,
      rates: { ...i.rates, withholding: business2024 },
    }))
    fc.assert(
      fc.property(businessInputs, fc.integer({ min: 100, max: 10_000_000 }), (i, refund) => {
        const before = computeSettlement(i)
        const after = computeSettlement({ ...i, refundsKrw: i.refundsKrw + refund })
        expect(after.transferKrw).toBeLessThanOrEqual(before.transferKrw)
      }),
      { numRuns: 3000 },
    )
  })
})
