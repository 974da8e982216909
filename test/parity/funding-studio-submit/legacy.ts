/**
 * Legacy `funding-studio-submit`: a signed-in creator `POST {action: 'save' | 'submit' | 'get',
 * campaignId?, campaign?}` → the campaign (201 when created, 200 otherwise). Dates without an
 * offset are KST. The state machine and its refusals live in the shared database functions.
 */
import { z } from 'zod'
import { fundingDbError } from '../funding-contract.js'
import { fieldsOf, json, type LegacyContract, readJson, validationFailed } from '../legacy-kit.js'
import { userIdOf } from '../payments-contract.js'

const dateTime = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?(Z|[+-]\d{2}:\d{2})?$/)
  .transform((v) => (/(Z|[+-]\d{2}:\d{2})$/.test(v) ? v : `${v}+09:00`))
const Campaign = z.object({
  title: z.string().trim().min(1).max(100),
  description: z.string().max(20_000).optional(),
  goalAmount: z.number().int().min(1000).max(100_000_000_000),
  startsAt: dateTime,
  endsAt: dateTime,
  tiers: z
    .array(
      z.object({
        name: z.string().trim().min(1).max(100),
        price: z.number().int().min(100).max(10_000_000),
        stock: z.number().int().min(1).max(1_000_000),
        deliveryMonth: z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/),
      }),
    )
    .min(1)
    .max(50),
})
const Body = z.object({
  action: z.enum(['save', 'submit', 'get']).default('submit'),
  campaignId: z.uuid().optional(),
  campaign: Campaign.optional(),
})

export const contract: LegacyContract = async (req, env) => {
  const owner = await userIdOf(req, env)
  if (owner.refused) return owner.refused
  const read = await readJson(req)
  if (!read.ok) return read.response
  const parsed = Body.safeParse(read.body)
  if (!parsed.success) return validationFailed(fieldsOf(parsed.error.issues))
  const body = parsed.data
  const missing =
    body.action === 'get' && !body.campaignId
      ? 'campaignId'
      : body.action !== 'get' && !body.campaign && !(body.action === 'submit' && body.campaignId)
        ? 'campaign'
        : undefined
  if (missing) return validationFailed([{ field: missing, message: 'required' }])
  try {
    if (body.action === 'get') {
      const view = await env.db.call('funding_campaign_get', {
        p_campaign_id: body.campaignId,
        p_creator_id: owner.userId,
      })
      return json(view, 200)
    }
    const view = await env.db.call(
      body.action === 'save' ? 'funding_campaign_save' : 'funding_campaign_submit',
      {
        p_creator_id: owner.userId,
        p_campaign_id: body.campaignId ?? null,
        p_content: body.campaign ?? null,
        p_now: new Date().toISOString(),
      },
    )
    return json(view, body.campaignId ? 200 : 201)
  } catch (error) {
    return fundingDbError(error)
  }
}
