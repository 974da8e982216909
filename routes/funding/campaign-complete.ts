import { parseInput, readJson } from '../../src/kit/request.js'
import { markEffect } from '../../src/platform/effect.js'
import type { NativeHandler } from '../../src/types.js'
import type { FundingDeps } from './deps.js'
import { fundingClock } from './jobs.js'
import { fundingCall } from './problems.js'
import { CompleteBody } from './schemas.js'
import { runFundingWork } from './work.js'

interface Progress {
  state: string
  remaining: number
  cardsToDelete: number
  [field: string]: unknown
}

/**
 * `campaign-complete` (service role: the scheduled dispatcher, or ops through it): close a
 * campaign. `complete` decides success or failure in one transaction (ending it first if its end
 * has passed), then charges (or releases) its pledges for up to `budgetMs` and answers the
 * progress: 200 when nothing is left, 202 when the rest is still to do (call again, from any
 * instance: work is shared through leases). `progress` only reads; `work` runs due work of every
 * campaign (retries included); `tick` runs the campaign clock first.
 *
 * Body `{action?: 'complete' | 'progress' | 'work' | 'tick', campaignId?, budgetMs?}`.
 */
export function createCampaignComplete(deps: FundingDeps): NativeHandler {
  const { db, logger, clock = Date.now } = deps
  return async function campaignComplete(c) {
    const body = parseInput(CompleteBody, await readJson(c))
    const progress = () =>
      fundingCall(
        db.call<Progress>('funding_campaign_progress', {
          p_campaign_id: body.campaignId,
          p_now: new Date(clock()).toISOString(),
        }),
      )
    if (body.action === 'progress') return c.json(await progress(), 200)

    const owner = `campaign-complete:${crypto.randomUUID()}`
    const options = body.budgetMs ? { budgetMs: body.budgetMs } : {}
    markEffect(c, `campaign-${body.action}`)
    if (body.action === 'tick' || body.action === 'work') {
      const clockResult = body.action === 'tick' ? await fundingCall(fundingClock(deps)) : undefined
      const work = await fundingCall(
        runFundingWork(deps, {
          owner,
          options,
          ...(body.campaignId ? { campaignId: body.campaignId } : {}),
        }),
      )
      logger.info('funding work', { requestId: c.var.requestId, ...work })
      return c.json({ ...(clockResult ? { clock: clockResult } : {}), work }, 200)
    }

    const decided = await fundingCall(
      db.call<{ state: string; replayed: boolean }>('funding_campaign_decide', {
        p_actor: 'system',
        p_campaign_id: body.campaignId,
        p_now: new Date(clock()).toISOString(),
      }),
    )
    const work = await fundingCall(
      runFundingWork(deps, { owner, options, campaignId: body.campaignId as string }),
    )
    const now = await progress()
    logger.info('funding campaign completion', {
      requestId: c.var.requestId,
      campaignId: body.campaignId,
      state: decided.state,
      ...work,
      remaining: now.remaining,
    })
    const done = now.remaining === 0 && now.cardsToDelete === 0
    return c.json({ ...now, run: work }, done ? 200 : 202)
  }
}
