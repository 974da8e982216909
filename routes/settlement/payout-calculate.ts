import { readJson } from '../../src/kit/request.js'
import { markEffect, withEffect } from '../../src/platform/effect.js'
import { validationFailed } from '../../src/problems.js'
import type { NativeHandler } from '../../src/types.js'
import { callerOf, requireOps, requireOwnerOrOps } from './access.js'
import { calculate, calculateAndSave, type SavedSettlement, totalsOf } from './calculation.js'
import type { SettlementDeps } from './deps.js'
import { sqlCall } from './problems.js'
import { runAll } from './run-all.js'
import { CalculateBody, parseInput } from './schemas.js'

/**
 * `payout-calculate`: one creator's month (`preview` computes without saving, `calculate`
 * saves a draft, `confirm` freezes it), `mark-paid`, `list` of a creator's settlements, and
 * `calculate-all` for every creator of a month in resumable batches.
 *
 * Creators may `preview` and `list` their own; everything else is ops only (403, nothing
 * written). Every answer carries the lines and the rates used.
 */
export function createPayoutCalculate(deps: SettlementDeps): NativeHandler {
  const { db } = deps
  return async function payoutCalculate(c) {
    const caller = callerOf(c)
    const body = parseInput(CalculateBody, await readJson(c))
    switch (body.action) {
      case 'preview': {
        requireOwnerOrOps(caller, body.creatorId)
        const { inputs, result } = await calculate(deps, body)
        return c.json({
          preview: true,
          creatorId: inputs.creatorId,
          period: body.period,
          payoutDate: inputs.payoutDate,
          saleCount: inputs.saleCount,
          refundCount: inputs.refundCount,
          totals: totalsOf(result),
          lines: result.lines,
          rates: inputs.rates,
        })
      }
      case 'calculate':
      case 'confirm': {
        requireOps(caller, `${body.action} a settlement`)
        const saved = await calculateAndSave(deps, body, {
          confirm: body.action === 'confirm',
          actor: caller.actor,
          asEffect: (save) => withEffect(c, `settlement-${body.action}`, save),
        })
        return c.json(view(saved), saved.replayed ? 200 : body.action === 'confirm' ? 200 : 201)
      }
      case 'mark-paid': {
        requireOps(caller, 'mark a settlement paid')
        const saved = await sqlCall(
          withEffect(c, 'settlement-mark-paid', () =>
            db.call<SavedSettlement>('settlement_mark_paid', {
              p_id: body.settlementId,
              p_actor: caller.actor,
              p_now: new Date((deps.clock ?? Date.now)()).toISOString(),
            }),
          ),
        )
        return c.json(view(saved))
      }
      case 'list': {
        const creatorId = body.creatorId ?? caller.userId
        if (!creatorId) {
          throw validationFailed([
            { field: 'creatorId', message: 'required when the caller is not a creator' },
          ])
        }
        requireOwnerOrOps(caller, creatorId)
        const list = await sqlCall(
          db.call<SavedSettlement[]>('settlement_list', { p_creator: creatorId, p_limit: 24 }),
        )
        return c.json({ settlements: list.map(view) })
      }
      case 'calculate-all': {
        requireOps(caller, 'calculate all creators of a period')
        // The run writes from its first call on (the run row, then drafts).
        markEffect(c, 'settlement-run')
        const progress = await runAll(deps, { ...body, actor: caller.actor })
        return c.json(progress, progress.status === 'done' ? 200 : 202)
      }
    }
  }
}

/** A saved settlement for clients: no internal inputs beyond the rates and counts. */
function view(saved: SavedSettlement) {
  return {
    settlementId: saved.settlementId,
    creatorId: saved.creatorId,
    period: saved.periodStart.slice(0, 7),
    payoutDate: saved.payoutDate,
    statementNo: saved.statementNo,
    status: saved.status,
    version: saved.version,
    saleCount: saved.inputs.saleCount,
    refundCount: saved.inputs.refundCount,
    lines: saved.lines,
    rates: saved.rates,
    calculatedAt: saved.calculatedAt,
    confirmedAt: saved.confirmedAt,
    paidAt: saved.paidAt,
    ...(saved.replayed ? { replayed: true } : {}),
  }
}
