import { computeSettlement } from '../../routes/settlement/money.js'
import type { StatementData } from '../../routes/settlement/statement-pdf.js'

/** One statement's data, rendered in Node and in workerd by the tests. */
const rates = {
  fee: { bp: 1000, effectiveFrom: '2020-01-01', creatorOverride: false },
  vat: { bp: 1000, effectiveFrom: '2000-01-01' },
  withholding: {
    incomeType: 'business' as const,
    effectiveFrom: '2024-07-01',
    incomeTaxBp: 300,
    localTaxBp: 1000,
    deemedExpenseBp: 0,
    minTaxableIncomeKrw: null,
    smallAmountExemptBelowKrw: null,
  },
}

export function sampleStatement(): StatementData {
  const result = computeSettlement({
    creatorId: '00000000-0000-4000-8000-000000000001',
    periodStart: '2026-01-01',
    periodEnd: '2026-02-01',
    payoutDate: '2026-02-01',
    grossKrw: 1_000_000,
    refundsKrw: 50_000,
    adjustmentsKrw: 0,
    saleCount: 2,
    refundCount: 1,
    carriedInKrw: 0,
    carriedFrom: null,
    rates,
  })
  return {
    settlementId: '00000000-0000-4000-8000-0000000000aa',
    statementNo: 'ST202601-WORKERD001',
    status: 'draft',
    periodStart: '2026-01-01',
    periodEnd: '2026-02-01',
    payoutDate: '2026-02-01',
    lines: result.lines,
    rates,
    version: 1,
    calculatedAt: '2026-02-01T00:00:00Z',
    confirmedAt: null,
    paidAt: null,
    creator: {
      legalName: '김하늘',
      incomeType: 'business',
      bankName: '국민은행',
      accountLast4: '4321',
    },
    issuer: { name: '플랫폼 주식회사', businessNumber: '000-00-00000', address: '서울특별시' },
  }
}
