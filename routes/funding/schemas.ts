import { z } from 'zod'

const OFFSET = /(Z|[+-]\d{2}:\d{2})$/

/** A date-time; one without an offset is KST (the studio works in Korean time). */
const kstDateTime = z
  .string()
  .regex(
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?(Z|[+-]\d{2}:\d{2})?$/,
    'a date-time such as 2026-12-24T10:00 (KST when no offset is given)',
  )
  .transform((value) => (OFFSET.test(value) ? value : `${value}+09:00`))
  .refine((value) => !Number.isNaN(Date.parse(value)), 'a real date-time')

const won = (min: number, max: number) => z.number().int('a whole number of won').min(min).max(max)

export const CampaignContent = z.object({
  title: z.string().trim().min(1).max(100),
  description: z.string().max(20_000).optional(),
  goalAmount: won(1000, 100_000_000_000),
  startsAt: kstDateTime,
  endsAt: kstDateTime,
  tiers: z
    .array(
      z.object({
        name: z.string().trim().min(1).max(100),
        // Cards cannot be charged less than 100 won.
        price: won(100, 10_000_000),
        stock: z.number().int('a whole number').min(1).max(1_000_000),
        deliveryMonth: z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'a month such as 2027-03 (KST)'),
      }),
    )
    .min(1, 'at least one reward tier')
    .max(50, 'at most 50 reward tiers'),
})

const required = (ctx: z.RefinementCtx, path: string, message: string) =>
  ctx.addIssue({ code: 'custom', path: [path], message })

/** `funding-studio-submit`: save a draft, submit (or resubmit) it, or read it back. */
export const StudioBody = z
  .object({
    action: z.enum(['save', 'submit', 'get']).default('submit'),
    campaignId: z.uuid().optional(),
    campaign: CampaignContent.optional(),
  })
  .superRefine((body, ctx) => {
    if (body.action === 'get' && !body.campaignId) required(ctx, 'campaignId', 'required')
    if (body.action === 'save' && !body.campaign) required(ctx, 'campaign', 'required')
    if (body.action === 'submit' && !body.campaign && !body.campaignId) {
      required(ctx, 'campaign', 'a campaign, or the campaignId of a saved one')
    }
  })

/** `funding-admin-review`: ops decisions and reads. */
export const ReviewBody = z
  .object({
    action: z.enum(['approve', 'reject', 'cancel', 'get', 'progress']),
    campaignId: z.uuid(),
    reason: z.string().trim().min(1).max(500).optional(),
  })
  .superRefine((body, ctx) => {
    if ((body.action === 'reject' || body.action === 'cancel') && !body.reason) {
      required(ctx, 'reason', 'required to reject or cancel')
    }
  })

/** What the Toss SDK hands the client after `requestBillingAuth`. */
const authKey = z.string().regex(/^[\x21-\x7e]{1,300}$/, 'the authKey from the card registration')

/** `funding-pledge`: pledge, register the card, change, cancel, read. Amounts are never sent. */
export const PledgeBody = z
  .object({
    action: z.enum(['pledge', 'register-card', 'change', 'cancel', 'get']).default('pledge'),
    campaignId: z.uuid().optional(),
    tierId: z.uuid().optional(),
    pledgeId: z.uuid().optional(),
    quantity: z.number().int('a whole number').min(1).max(99).optional(),
    extraAmount: won(0, 10_000_000).optional(),
    authKey: authKey.optional(),
  })
  .superRefine((body, ctx) => {
    if (body.action === 'pledge') {
      if (!body.campaignId) required(ctx, 'campaignId', 'required')
      if (!body.tierId) required(ctx, 'tierId', 'required')
      if (body.quantity === undefined) required(ctx, 'quantity', 'required')
      return
    }
    if (!body.pledgeId) required(ctx, 'pledgeId', 'required')
    if (body.action === 'register-card' && !body.authKey) required(ctx, 'authKey', 'required')
    if (body.action === 'change' && body.quantity === undefined && body.extraAmount === undefined) {
      required(ctx, 'quantity', 'quantity or extraAmount is required')
    }
  })

/** `campaign-complete` (service role): decide and charge, read progress, or run due work. */
export const CompleteBody = z
  .object({
    action: z.enum(['complete', 'progress', 'work', 'tick']).default('complete'),
    campaignId: z.uuid().optional(),
    /** How long this request may spend charging before answering 202 with the progress. */
    budgetMs: z.number().int().min(100).max(60_000).optional(),
  })
  .superRefine((body, ctx) => {
    if ((body.action === 'complete' || body.action === 'progress') && !body.campaignId) {
      required(ctx, 'campaignId', 'required')
    }
  })

/** BILLING_DELETED: `{eventType, createdAt, data: {billingKey, reason?}}`. */
export const BillingDeletedEvent = z.object({
  eventType: z.literal('BILLING_DELETED'),
  createdAt: z.string().max(64).optional(),
  data: z.looseObject({
    billingKey: z.string().min(1).max(200),
    reason: z.string().max(200).optional(),
  }),
})
