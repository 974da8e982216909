/**
 * Settlement arithmetic: every amount is integer KRW, computed with bigint, and every rounding
 * or truncation is one of the named rules in `ROUNDING`. The rates come in as data (dated
 * tables in the database, see supabase/migrations/0005_settlement.sql); no rate is written here.
 */

/** A withholding rule in force on the payout date (`settlement_withholding_rules`). */
export interface WithholdingRule {
  incomeType: 'business' | 'other' | 'none'
  effectiveFrom: string
  /** Income tax on the income amount, in basis points (300 = 3 %). */
  incomeTaxBp: number
  /** Local income tax on the income tax, in basis points (1000 = 10 %). */
  localTaxBp: number
  /** Deemed expenses deducted from the amount paid to get the income amount (6000 = 60 %). */
  deemedExpenseBp: number
  /** No tax when the income amount of the payment is at most this (other income). */
  minTaxableIncomeKrw: number | null
  /** Income tax below this is not withheld (null: the exemption does not apply). */
  smallAmountExemptBelowKrw: number | null
}

export interface SettlementRates {
  fee: { bp: number; effectiveFrom: string; creatorOverride: boolean }
  vat: { bp: number; effectiveFrom: string }
  withholding: WithholdingRule
}

/** What `settlement_inputs` reads: the period's sums and the rates in force. */
export interface SettlementInputs {
  creatorId: string
  periodStart: string
  periodEnd: string
  payoutDate: string
  /** Sales approved in the period. */
  grossKrw: number
  /** Refunds completed in the period of sales made in the period. */
  refundsKrw: number
  /** Refunds completed in the period of sales made in earlier periods. */
  adjustmentsKrw: number
  saleCount: number
  refundCount: number
  /** The negative balance left by the previous confirmed settlement (0 or less). */
  carriedInKrw: number
  carriedFrom: string | null
  rates: SettlementRates
}

export type LineCode =
  | 'gross'
  | 'refunds'
  | 'adjustments'
  | 'carried-in'
  | 'base'
  | 'fee'
  | 'vat'
  | 'payable'
  | 'income-tax'
  | 'local-tax'
  | 'transfer'
  | 'carry-out'

export interface SettlementLine {
  code: LineCode
  label: string
  amountKrw: number
  /** The rate applied, for the lines that have one ("10%"). */
  rate?: string
}

export interface SettlementResult {
  grossKrw: number
  refundsKrw: number
  adjustmentsKrw: number
  carriedInKrw: number
  /** gross − refunds − adjustments + carried in: what the fee is taken from. */
  baseKrw: number
  feeKrw: number
  vatKrw: number
  /** The amount paid to the creator (지급액), on which tax is withheld. */
  payableKrw: number
  /** The income amount the withholding is computed on (payable less deemed expenses). */
  incomeAmountKrw: number
  incomeTaxKrw: number
  localTaxKrw: number
  /** What is transferred to the creator's account. */
  transferKrw: number
  /** A negative balance carried to the next period (0 or less). */
  carryOutKrw: number
  lines: SettlementLine[]
}

const BP = 10_000n

/**
 * The rounding rules, each named once and used by name below.
 * - fee including VAT: half up to the won, computed on the base in one step so that a lower
 *   base never yields a larger amount paid;
 * - VAT inside that total: half up, total × vat / (1 + vat) (how TossPayments splits
 *   VAT-inclusive totals: 15,000 → 13,636 + 1,364);
 * - income amount after deemed expenses: truncated to the won;
 * - each tax (income tax, local income tax): truncated below 10 won, separately
 *   (National Treasury Management Act art. 47, Local Accounting Act art. 55).
 */
export const ROUNDING = {
  feeIncludingVat: roundHalfUp,
  vatInsideTotal: roundHalfUp,
  incomeAmount: floorDiv,
  tax: (numerator: bigint, denominator: bigint) =>
    truncateBelow10(floorDiv(numerator, denominator)),
} as const

/** n / d rounded half up, for n ≥ 0 and d > 0. */
function roundHalfUp(n: bigint, d: bigint): bigint {
  return (2n * n + d) / (2n * d)
}

/** n / d truncated, for n ≥ 0 and d > 0. */
function floorDiv(n: bigint, d: bigint): bigint {
  return n / d
}

function truncateBelow10(won: bigint): bigint {
  return (won / 10n) * 10n
}

export interface Withholding {
  incomeAmountKrw: number
  incomeTaxKrw: number
  localTaxKrw: number
}

/**
 * Tax withheld from one payment of `payableKrw` under `rule`.
 *
 * @example
 * // business income, 845,500 won paid: 25,360 income tax + 2,530 local income tax
 * withhold(845_500, businessRule)
 */
export function withhold(payableKrw: number, rule: WithholdingRule): Withholding {
  const payable = BigInt(payableKrw)
  if (payable <= 0n) return { incomeAmountKrw: 0, incomeTaxKrw: 0, localTaxKrw: 0 }
  const income = ROUNDING.incomeAmount(payable * (BP - BigInt(rule.deemedExpenseBp)), BP)
  const none = { incomeAmountKrw: Number(income), incomeTaxKrw: 0, localTaxKrw: 0 }
  if (rule.minTaxableIncomeKrw !== null && income <= BigInt(rule.minTaxableIncomeKrw)) return none
  const incomeTax = ROUNDING.tax(income * BigInt(rule.incomeTaxBp), BP)
  if (
    rule.smallAmountExemptBelowKrw !== null &&
    incomeTax < BigInt(rule.smallAmountExemptBelowKrw)
  ) {
    return none
  }
  const localTax = ROUNDING.tax(incomeTax * BigInt(rule.localTaxBp), BP)
  return {
    incomeAmountKrw: Number(income),
    incomeTaxKrw: Number(incomeTax),
    localTaxKrw: Number(localTax),
  }
}

/** The platform fee and its VAT on a positive base. */
export function feeWithVat(
  baseKrw: number,
  feeBp: number,
  vatBp: number,
): { feeKrw: number; vatKrw: number } {
  const base = BigInt(baseKrw)
  if (base <= 0n) return { feeKrw: 0, vatKrw: 0 }
  const vat = BigInt(vatBp)
  let total = ROUNDING.feeIncludingVat(base * BigInt(feeBp) * (BP + vat), BP * BP)
  // A fee and VAT can never take more than the base.
  if (total > base) total = base
  const vatPart = ROUNDING.vatInsideTotal(total * vat, BP + vat)
  return { feeKrw: Number(total - vatPart), vatKrw: Number(vatPart) }
}

/** A deduction as a line shows it (never `-0`). */
const minus = (won: number) => (won === 0 ? 0 : -won)

/** Basis points as a percentage label: 1000 → `10%`, 250 → `2.50%`. */
export const percent = (bp: number) => `${(bp / 100).toFixed(bp % 100 === 0 ? 0 : 2)}%`

/**
 * One creator's settlement for a period from what the database read.
 *
 * A negative base (refunds of earlier sales larger than this period's sales) pays nothing and
 * carries over whole, before any fee, so the next period's fee is taken on the net amount.
 */
export function computeSettlement(inputs: SettlementInputs): SettlementResult {
  const { grossKrw, refundsKrw, adjustmentsKrw, carriedInKrw, rates } = inputs
  const baseKrw = grossKrw - refundsKrw - adjustmentsKrw + carriedInKrw
  const positive = baseKrw > 0
  const { feeKrw, vatKrw } = positive
    ? feeWithVat(baseKrw, rates.fee.bp, rates.vat.bp)
    : { feeKrw: 0, vatKrw: 0 }
  const payableKrw = positive ? baseKrw - feeKrw - vatKrw : 0
  const tax = withhold(payableKrw, rates.withholding)
  const transferKrw = payableKrw - tax.incomeTaxKrw - tax.localTaxKrw
  const carryOutKrw = positive ? 0 : baseKrw
  const w = rates.withholding
  const lines: SettlementLine[] = [
    { code: 'gross', label: '총 판매액', amountKrw: grossKrw },
    { code: 'refunds', label: '당월 환불·취소', amountKrw: minus(refundsKrw) },
    { code: 'adjustments', label: '이전 정산분 환불 조정', amountKrw: minus(adjustmentsKrw) },
    { code: 'carried-in', label: '전월 이월 잔액', amountKrw: carriedInKrw },
    { code: 'base', label: '정산 기준액', amountKrw: baseKrw },
    { code: 'fee', label: '플랫폼 수수료', amountKrw: minus(feeKrw), rate: percent(rates.fee.bp) },
    {
      code: 'vat',
      label: '수수료 부가가치세',
      amountKrw: minus(vatKrw),
      rate: percent(rates.vat.bp),
    },
    { code: 'payable', label: '지급액', amountKrw: payableKrw },
    {
      code: 'income-tax',
      label: w.incomeType === 'other' ? '기타소득세' : '사업소득세',
      amountKrw: minus(tax.incomeTaxKrw),
      rate: percent(w.incomeTaxBp),
    },
    {
      code: 'local-tax',
      label: '지방소득세',
      amountKrw: minus(tax.localTaxKrw),
      rate: percent(w.localTaxBp),
    },
    { code: 'transfer', label: '실지급액', amountKrw: transferKrw },
    { code: 'carry-out', label: '다음 달 이월', amountKrw: carryOutKrw },
  ]
  return {
    grossKrw,
    refundsKrw,
    adjustmentsKrw,
    carriedInKrw,
    baseKrw,
    feeKrw,
    vatKrw,
    payableKrw,
    incomeAmountKrw: tax.incomeAmountKrw,
    incomeTaxKrw: tax.incomeTaxKrw,
    localTaxKrw: tax.localTaxKrw,
    transferKrw,
    carryOutKrw,
    lines,
  }
}
