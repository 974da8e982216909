import { calculateAndSave } from '../../../routes/settlement/calculation.js'
import type { ParityHook } from '../../../scripts/parity/cases.js'
import { createLogger } from '../../../src/observability/log.js'
import type { Db } from '../../../src/platform/db/port.js'
import { creatorMonth } from '../payout-calculate/hooks.js'

/** The parity creator's January 2026, confirmed once; both backends fetch the same statement. */
export const confirmedSettlement: ParityHook = async (ctx) => {
  const { creatorId, period } = await creatorMonth(ctx)
  const db = ctx.services.db as Db
  const saved = await calculateAndSave(
    { db, logger: createLogger({ level: 'error', write: () => {} }) },
    { creatorId: creatorId as string, period: period as string },
    { confirm: true, actor: 'parity' },
  )
  return { settlementId: saved.settlementId, creatorId: creatorId as string }
}

export const hooks: Record<string, ParityHook> = { confirmedSettlement }
