import { isOps, optionalUserId } from '../../src/kit/caller.js'
import type { AppContext } from '../../src/types.js'
import { SETTLEMENT_PROBLEMS } from './problems.js'

/** Who is calling, as the settlement routes see it (ops: the same rule as refunds). */
export interface Caller {
  ops: boolean
  /** The caller's user id; a creator's id is their user id. */
  userId: string | undefined
  /** What the audit columns record (`confirmed_by`, `paid_by`). */
  actor: string
}

export function callerOf(c: AppContext): Caller {
  const ops = isOps(c.var.identity)
  const userId = optionalUserId(c)
  return { ops, userId, actor: userId ?? (ops ? 'service' : 'anonymous') }
}

/** Ops only: calculating, confirming, paying, exporting. */
export function requireOps(caller: Caller, what: string): void {
  if (!caller.ops) {
    throw SETTLEMENT_PROBLEMS.error('ops-only', { detail: `Only ops may ${what}` })
  }
}

/** Ops, or the creator the settlement belongs to. */
export function requireOwnerOrOps(caller: Caller, creatorId: string): void {
  if (caller.ops || (caller.userId !== undefined && caller.userId === creatorId.toLowerCase())) {
    return
  }
  throw SETTLEMENT_PROBLEMS.error('not-your-settlement')
}
