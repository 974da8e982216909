/**
 * Legacy `ops-manage`, the payout-hold part of its contract: only `app_metadata.role = ops`
 * (403 `ops-only`); `POST creators/{creatorId}/payout-hold|payout-release {reason}` → `{changed,
 * before: {held}, after: {held}, auditId}`, the creator id a UUID (422 `param:creatorId`), a
 * reason of 1-500 characters (422 `reason`); the same SQL function as every caller.
 */
import { z } from 'zod'
import {
  fieldsOf,
  json,
  type LegacyContract,
  problem,
  readJson,
  validationFailed,
} from '../legacy-kit.js'

const Body = z.strictObject({ reason: z.string().trim().min(1).max(500) })
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export const contract: LegacyContract = async (req, env) => {
  const user = await env.user(req)
  const meta = user?.claims.app_metadata as { role?: unknown } | undefined
  if (!user?.sub || meta?.role !== 'ops') {
    return problem(403, 'ops-only', 'Only ops may use the back office')
  }
  const path = new URL(req.url).pathname.replace(/^\/functions\/v1\/ops-manage\/?/, '')
  const [head, creatorId, action] = path.split('/')
  if (head !== 'creators' || (action !== 'payout-hold' && action !== 'payout-release')) {
    return problem(404, 'not-found', 'Not found')
  }
  if (!UUID.test(creatorId ?? '')) {
    return validationFailed([{ field: 'param:creatorId', message: 'a UUID' }])
  }
  const read = await readJson(req)
  if (!read.ok) return read.response
  const parsed = Body.safeParse(read.body)
  if (!parsed.success) return validationFailed(fieldsOf(parsed.error.issues))
  const result = await env.db.call('ops_payout_hold_set', {
    p_actor: `jwt:${user.sub}`,
    p_creator_id: (creatorId as string).toLowerCase(),
    p_held: action === 'payout-hold',
    p_reason: parsed.data.reason,
    p_request_id: null,
  })
  return json(result)
}
