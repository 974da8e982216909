import { DbFunctionError } from '../../src/platform/db/port.js'
import { calculateAndSave } from './calculation.js'
import type { SettlementDeps } from './deps.js'
import { monthPeriod } from './period.js'
import { sqlCall } from './problems.js'

/** A `settlement_runs` row. */
export interface RunRow {
  id: string
  period_start: string
  period_end: string
  payout_date: string
  cursor_creator: string | null
  processed: number
  failed: number
  total: number
  status: 'running' | 'done'
}

export interface RunRequest {
  period: string
  payoutDate?: string | undefined
  runId?: string | undefined
  batchSize?: number | undefined
  actor: string
}

export interface RunProgress {
  runId: string
  period: string
  status: 'running' | 'done'
  processed: number
  failed: number
  total: number
  /** Creators that failed in this call, with the stable code of the failure. */
  failures: Array<{ creatorId: string; code: string }>
}

const DEFAULT_BATCH = 100
const DEFAULT_BUDGET_MS = 8_000

/**
 * Draft settlements for every creator of a period, in batches. Each creator is saved in its
 * own transaction and the run's cursor is stored after each batch, so a run of any size never
 * holds one transaction, and a call that runs out of its time budget (or a crash) resumes
 * from the cursor when called again with the `runId`.
 */
export async function runAll(deps: SettlementDeps, request: RunRequest): Promise<RunProgress> {
  const { db } = deps
  const clock = deps.clock ?? Date.now
  const period = monthPeriod(request.period)
  const payoutDate = request.payoutDate ?? period.end
  let run = request.runId
    ? await sqlCall(db.call<RunRow>('settlement_run_get', { p_run_id: request.runId }))
    : await sqlCall(
        db.call<RunRow>('settlement_run_start', {
          p_period_start: period.start,
          p_period_end: period.end,
          p_payout_date: payoutDate,
          p_actor: request.actor,
        }),
      )
  const failures: RunProgress['failures'] = []
  // Time budget measured with a monotonic clock, not the (testable) wall clock.
  const deadline = performance.now() + (deps.runBudgetMs ?? DEFAULT_BUDGET_MS)
  const runPeriod = run.period_start.slice(0, 7)
  // At least one batch per call, so every call makes progress.
  while (run.status === 'running') {
    const creators = await sqlCall(
      db.call<string[]>('settlement_creators_page', {
        p_period_start: run.period_start,
        p_period_end: run.period_end,
        p_after: run.cursor_creator,
        p_limit: request.batchSize ?? DEFAULT_BATCH,
      }),
    )
    let processed = 0
    let failed = 0
    for (const creatorId of creators) {
      try {
        await calculateAndSave(
          { ...deps, clock },
          { creatorId, period: runPeriod, payoutDate: run.payout_date },
          { confirm: false, actor: request.actor },
        )
        processed++
      } catch (error) {
        const code = codeOf(error)
        // Already confirmed: nothing to redo, the run moves on.
        if (code === 'settlement-confirmed') {
          processed++
          continue
        }
        failed++
        failures.push({ creatorId, code })
        deps.logger.warn('settlement run: creator failed', { runId: run.id, code })
      }
    }
    run = await sqlCall(
      db.call<RunRow>('settlement_run_progress', {
        p_run_id: run.id,
        p_cursor: creators.at(-1) ?? null,
        p_processed: processed,
        p_failed: failed,
        p_done: creators.length === 0,
      }),
    )
    if (performance.now() >= deadline) break
  }
  return {
    runId: run.id,
    period: runPeriod,
    status: run.status,
    processed: run.processed,
    failed: run.failed,
    total: run.total,
    failures,
  }
}

function codeOf(error: unknown): string {
  if (error instanceof DbFunctionError) return error.code
  const code = (error as { code?: unknown } | undefined)?.code
  return typeof code === 'string' ? code : 'error'
}
