/**
 * What the legacy funding functions share: the statuses of the funding database functions'
 * stable error codes (docs/data-model.md, "Funding"), their ops rule, and the setup hooks that
 * seed campaigns on the shared database. The functions and the gateway call the same SQL.
 */
import type { ParityHook } from '../../scripts/parity/cases.js'
import type { Db } from '../../src/platform/db/port.js'
import { dbCode, type FieldProblem, type LegacyUser } from './legacy-kit.js'

/** Status, and whether the detail is the field at fault (`field`) or the current state (`state`). */
const STATUS: Record<string, [number, 'field' | 'state']> = {
  'invalid-transition': [409, 'state'],
  'campaign-not-open': [409, 'state'],
  'pledge-not-pending': [409, 'state'],
  'pledge-not-active': [409, 'state'],
  'sold-out': [409, 'field'],
  'already-pledged': [409, 'field'],
  'campaign-not-found': [404, 'field'],
  'pledge-not-found': [404, 'field'],
  'tier-not-found': [404, 'field'],
  'not-campaign-owner': [403, 'field'],
  'invalid-campaign': [422, 'field'],
  'start-in-past': [422, 'field'],
  'end-before-start': [422, 'field'],
  'reason-required': [422, 'field'],
  'invalid-decision': [422, 'field'],
  'invalid-quantity': [422, 'field'],
  'invalid-amount': [422, 'field'],
  'amount-too-large': [422, 'field'],
}

/** A problem document with the funding functions' extra member `state`. */
export function fundingProblem(
  status: number,
  code: string,
  options: { errors?: FieldProblem[]; state?: string } = {},
): Response {
  return new Response(
    JSON.stringify({
      type: `https://bff.dev/problems/${code}`,
      title: code,
      status,
      detail: code,
      code,
      requestId: crypto.randomUUID(),
      ...(options.state ? { state: options.state } : {}),
      ...(options.errors ? { errors: options.errors } : {}),
    }),
    {
      status,
      headers: { 'content-type': 'application/problem+json', 'cache-control': 'no-store' },
    },
  )
}

/** A funding database error as the client sees it, or rethrow (a 500). */
export function fundingDbError(error: unknown): Response {
  const known = dbCode(error)
  const spec = known && STATUS[known.code]
  if (!known || !spec) throw error
  const [status, kind] = spec
  const first = known.detail.split(/\s/)[0] as string
  return fundingProblem(
    status,
    known.code,
    kind === 'field' ? { errors: [{ field: first, message: known.code }] } : { state: first },
  )
}

export const isOpsUser = (user: LegacyUser | undefined) =>
  Boolean(
    user &&
      (user.role === 'service_role' ||
        (user.claims.app_metadata as { role?: unknown } | undefined)?.role === 'ops'),
  )

// Setup hooks ------------------------------------------------------------------------------------

const HOUR = 3600_000
const DAY = 24 * HOUR

export const kst = (ms: number) => `${new Date(ms + 9 * HOUR).toISOString().slice(0, 19)}+09:00`

export function content(startMs: number, endMs: number, stock = 5): Record<string, unknown> {
  return {
    title: '패리티 펀딩',
    goalAmount: 10_000,
    startsAt: kst(startMs),
    endsAt: kst(endMs),
    tiers: [{ name: '앨범', price: 5_000, stock, deliveryMonth: '2099-12' }],
  }
}

function dbOf(services: Record<string, unknown>): Db {
  const db = services.db as Db | undefined
  if (!db) throw new Error('this setup hook needs the CI stand-ins (the database port)')
  return db
}

interface Seeded {
  campaignId: string
  tiers: Array<{ tierId: string }>
}

/** A campaign submitted by `creator`; `startMs` may be in the past (submitted back then). */
async function submit(db: Db, creator: string, startMs: number, endMs: number): Promise<Seeded> {
  return db.call<Seeded>('funding_campaign_submit', {
    p_creator_id: creator,
    p_campaign_id: null,
    p_content: content(startMs, endMs),
    p_now: new Date(startMs - HOUR).toISOString(),
  })
}

async function liveCampaign(db: Db, creator: string, startMs: number, endMs: number) {
  const c = await submit(db, creator, startMs, endMs)
  await db.call('funding_campaign_review', {
    p_actor: 'parity-ops',
    p_campaign_id: c.campaignId,
    p_decision: 'approve',
    p_now: new Date(startMs - HOUR).toISOString(),
  })
  await db.call('funding_campaign_go_live', {
    p_campaign_id: c.campaignId,
    p_now: new Date(startMs).toISOString(),
  })
  return c
}

export const fundingHooks: Record<string, ParityHook> = {
  async dates() {
    const now = Date.now()
    return { start: kst(now + HOUR), end: kst(now + 2 * DAY), past: kst(now - HOUR) }
  },
  async submittedCampaign({ services, vars }) {
    const now = Date.now()
    const c = await submit(dbOf(services), vars.userId as string, now + HOUR, now + 2 * DAY)
    return { campaignId: c.campaignId }
  },
  async approvedCampaign(ctx) {
    const { campaignId } = await (fundingHooks.submittedCampaign as ParityHook)(ctx)
    await dbOf(ctx.services).call('funding_campaign_review', {
      p_actor: 'parity-ops',
      p_campaign_id: campaignId,
      p_decision: 'approve',
    })
    return { campaignId: campaignId as string }
  },
  async othersRejectedCampaign({ services, vars }) {
    const db = dbOf(services)
    const now = Date.now()
    const c = await submit(db, vars.otherUserId as string, now + HOUR, now + 2 * DAY)
    await db.call('funding_campaign_review', {
      p_actor: 'parity-ops',
      p_campaign_id: c.campaignId,
      p_decision: 'reject',
      p_reason: '보완 필요',
    })
    return { campaignId: c.campaignId }
  },
  async liveCampaign({ services, vars }) {
    const now = Date.now()
    const c = await liveCampaign(dbOf(services), vars.otherUserId as string, now - HOUR, now + DAY)
    return { campaignId: c.campaignId, tierId: c.tiers[0]?.tierId as string }
  },
  async othersPledge(ctx) {
    const { campaignId, tierId } = await (fundingHooks.liveCampaign as ParityHook)(ctx)
    const pledge = await dbOf(ctx.services).call<{ pledgeId: string }>('funding_pledge_reserve', {
      p_fan_id: ctx.vars.otherUserId,
      p_campaign_id: campaignId,
      p_tier_id: tierId,
      p_quantity: 1,
    })
    return { pledgeId: pledge.pledgeId }
  },
  /** Live, its end passed: completing it ends and decides it (no pledges: failed). */
  async pastCampaign({ services, vars }) {
    const now = Date.now()
    const c = await liveCampaign(
      dbOf(services),
      vars.otherUserId as string,
      now - 2 * DAY,
      now - DAY,
    )
    return { campaignId: c.campaignId }
  },
}
