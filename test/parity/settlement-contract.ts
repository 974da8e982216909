/**
 * What the three legacy settlement functions share in the stand-in: who is ops, and the
 * documented problem for each settlement error code raised by the shared database.
 */
import { dbCode, type LegacyEnv, type LegacyUser, problem } from './legacy-kit.js'

export const isOpsUser = (user: LegacyUser | undefined) =>
  user?.role === 'service_role' ||
  (user?.claims.app_metadata as { role?: unknown } | undefined)?.role === 'ops'

/** [status, field at fault] per code. */
const STATUS: Record<string, [number, string | undefined]> = {
  'invalid-creator': [422, 'creatorId'],
  'invalid-period': [422, 'period'],
  'invalid-payout-date': [422, 'payoutDate'],
  'creator-not-found': [404, 'creatorId'],
  'rates-missing': [409, undefined],
  'inputs-changed': [409, undefined],
  'settlement-confirmed': [409, undefined],
  'later-period-confirmed': [409, 'period'],
  'earlier-period-unconfirmed': [409, 'period'],
  'period-not-over': [409, 'period'],
  'identity-unverified': [409, 'creatorId'],
  'settlement-not-found': [404, 'settlementId'],
  'settlement-not-confirmed': [409, 'settlementId'],
}

export function settlementDbError(error: unknown): Response {
  const known = dbCode(error)
  const spec = known && STATUS[known.code]
  if (!known || !spec) throw error
  const [status, field] = spec
  return problem(status, known.code, known.code, {
    detail: known.detail,
    ...(field ? { errors: [{ field, message: known.code }] } : {}),
  })
}

export const forbidden = (code: string) => problem(403, code, code)

export async function callerOf(req: Request, env: LegacyEnv) {
  const user = await env.user(req)
  const ops = isOpsUser(user)
  const userId = user?.sub?.toLowerCase()
  return { ops, userId }
}

/** `2026-01` → [start, end) as KST dates. */
export function monthRange(period: string): [string, string] {
  const [y, m] = period.split('-').map(Number) as [number, number]
  const next = m === 12 ? `${y + 1}-01` : `${y}-${String(m + 1).padStart(2, '0')}`
  return [`${period}-01`, `${next}-01`]
}

export const PERIOD = /^20[0-9]{2}-(0[1-9]|1[0-2])$/
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** RFC 6266 attachment with the Korean name in `filename*` (RFC 5987). */
export const disposition = (name: string, ascii: string) =>
  `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`
