/**
 * Legacy `payout-calculate`: `POST {action, ...}`. `preview` (the creator or ops) computes a
 * month without saving; `calculate` and `confirm` (ops) save a draft or confirm it; `list` (the
 * creator or ops) lists a creator's settlements; `mark-paid` (ops). The month's sums and the
 * rates come from the shared database; the withholding arithmetic is the documented one:
 * fee + VAT on the net base rounded half up as one amount, VAT split out of it, income tax and
 * local income tax each truncated below 10 won, a negative base carried over whole.
 */
import { z } from 'zod'
import { fieldsOf, json, type LegacyContract, readJson, validationFailed } from '../legacy-kit.js'
import {
  callerOf,
  forbidden,
  monthRange,
  PERIOD,
  settlementDbError,
  UUID,
} from '../settlement-contract.js'

const uuid = z.string().regex(UUID)
const period = z.string().regex(PERIOD)
const date = z.string().regex(/^20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$/)
const one = { creatorId: uuid, period, payoutDate: date.optional() }
const Body = z.discriminatedUnion('action', [
  z.strictObject({ action: z.literal('preview'), ...one }),
  z.strictObject({ action: z.literal('calculate'), ...one }),
  z.strictObject({ action: z.literal('confirm'), ...one }),
  z.strictObject({ action: z.literal('mark-paid'), settlementId: uuid }),
  z.strictObject({ action: z.literal('list'), creatorId: uuid.optional() }),
])

interface Rule {
  incomeType: string
  incomeTaxBp: number
  localTaxBp: number
  deemedExpenseBp: number
  minTaxableIncomeKrw: number | null
  smallAmountExemptBelowKrw: number | null
}
interface Inputs {
  creatorId: string
  payoutDate: string
  grossKrw: number
  refundsKrw: number
  adjustmentsKrw: number
  carriedInKrw: number
  saleCount: number
  refundCount: number
  rates: { fee: { bp: number }; vat: { bp: number }; withholding: Rule }
}

const pct = (bp: number) => `${(bp / 100).toFixed(bp % 100 === 0 ? 0 : 2)}%`
const neg = (n: number) => (n === 0 ? 0 : -n)
const trunc10 = (n: number) => Math.floor(n / 10) * 10

function compute(i: Inputs) {
  const base = i.grossKrw - i.refundsKrw - i.adjustmentsKrw + i.carriedInKrw
  const { fee: f, vat: v, withholding: w } = i.rates
  let fee = 0
  let vat = 0
  let payable = 0
  let income = 0
  let incomeTax = 0
  let localTax = 0
  if (base > 0) {
    const total = Math.min(base, Math.floor((base * f.bp * (10_000 + v.bp)) / 1e8 + 0.5))
    vat = Math.floor((total * v.bp) / (10_000 + v.bp) + 0.5)
    fee = total - vat
    payable = base - total
    income = Math.floor((payable * (10_000 - w.deemedExpenseBp)) / 10_000)
    const taxable = w.minTaxableIncomeKrw === null || income > w.minTaxableIncomeKrw
    incomeTax = taxable ? trunc10((income * w.incomeTaxBp) / 10_000) : 0
    if (w.smallAmountExemptBelowKrw !== null && incomeTax < w.smallAmountExemptBelowKrw)
      incomeTax = 0
    localTax = incomeTax ? trunc10((incomeTax * w.localTaxBp) / 10_000) : 0
  }
  const transfer = payable - incomeTax - localTax
  const carryOut = Math.min(base, 0)
  const lines = [
    { code: 'gross', label: '총 판매액', amountKrw: i.grossKrw },
    { code: 'refunds', label: '당월 환불·취소', amountKrw: neg(i.refundsKrw) },
    { code: 'adjustments', label: '이전 정산분 환불 조정', amountKrw: neg(i.adjustmentsKrw) },
    { code: 'carried-in', label: '전월 이월 잔액', amountKrw: i.carriedInKrw },
    { code: 'base', label: '정산 기준액', amountKrw: base },
    { code: 'fee', label: '플랫폼 수수료', amountKrw: neg(fee), rate: pct(f.bp) },
    { code: 'vat', label: '수수료 부가가치세', amountKrw: neg(vat), rate: pct(v.bp) },
    { code: 'payable', label: '지급액', amountKrw: payable },
    {
      code: 'income-tax',
      label: w.incomeType === 'other' ? '기타소득세' : '사업소득세',
      amountKrw: neg(incomeTax),
      rate: pct(w.incomeTaxBp),
    },
    { code: 'local-tax', label: '지방소득세', amountKrw: neg(localTax), rate: pct(w.localTaxBp) },
    { code: 'transfer', label: '실지급액', amountKrw: transfer },
    { code: 'carry-out', label: '다음 달 이월', amountKrw: carryOut },
  ]
  const totals = {
    grossKrw: i.grossKrw,
    refundsKrw: i.refundsKrw,
    adjustmentsKrw: i.adjustmentsKrw,
    carriedInKrw: i.carriedInKrw,
    baseKrw: base,
    feeKrw: fee,
    vatKrw: vat,
    payableKrw: payable,
    incomeAmountKrw: income,
    incomeTaxKrw: incomeTax,
    localTaxKrw: localTax,
    transferKrw: transfer,
    carryOutKrw: carryOut,
  }
  return { totals, lines }
}

interface Saved {
  settlementId: string
  creatorId: string
  periodStart: string
  payoutDate: string
  statementNo: string
  status: string
  version: number
  inputs: Inputs
  lines: unknown[]
  rates: unknown
  calculatedAt: string
  confirmedAt: string | null
  paidAt: string | null
  replayed?: boolean
}

const view = (s: Saved) => ({
  settlementId: s.settlementId,
  creatorId: s.creatorId,
  period: s.periodStart.slice(0, 7),
  payoutDate: s.payoutDate,
  statementNo: s.statementNo,
  status: s.status,
  version: s.version,
  saleCount: s.inputs.saleCount,
  refundCount: s.inputs.refundCount,
  lines: s.lines,
  rates: s.rates,
  calculatedAt: s.calculatedAt,
  confirmedAt: s.confirmedAt,
  paidAt: s.paidAt,
  ...(s.replayed ? { replayed: true } : {}),
})

export const contract: LegacyContract = async (req, env) => {
  const caller = await callerOf(req, env)
  const read = await readJson(req)
  if (!read.ok) return read.response
  const parsed = Body.safeParse(read.body)
  if (!parsed.success) {
    const issues = parsed.error.issues.flatMap((issue) =>
      issue.code === 'unrecognized_keys'
        ? issue.keys.map((key) => ({ path: [...issue.path, key], message: 'unknown member' }))
        : [issue],
    )
    return validationFailed(fieldsOf(issues))
  }
  const body = parsed.data
  const mayRead = (creatorId: string) => caller.ops || caller.userId === creatorId.toLowerCase()
  try {
    if (body.action === 'preview' || body.action === 'calculate' || body.action === 'confirm') {
      if (body.action === 'preview' ? !mayRead(body.creatorId) : !caller.ops) {
        return forbidden(body.action === 'preview' ? 'not-your-settlement' : 'ops-only')
      }
      const [start, end] = monthRange(body.period)
      const inputs = await env.db.call<Inputs>('settlement_inputs', {
        p_creator: body.creatorId,
        p_period_start: start,
        p_period_end: end,
        p_payout_date: body.payoutDate ?? end,
      })
      const { totals, lines } = compute(inputs)
      if (body.action === 'preview') {
        return json({
          preview: true,
          creatorId: inputs.creatorId,
          period: body.period,
          payoutDate: inputs.payoutDate,
          saleCount: inputs.saleCount,
          refundCount: inputs.refundCount,
          totals,
          lines,
          rates: inputs.rates,
        })
      }
      const saved = await env.db.call<Saved>('settlement_save', {
        p_creator: body.creatorId,
        p_period_start: start,
        p_period_end: end,
        p_payout_date: inputs.payoutDate,
        p_inputs: inputs,
        p_result: { ...totals, lines },
        p_confirm: body.action === 'confirm',
        p_actor: caller.userId ?? 'service',
        p_now: new Date().toISOString(),
      })
      return json(view(saved), saved.replayed || body.action === 'confirm' ? 200 : 201)
    }
    if (body.action === 'mark-paid') {
      if (!caller.ops) return forbidden('ops-only')
      const saved = await env.db.call<Saved>('settlement_mark_paid', {
        p_id: body.settlementId,
        p_actor: caller.userId ?? 'service',
        p_now: new Date().toISOString(),
      })
      return json(view(saved))
    }
    const creatorId = body.creatorId ?? caller.userId
    if (!creatorId) {
      return validationFailed([{ field: 'creatorId', message: 'required' }])
    }
    if (!mayRead(creatorId)) return forbidden('not-your-settlement')
    const list = await env.db.call<Saved[]>('settlement_list', {
      p_creator: creatorId,
      p_limit: 24,
    })
    return json({ settlements: list.map(view) })
  } catch (error) {
    return settlementDbError(error)
  }
}
