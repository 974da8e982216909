import type { Db } from '../../src/platform/db/port.js'

export interface IdentityStatus {
  userId: string
  verified: boolean
  provider: string | null
  verifiedAt: string | null
  /** By the youth protection statute's year rule in KST; null when not verified. */
  adult: boolean | null
  /** Duplicate-CI flags on this account that ops have not resolved. */
  openDuplicateFlags: number
}

/**
 * Adult for age-gated content: the current year in KST minus the birth year is at least 19
 * (under 19 counts as youth, except from 1 January of the year one turns 19).
 */
export function isAdultInKst(birthYear: number, nowMs: number): boolean {
  const kstYear = new Date(nowMs + 9 * 3600_000).getUTCFullYear()
  return kstYear - birthYear >= 19
}

/** The identity status of a user (`identity_status`). */
export function identityStatus(db: Db, userId: string): Promise<IdentityStatus> {
  return db.call<IdentityStatus>('identity_status', { p_user_id: userId })
}

/**
 * Whether a creator has a verified identity: settlement confirmation refuses a creator without
 * one. A creator with an open duplicate-CI flag is not verified on that account (the flag
 * means the verification was refused there).
 */
export async function isCreatorVerified(db: Db, creatorId: string): Promise<boolean> {
  return (await identityStatus(db, creatorId)).verified
}
