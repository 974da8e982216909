/**
 * Legacy `funding-admin-review`: ops `POST {action: 'approve' | 'reject' | 'cancel' | 'get' |
 * 'progress', campaignId, reason?}` (a reason is required to reject or cancel) → the campaign
 * (or its progress). Anyone else: 403 `ops-only`.
 */
import { z } from 'zod'
import { fundingDbError, isOpsUser } from '../funding-contract.js'
import {
  fieldsOf,
  json,
  type LegacyContract,
  problem,
  readJson,
  validationFailed,
} from '../legacy-kit.js'

const Body = z.object({
  action: z.enum(['approve', 'reject', 'cancel', 'get', 'progress']),
  campaignId: z.uuid(),
  reason: z.string().trim().min(1).max(500).optional(),
})

export const contract: LegacyContract = async (req, env) => {
  const user = await env.user(req)
  if (!isOpsUser(user)) return problem(403, 'ops-only', 'Only ops may review campaigns')
  const read = await readJson(req)
  if (!read.ok) return read.response
  const parsed = Body.safeParse(read.body)
  if (!parsed.success) return validationFailed(fieldsOf(parsed.error.issues))
  const body = parsed.data
  if ((body.action === 'reject' || body.action === 'cancel') && !body.reason) {
    return validationFailed([{ field: 'reason', message: 'required' }])
  }
  const actor = user?.sub ?? 'service'
  const now = new Date().toISOString()
  try {
    switch (body.action) {
      case 'get':
        return json(await env.db.call('funding_campaign_get', { p_campaign_id: body.campaignId }))
      case 'progress':
        return json(
          await env.db.call('funding_campaign_progress', {
            p_campaign_id: body.campaignId,
            p_now: now,
          }),
        )
      case 'cancel':
        return json(
          await env.db.call('funding_campaign_cancel', {
            p_actor: actor,
            p_campaign_id: body.campaignId,
            p_reason: body.reason,
            p_now: now,
          }),
        )
      default:
        return json(
          await env.db.call('funding_campaign_review', {
            p_actor: actor,
            p_campaign_id: body.campaignId,
            p_decision: body.action,
            p_reason: body.reason ?? null,
            p_now: now,
          }),
        )
    }
  } catch (error) {
    return fundingDbError(error)
  }
}
