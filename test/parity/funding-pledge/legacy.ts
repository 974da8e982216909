/**
 * Legacy `funding-pledge`: a signed-in fan `POST {action?: 'pledge', campaignId, tierId,
 * quantity, extraAmount?, authKey?}` holds stock and answers the pledge (201, `pending` until a
 * card is registered; with `authKey` the card is registered at once); `{action: 'register-card',
 * pledgeId, authKey}` issues the Toss billing key for the fan's customerKey; `change`, `cancel`
 * and `get` by `pledgeId`. Amounts come from the database.
 */
import { z } from 'zod'
import { fundingDbError, fundingProblem } from '../funding-contract.js'
import {
  fieldsOf,
  json,
  type LegacyContract,
  type LegacyEnv,
  readJson,
  validationFailed,
} from '../legacy-kit.js'
import { userIdOf } from '../payments-contract.js'

const Body = z.object({
  action: z.enum(['pledge', 'register-card', 'change', 'cancel', 'get']).default('pledge'),
  campaignId: z.uuid().optional(),
  tierId: z.uuid().optional(),
  pledgeId: z.uuid().optional(),
  quantity: z.number().int().min(1).max(99).optional(),
  extraAmount: z.number().int().min(0).max(10_000_000).optional(),
  authKey: z
    .string()
    .regex(/^[\x21-\x7e]{1,300}$/)
    .optional(),
})

interface Pledge {
  pledgeId: string
  customerKey: string
  status: string
}

async function registerCard(env: LegacyEnv, fanId: string, pledge: Pledge, authKey: string) {
  const res = await fetch(`${env.toss.url}/v1/billing/authorizations/issue`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${btoa(`${env.toss.secretKey}:`)}`,
      'content-type': 'application/json',
      'idempotency-key': `legacy-issue-${pledge.pledgeId}`,
    },
    body: JSON.stringify({ authKey, customerKey: pledge.customerKey }),
  })
  const billing = (await res.json()) as { code?: string; billingKey?: string; method?: string }
  if (!res.ok || !billing.billingKey) {
    return fundingProblem(422, 'card-not-registered', {
      errors: [{ field: 'authKey', message: billing.code ?? 'refused' }],
    })
  }
  return json(
    await env.db.call('funding_pledge_activate', {
      p_pledge_id: pledge.pledgeId,
      p_fan_id: fanId,
      p_customer_key: pledge.customerKey,
      p_billing_key: billing.billingKey,
      p_method: billing.method ?? null,
      p_card: null,
    }),
  )
}

export const contract: LegacyContract = async (req, env) => {
  const fan = await userIdOf(req, env)
  if (fan.refused) return fan.refused
  const fanId = fan.userId as string
  const read = await readJson(req)
  if (!read.ok) return read.response
  const parsed = Body.safeParse(read.body)
  if (!parsed.success) return validationFailed(fieldsOf(parsed.error.issues))
  const body = parsed.data
  const missing: string[] = []
  if (body.action === 'pledge') {
    if (!body.campaignId) missing.push('campaignId')
    if (!body.tierId) missing.push('tierId')
    if (body.quantity === undefined) missing.push('quantity')
  } else {
    if (!body.pledgeId) missing.push('pledgeId')
    if (body.action === 'register-card' && !body.authKey) missing.push('authKey')
    if (body.action === 'change' && body.quantity === undefined && body.extraAmount === undefined) {
      missing.push('quantity')
    }
  }
  if (missing.length)
    return validationFailed(missing.map((field) => ({ field, message: 'required' })))
  const now = new Date().toISOString()
  try {
    if (body.action === 'pledge') {
      const pledge = await env.db.call<Pledge>('funding_pledge_reserve', {
        p_fan_id: fanId,
        p_campaign_id: body.campaignId,
        p_tier_id: body.tierId,
        p_quantity: body.quantity,
        p_extra: body.extraAmount ?? 0,
        p_now: now,
      })
      if (!body.authKey) return json(pledge, 201)
      const res = await registerCard(env, fanId, pledge, body.authKey)
      if (!res.ok) await env.db.call('funding_pledge_abandon', { p_pledge_id: pledge.pledgeId })
      return res.ok ? json(await res.json(), 201) : res
    }
    const pledge = await env.db.call<Pledge>('funding_pledge_get', {
      p_fan_id: fanId,
      p_pledge_id: body.pledgeId,
    })
    if (body.action === 'get') return json(pledge)
    if (body.action === 'register-card') {
      return pledge.status === 'pending'
        ? registerCard(env, fanId, pledge, body.authKey as string)
        : json(pledge)
    }
    return json(
      body.action === 'change'
        ? await env.db.call('funding_pledge_change', {
            p_fan_id: fanId,
            p_pledge_id: body.pledgeId,
            p_quantity: body.quantity ?? null,
            p_extra: body.extraAmount ?? null,
            p_now: now,
          })
        : await env.db.call('funding_pledge_cancel', {
            p_fan_id: fanId,
            p_pledge_id: body.pledgeId,
            p_now: now,
          }),
    )
  } catch (error) {
    return fundingDbError(error)
  }
}
