import { requireUserId } from '../../src/kit/caller.js'
import { parseInput, readJson } from '../../src/kit/request.js'
import { withEffect } from '../../src/platform/effect.js'
import type { NativeHandler } from '../../src/types.js'
import type { FundingDeps } from './deps.js'
import { fundingCall } from './problems.js'
import { StudioBody } from './schemas.js'

interface CampaignView {
  campaignId: string
  state: string
}

/**
 * `funding-studio-submit`: a creator saves a campaign as a draft, submits it for review, or
 * resubmits it after a rejection (the earlier submission stays in the history). Validation names
 * the field at fault; a creator can only touch their own campaigns; submitting in any other state
 * is a 409 naming the current one.
 *
 * Body `{action: 'save' | 'submit' | 'get', campaignId?, campaign?: {title, description?,
 * goalAmount, startsAt, endsAt, tiers: [{name, price, stock, deliveryMonth}]}}`.
 */
export function createFundingStudioSubmit({
  db,
  logger,
  clock = Date.now,
}: FundingDeps): NativeHandler {
  return async function fundingStudioSubmit(c) {
    const creatorId = requireUserId(c)
    const body = parseInput(StudioBody, await readJson(c))
    const now = new Date(clock()).toISOString()
    if (body.action === 'get') {
      const campaign = await fundingCall(
        db.call<CampaignView>('funding_campaign_get', {
          p_campaign_id: body.campaignId,
          p_creator_id: creatorId,
        }),
      )
      return c.json(campaign, 200)
    }
    const fn = body.action === 'save' ? 'funding_campaign_save' : 'funding_campaign_submit'
    const campaign = await fundingCall(
      withEffect(c, 'campaign-write', () =>
        db.call<CampaignView>(fn, {
          p_creator_id: creatorId,
          p_campaign_id: body.campaignId ?? null,
          p_content: body.campaign ?? null,
          p_now: now,
        }),
      ),
    )
    logger.info('funding campaign', {
      requestId: c.var.requestId,
      campaignId: campaign.campaignId,
      action: body.action,
      state: campaign.state,
    })
    return c.json(campaign, body.campaignId ? 200 : 201)
  }
}
