import { isOps, optionalUserId } from '../../src/kit/caller.js'
import { parseInput, readJson } from '../../src/kit/request.js'
import { withEffect } from '../../src/platform/effect.js'
import type { AppContext, NativeHandler } from '../../src/types.js'
import type { FundingDeps } from './deps.js'
import { FUNDING_PROBLEMS, fundingCall } from './problems.js'
import { ReviewBody } from './schemas.js'

/** Who acted, for the transition history: the ops user, or `service` for a service-role call. */
export function opsActor(c: AppContext): string {
  return optionalUserId(c) ?? 'service'
}

/**
 * `funding-admin-review`: ops approve or reject a submitted campaign (a rejection needs a
 * reason), cancel one that has not ended (its pledges are released and their cards deleted),
 * or read a campaign with its history and its completion progress. Ops = a verified JWT whose
 * `app_metadata.role` is `ops`, or the service role.
 *
 * Body `{action: 'approve' | 'reject' | 'cancel' | 'get' | 'progress', campaignId, reason?}`.
 */
export function createFundingAdminReview({
  db,
  logger,
  clock = Date.now,
}: FundingDeps): NativeHandler {
  return async function fundingAdminReview(c) {
    if (!isOps(c.var.identity)) {
      throw FUNDING_PROBLEMS.error('ops-only')
    }
    const body = parseInput(ReviewBody, await readJson(c))
    const now = new Date(clock()).toISOString()
    if (body.action === 'get' || body.action === 'progress') {
      const view = await fundingCall(
        body.action === 'get'
          ? db.call('funding_campaign_get', { p_campaign_id: body.campaignId, p_creator_id: null })
          : db.call('funding_campaign_progress', { p_campaign_id: body.campaignId, p_now: now }),
      )
      return c.json(view as Record<string, unknown>, 200)
    }
    const actor = opsActor(c)
    const campaign = await fundingCall(
      withEffect(c, `campaign-${body.action}`, () =>
        body.action === 'cancel'
          ? db.call<{ state: string }>('funding_campaign_cancel', {
              p_actor: actor,
              p_campaign_id: body.campaignId,
              p_reason: body.reason,
              p_now: now,
            })
          : db.call<{ state: string }>('funding_campaign_review', {
              p_actor: actor,
              p_campaign_id: body.campaignId,
              p_decision: body.action,
              p_reason: body.reason ?? null,
              p_now: now,
            }),
      ),
    )
    logger.info('funding campaign reviewed', {
      requestId: c.var.requestId,
      campaignId: body.campaignId,
      action: body.action,
      state: campaign.state,
    })
    return c.json(campaign, 200)
  }
}
