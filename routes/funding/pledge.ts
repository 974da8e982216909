import { requireUserId } from '../../src/kit/caller.js'
import { parseInput, readJson } from '../../src/kit/request.js'
import { markEffect, withEffect } from '../../src/platform/effect.js'
import type { NativeHandler } from '../../src/types.js'
import type { FundingDeps } from './deps.js'
import { fundingCall } from './problems.js'
import { PledgeBody } from './schemas.js'

/** A pledge as the SQL functions return it (`funding_pledge_json`): no billing key, ever. */
export interface PledgeView {
  pledgeId: string
  campaignId: string
  tierId: string
  quantity: number
  extraAmount: number
  amount: number
  status: string
  customerKey: string
  [field: string]: unknown
}

/**
 * `funding-pledge`: a fan pledges to a live campaign; the card is registered now and charged only
 * if the campaign succeeds.
 *
 * 1. `{action: 'pledge', campaignId, tierId, quantity, extraAmount?}` holds the stock (one
 *    conditional update: the last units cannot be oversold) and answers the pledge, `pending`,
 *    with the fan's `customerKey` for the Toss SDK's `requestBillingAuth`. With `authKey` (a
 *    client that already holds its customerKey) the card is registered in the same request.
 * 2. `{action: 'register-card', pledgeId, authKey}` issues the billing key and activates the
 *    pledge. The key is stored where only the service role can read it and never answered.
 * 3. `{action: 'change', pledgeId, quantity?, extraAmount?}`, `{action: 'cancel', pledgeId}`
 *    until the campaign ends; `{action: 'get', pledgeId}`.
 *
 * Amounts always come from the database. A pledge whose card is never registered lapses and
 * gives its stock back (`funding_tick`).
 */
export function createFundingPledge(deps: FundingDeps): NativeHandler {
  const { db, logger, clock = Date.now } = deps
  return async function fundingPledge(c) {
    const fanId = requireUserId(c)
    const body = parseInput(PledgeBody, await readJson(c))
    const now = () => new Date(clock()).toISOString()
    const log = logger.child({ requestId: c.var.requestId })

    if (body.action === 'get') {
      const pledge = await fundingCall(
        db.call<PledgeView>('funding_pledge_get', { p_fan_id: fanId, p_pledge_id: body.pledgeId }),
      )
      return c.json(pledge, 200)
    }

    if (body.action === 'pledge') {
      const pledge = await fundingCall(
        withEffect(c, 'pledge-reserve', () =>
          db.call<PledgeView>('funding_pledge_reserve', {
            p_fan_id: fanId,
            p_campaign_id: body.campaignId,
            p_tier_id: body.tierId,
            p_quantity: body.quantity,
            p_extra: body.extraAmount ?? 0,
            p_now: now(),
          }),
        ),
      )
      log.info('funding pledge reserved', { pledgeId: pledge.pledgeId, amount: pledge.amount })
      if (!body.authKey) return c.json(pledge, 201)
      try {
        return c.json(await registerCard(deps, fanId, pledge, body.authKey, log), 201)
      } catch (error) {
        // One request, one outcome: the stock held for it is given back.
        await db
          .call('funding_pledge_abandon', { p_pledge_id: pledge.pledgeId, p_now: now() })
          .catch((abandonError: unknown) =>
            log.error('could not release a pledge whose card failed; it lapses', {
              pledgeId: pledge.pledgeId,
              error: String(abandonError),
            }),
          )
        throw error
      }
    }

    if (body.action === 'register-card') {
      const pledge = await fundingCall(
        db.call<PledgeView>('funding_pledge_get', { p_fan_id: fanId, p_pledge_id: body.pledgeId }),
      )
      if (pledge.status !== 'pending') {
        return c.json(pledge, 200)
      }
      markEffect(c, 'card-register')
      return c.json(await registerCard(deps, fanId, pledge, body.authKey as string, log), 200)
    }

    const pledge = await fundingCall(
      withEffect(c, `pledge-${body.action}`, () =>
        body.action === 'change'
          ? db.call<PledgeView>('funding_pledge_change', {
              p_fan_id: fanId,
              p_pledge_id: body.pledgeId,
              p_quantity: body.quantity ?? null,
              p_extra: body.extraAmount ?? null,
              p_now: now(),
            })
          : db.call<PledgeView>('funding_pledge_cancel', {
              p_fan_id: fanId,
              p_pledge_id: body.pledgeId,
              p_now: now(),
            }),
      ),
    )
    log.info('funding pledge updated', {
      pledgeId: pledge.pledgeId,
      action: body.action,
      amount: pledge.amount,
      status: pledge.status,
    })
    return c.json(pledge, 200)
  }
}

/**
 * Issue the billing key and store it with the pledge. If the pledge cannot take it any more (the
 * campaign closed meanwhile), the key is deleted at Toss again before the error is answered.
 */
async function registerCard(
  { db, method, clock = Date.now }: FundingDeps,
  fanId: string,
  pledge: PledgeView,
  authKey: string,
  log: FundingDeps['logger'],
): Promise<PledgeView> {
  const card = await method.issue({
    authKey,
    customerKey: pledge.customerKey,
    // One issue per pledge and authKey: a retried request does not register the card twice.
    requestKey: `funding-issue-${pledge.pledgeId}-${await shortDigest(authKey)}`,
  })
  try {
    const active = await fundingCall(
      db.call<PledgeView>('funding_pledge_activate', {
        p_pledge_id: pledge.pledgeId,
        p_fan_id: fanId,
        p_customer_key: pledge.customerKey,
        p_billing_key: card.billingKey,
        p_method: card.method,
        p_card: card.card,
        p_now: new Date(clock()).toISOString(),
      }),
    )
    log.info('funding card registered', { pledgeId: pledge.pledgeId, method: method.name })
    return active
  } catch (error) {
    const deleted = await method.delete(card.billingKey).catch(() => 'retry' as const)
    log.warn('funding card registered but the pledge could not take it', {
      pledgeId: pledge.pledgeId,
      keyDeleted: deleted === 'deleted',
    })
    throw error
  }
}

async function shortDigest(value: string): Promise<string> {
  const bytes = new TextEncoder().encode(value)
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))
  return Array.from(digest.slice(0, 12), (b) => b.toString(16).padStart(2, '0')).join('')
}
