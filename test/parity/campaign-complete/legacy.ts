/**
 * Legacy `campaign-complete` (service role): `POST {action?: 'complete', campaignId}` decides
 * the ended campaign in the database (ending it first when its end has passed) and answers its
 * progress (200 when nothing is left to charge or delete, else 202); `{action: 'progress'}` only
 * reads. This stand-in does not charge: its cases close campaigns that failed.
 */
import { z } from 'zod'
import { fundingDbError } from '../funding-contract.js'
import { fieldsOf, json, type LegacyContract, readJson, validationFailed } from '../legacy-kit.js'

const Body = z.object({
  action: z.enum(['complete', 'progress', 'work', 'tick']).default('complete'),
  campaignId: z.uuid().optional(),
  budgetMs: z.number().int().min(100).max(60_000).optional(),
})

const NO_RUN = {
  claimed: 0,
  charged: 0,
  retrying: 0,
  failed: 0,
  pending: 0,
  keysDeleted: 0,
  keyRetries: 0,
  stale: 0,
  errors: 0,
}

export const contract: LegacyContract = async (req, env) => {
  const read = await readJson(req)
  if (!read.ok) return read.response
  const parsed = Body.safeParse(read.body)
  if (!parsed.success) return validationFailed(fieldsOf(parsed.error.issues))
  const body = parsed.data
  if ((body.action === 'complete' || body.action === 'progress') && !body.campaignId) {
    return validationFailed([{ field: 'campaignId', message: 'required' }])
  }
  const now = new Date().toISOString()
  try {
    if (body.action === 'complete') {
      await env.db.call('funding_campaign_decide', {
        p_actor: 'system',
        p_campaign_id: body.campaignId,
        p_now: now,
      })
    }
    const progress = await env.db.call<{ remaining: number; cardsToDelete: number }>(
      'funding_campaign_progress',
      { p_campaign_id: body.campaignId, p_now: now },
    )
    if (body.action === 'progress') return json(progress)
    const done = progress.remaining === 0 && progress.cardsToDelete === 0
    return json({ ...progress, run: NO_RUN }, done ? 200 : 202)
  } catch (error) {
    return fundingDbError(error)
  }
}
