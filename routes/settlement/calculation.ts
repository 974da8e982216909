import { DbFunctionError } from '../../src/platform/db/port.js'
import type { SettlementDeps } from './deps.js'
import { computeSettlement, type SettlementInputs, type SettlementResult } from './money.js'
import { monthPeriod } from './period.js'
import { sqlCall } from './problems.js'

export interface PeriodRequest {
  creatorId: string
  /** `YYYY-MM`. */
  period: string
  /** KST date; the first day after the period by default. */
  payoutDate?: string | undefined
}

export interface Calculation {
  inputs: SettlementInputs
  result: SettlementResult
}

/** A saved settlement as `settlement_json` returns it. */
export interface SavedSettlement {
  settlementId: string
  creatorId: string
  periodStart: string
  periodEnd: string
  payoutDate: string
  statementNo: string
  status: 'draft' | 'confirmed' | 'paid'
  lines: SettlementResult['lines']
  rates: SettlementInputs['rates']
  inputs: SettlementInputs
  version: number
  calculatedAt: string
  confirmedAt: string | null
  paidAt: string | null
  replayed?: boolean
}

/** Read the period's sums and rates in one snapshot and compute the settlement (no write). */
export async function calculate(
  deps: SettlementDeps,
  request: PeriodRequest,
): Promise<Calculation> {
  const period = monthPeriod(request.period)
  const inputs = await sqlCall(
    deps.db.call<SettlementInputs>('settlement_inputs', {
      p_creator: request.creatorId,
      p_period_start: period.start,
      p_period_end: period.end,
      p_payout_date: request.payoutDate ?? period.end,
    }),
  )
  return { inputs, result: computeSettlement(inputs) }
}

/** How often a save is recomputed when sales moved under it before giving up with 409. */
const SAVE_ATTEMPTS = 3

/**
 * Calculate and save a draft, or confirm. The database re-reads the inputs in the saving
 * transaction and refuses a result computed from anything else (`inputs-changed`): the
 * calculation is then simply done again.
 */
export async function calculateAndSave(
  deps: SettlementDeps,
  request: PeriodRequest,
  {
    confirm,
    actor,
    asEffect = (save) => save(),
  }: {
    confirm: boolean
    actor: string
    /** Wraps the saving call, the only write (the route marks its effect there). */
    asEffect?: (save: () => Promise<SavedSettlement>) => Promise<SavedSettlement>
  },
): Promise<SavedSettlement> {
  const period = monthPeriod(request.period)
  const clock = deps.clock ?? Date.now
  for (let attempt = 1; ; attempt++) {
    const { inputs, result } = await calculate(deps, request)
    try {
      return await asEffect(() =>
        deps.db.call<SavedSettlement>('settlement_save', {
          p_creator: request.creatorId,
          p_period_start: period.start,
          p_period_end: period.end,
          p_payout_date: inputs.payoutDate,
          p_inputs: inputs,
          p_result: result,
          p_confirm: confirm,
          p_actor: actor,
          p_now: new Date(clock()).toISOString(),
        }),
      )
    } catch (error) {
      const retry =
        error instanceof DbFunctionError &&
        error.code === 'inputs-changed' &&
        attempt < SAVE_ATTEMPTS
      if (!retry) return sqlCall(Promise.reject(error))
    }
  }
}

/** The totals a client shows, from a computed result. */
export function totalsOf(result: SettlementResult) {
  const { lines: _lines, ...totals } = result
  return totals
}
