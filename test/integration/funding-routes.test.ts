import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FundingDeps } from '../../routes/funding/deps.js'
import { fundingClock } from '../../routes/funding/jobs.js'
import { runFundingWork, type WorkItem } from '../../routes/funding/work.js'
import { buildJobs } from '../../routes/jobs/registry.js'
import type { TossClient } from '../../routes/payments/toss/client.js'
import { loadConfig } from '../../src/config.js'
import { createLogger } from '../../src/observability/log.js'
import { startTossFake, type TossFake, webhookHeaders } from '../fakes/toss.js'
import { type Harness, postgresHarness } from './db-harness.js'
import {
  asOps,
  asService,
  asUser,
  buildFundingApp,
  CREATOR,
  campaignContent,
  type FundingApp,
  fan,
  fundingDepsFor,
  kst,
  OTHER_CREATOR,
  post,
  tossFor,
} from './funding-helper.js'

const logLines: string[] = []
const logger = createLogger({ level: 'debug', write: (line) => logLines.push(line) })
const bodies: string[] = []

const MINUTE = 60_000
const DAY = 24 * 3600_000
/** Tuesday 2030-03-05 09:00 KST. */
const BASE = Date.parse('2030-03-05T09:00:00+09:00')

interface Problem {
  code: string
  status: number
  detail: string
  state?: string
  errors?: Array<{ field: string }>
}

describe('funding on PostgreSQL with the Toss stand-in', () => {
  let h: Harness
  let toss: TossFake
  let client: TossClient
  let deps: FundingDeps
  let app: FundingApp
  let now = BASE
  const clock = () => now

  beforeAll(async () => {
    h = await postgresHarness()
    toss = await startTossFake()
    client = tossFor(toss)
    deps = fundingDepsFor(h.db, client, logger, clock)
    app = buildFundingApp(deps, client, bodies)
  })
  afterAll(async () => {
    await toss?.close()
    await h?.close()
  })

  const problem = async (res: Response): Promise<Problem> => {
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    return (await res.json()) as Problem
  }
  const count = async (sql: string, params: unknown[] = []) =>
    Number((await h.sql<{ n: string }>(`select count(*) as n from ${sql}`, params))[0]?.n)

  /** A campaign submitted by CREATOR at `now`, starting in 1 minute, ending `lengthMs` later. */
  async function submitted(overrides: Record<string, unknown> = {}, lengthMs = DAY) {
    const res = await post(
      app,
      '/studio',
      { campaign: campaignContent(now + MINUTE, now + MINUTE + lengthMs, overrides) },
      asUser(CREATOR),
    )
    expect(res.status).toBe(201)
    const campaign = (await res.json()) as {
      campaignId: string
      state: string
      tiers: Array<{ tierId: string; remaining: number }>
    }
    return {
      ...campaign,
      startMs: now + MINUTE,
      endMs: now + MINUTE + lengthMs,
    }
  }

  /** Submitted, approved, and live (the clock moved past its start). */
  async function live(overrides: Record<string, unknown> = {}, lengthMs = DAY) {
    const campaign = await submitted(overrides, lengthMs)
    const approved = await post(
      app,
      '/review',
      { action: 'approve', campaignId: campaign.campaignId },
      asOps,
    )
    expect(approved.status).toBe(200)
    now = campaign.startMs
    await h.db.call('funding_campaign_go_live', {
      p_campaign_id: campaign.campaignId,
      p_now: new Date(now).toISOString(),
    })
    return campaign
  }

  /** A pledge with a registered card (one request: reserve + issue). */
  async function pledgeWithCard(
    campaignId: string,
    tierId: string,
    fanId: string,
    quantity = 1,
    extraAmount = 0,
  ) {
    const customerKey = await customerKeyOf(fanId)
    const authKey = toss.billingAuth(customerKey)
    const res = await post(
      app,
      '/pledge',
      { campaignId, tierId, quantity, extraAmount, authKey },
      asUser(fanId),
    )
    expect(res.status).toBe(201)
    const pledge = (await res.json()) as { pledgeId: string; status: string; amount: number }
    expect(pledge.status).toBe('active')
    return { ...pledge, customerKey }
  }

  /** The fan's customerKey, created the way checkout creates it. */
  async function customerKeyOf(fanId: string): Promise<string> {
    await h.sql('insert into public.toss_customers (user_id) values ($1) on conflict do nothing', [
      fanId,
    ])
    const rows = await h.sql<{ customer_key: string }>(
      'select customer_key from public.toss_customers where user_id = $1',
      [fanId],
    )
    return rows[0]?.customer_key as string
  }

  describe('campaign state machine', () => {
    type State =
      | 'draft'
      | 'submitted'
      | 'approved'
      | 'rejected'
      | 'live'
      | 'ended'
      | 'succeeded'
      | 'failed'
      | 'cancelled'
    type Action = 'submit' | 'approve' | 'reject' | 'go-live' | 'end' | 'decide' | 'cancel'

    /** Drive a fresh campaign to `state`; the clock is left where the state was reached. */
    async function campaignIn(
      state: State,
    ): Promise<{ id: string; startMs: number; endMs: number }> {
      now = BASE
      if (state === 'draft') {
        const res = await post(
          app,
          '/studio',
          { action: 'save', campaign: campaignContent(now + MINUTE, now + DAY) },
          asUser(CREATOR),
        )
        const draft = (await res.json()) as { campaignId: string }
        return { id: draft.campaignId, startMs: now + MINUTE, endMs: now + DAY }
      }
      const c = await submitted()
      const ref = { id: c.campaignId, startMs: c.startMs, endMs: c.endMs }
      if (state === 'submitted') return ref
      if (state === 'rejected') {
        await post(
          app,
          '/review',
          { action: 'reject', campaignId: ref.id, reason: '사진 부족' },
          asOps,
        )
        return ref
      }
      if (state === 'cancelled') {
        await post(app, '/review', { action: 'cancel', campaignId: ref.id, reason: '중복' }, asOps)
        return ref
      }
      await post(app, '/review', { action: 'approve', campaignId: ref.id }, asOps)
      if (state === 'approved') return ref
      now = c.startMs
      await h.db.call('funding_campaign_go_live', { p_campaign_id: ref.id, p_now: kst(now) })
      if (state === 'live') return ref
      if (state === 'succeeded') {
        // Goal 10,000: two albums at 5,000 reach it.
        await pledgeWithCard(ref.id, c.tiers[0]?.tierId as string, fan(900_001), 2)
      }
      now = c.endMs
      await h.db.call('funding_campaign_end', { p_campaign_id: ref.id, p_now: kst(now) })
      if (state === 'ended') return ref
      await h.db.call('funding_campaign_decide', {
        p_actor: 'system',
        p_campaign_id: ref.id,
        p_now: kst(now),
      })
      return ref
    }

    /** Perform `action` the way its actor does; returns the response or the SQL error. */
    async function perform(action: Action, ref: { id: string; startMs: number; endMs: number }) {
      const sys = async (fn: string, args: Record<string, unknown>) => {
        try {
          await h.db.call(fn, args)
          return { ok: true as const }
        } catch (error) {
          return { ok: false as const, error: error as { code: string; detail: string } }
        }
      }
      switch (action) {
        case 'submit': {
          const res = await post(
            app,
            '/studio',
            { action: 'submit', campaignId: ref.id },
            asUser(CREATOR),
          )
          return res.status === 200 ? { ok: true as const } : { ok: false as const, res }
        }
        case 'approve':
        case 'reject':
        case 'cancel': {
          const res = await post(
            app,
            '/review',
            { action, campaignId: ref.id, reason: action === 'approve' ? undefined : '사유' },
            asOps,
          )
          return res.status === 200 ? { ok: true as const } : { ok: false as const, res }
        }
        case 'go-live':
          return sys('funding_campaign_go_live', {
            p_campaign_id: ref.id,
            p_now: kst(Math.max(now, ref.startMs)),
          })
        case 'end':
          return sys('funding_campaign_end', {
            p_campaign_id: ref.id,
            p_now: kst(Math.max(now, ref.endMs)),
          })
        case 'decide':
          return sys('funding_campaign_decide', {
            p_actor: 'system',
            p_campaign_id: ref.id,
            p_now: kst(now),
          })
      }
    }

    const TO: Record<Action, Partial<Record<State, State>>> = {
      submit: { draft: 'submitted', rejected: 'submitted' },
      approve: { submitted: 'approved' },
      reject: { submitted: 'rejected' },
      'go-live': { approved: 'live' },
      end: { live: 'ended' },
      decide: { ended: 'failed' },
      cancel: {
        draft: 'cancelled',
        submitted: 'cancelled',
        approved: 'cancelled',
        rejected: 'cancelled',
        live: 'cancelled',
      },
    }
    const STATES: State[] = [
      'draft',
      'submitted',
      'approved',
      'rejected',
      'live',
      'ended',
      'succeeded',
      'failed',
      'cancelled',
    ]

    for (const action of Object.keys(TO) as Action[]) {
      it(`${action}: allowed exactly from ${Object.keys(TO[action]).join(', ')}, recorded; 409 naming the state otherwise`, async () => {
        for (const state of STATES) {
          const ref = await campaignIn(state)
          const before = await count('public.funding_campaign_transitions where campaign_id = $1', [
            ref.id,
          ])
          const result = await perform(action, ref)
          const after = (
            await h.sql<{ state: string }>(
              'select state from public.funding_campaigns where id = $1',
              [ref.id],
            )
          )[0]?.state
          const expected = TO[action][state]
          // Deciding a decided campaign is a harmless repeat, not an error.
          if (action === 'decide' && (state === 'succeeded' || state === 'failed')) {
            expect(result.ok, `${action} from ${state}`).toBe(true)
            expect(after).toBe(state)
            continue
          }
          if (expected) {
            expect(result.ok, `${action} from ${state}`).toBe(true)
            expect(after, `${action} from ${state}`).toBe(expected)
            const last = (
              await h.sql<{
                from_state: string
                to_state: string
                actor: string
                actor_role: string
              }>(
                'select from_state, to_state, actor, actor_role from public.funding_campaign_transitions where campaign_id = $1 order by id desc limit 1',
                [ref.id],
              )
            )[0]
            expect(last).toMatchObject({ from_state: state, to_state: expected })
          } else {
            expect(result.ok, `${action} from ${state} must be refused`).toBe(false)
            expect(after, `${action} from ${state} must not move`).toBe(state)
            expect(
              await count('public.funding_campaign_transitions where campaign_id = $1', [ref.id]),
            ).toBe(before)
            if ('res' in result && result.res) {
              expect(result.res.status).toBe(409)
              const p = await problem(result.res)
              expect(p.code).toBe('invalid-transition')
              expect(p.state).toBe(state)
              expect(p.detail).toContain(state)
            } else if ('error' in result && result.error) {
              expect(result.error.code).toBe('invalid-transition')
              expect(result.error.detail.startsWith(state)).toBe(true)
            }
          }
        }
      })
    }

    it('does not go live before its start, nor end before its end', async () => {
      const ref = await campaignIn('approved')
      await expect(
        h.db.call('funding_campaign_go_live', {
          p_campaign_id: ref.id,
          p_now: kst(ref.startMs - 1000),
        }),
      ).rejects.toMatchObject({ code: 'invalid-transition' })
      await h.db.call('funding_campaign_go_live', {
        p_campaign_id: ref.id,
        p_now: kst(ref.startMs),
      })
      await expect(
        h.db.call('funding_campaign_end', { p_campaign_id: ref.id, p_now: kst(ref.endMs - 1000) }),
      ).rejects.toMatchObject({ code: 'invalid-transition' })
    })

    it('the clock moves campaigns live and ended at their times and decides them', async () => {
      now = BASE
      const c = await submitted()
      await post(app, '/review', { action: 'approve', campaignId: c.campaignId }, asOps)
      now = c.startMs
      await fundingClock(deps)
      expect(
        (
          await h.sql('select state from public.funding_campaigns where id = $1', [c.campaignId])
        )[0],
      ).toEqual({ state: 'live' })
      now = c.endMs
      const tick = await fundingClock(deps)
      expect(tick.decided).toContainEqual({ campaignId: c.campaignId, state: 'failed' })
    })

    it('resubmission after a rejection keeps the whole history, with who, when and why', async () => {
      now = BASE
      const c = await submitted()
      await post(
        app,
        '/review',
        { action: 'reject', campaignId: c.campaignId, reason: '리워드 설명 부족' },
        asOps,
      )
      const fixed = await post(
        app,
        '/studio',
        {
          action: 'submit',
          campaignId: c.campaignId,
          campaign: campaignContent(c.startMs, c.endMs, { title: '수정한 제목' }),
        },
        asUser(CREATOR),
      )
      expect(fixed.status).toBe(200)
      expect(await fixed.json()).toMatchObject({ state: 'submitted', title: '수정한 제목' })
      const res = await post(
        app,
        '/studio',
        { action: 'get', campaignId: c.campaignId },
        asUser(CREATOR),
      )
      const view = (await res.json()) as { history: Array<Record<string, unknown>> }
      expect(view.history.map((t) => `${t.from}->${t.to}`)).toEqual([
        'null->draft',
        'draft->submitted',
        'submitted->rejected',
        'rejected->submitted',
      ])
      expect(view.history[2]).toMatchObject({
        actor: OPS_ID,
        actorRole: 'ops',
        reason: '리워드 설명 부족',
      })
      expect(view.history[1]).toMatchObject({ actor: CREATOR, actorRole: 'creator' })
      const snapshots = await h.sql<{ title: string }>(
        `select snapshot->>'title' as title from public.funding_campaign_transitions
         where campaign_id = $1 and to_state = 'submitted' order by id`,
        [c.campaignId],
      )
      expect(snapshots.map((s) => s.title)).toEqual(['한정판 앨범 펀딩', '수정한 제목'])
    })
  })

  describe('permissions', () => {
    it('a creator touches only their own campaigns; only ops review', async () => {
      now = BASE
      const c = await submitted()
      await post(app, '/review', { action: 'reject', campaignId: c.campaignId, reason: 'x' }, asOps)
      const other = await post(
        app,
        '/studio',
        { action: 'submit', campaignId: c.campaignId },
        asUser(OTHER_CREATOR),
      )
      expect(other.status).toBe(403)
      expect((await problem(other)).code).toBe('not-campaign-owner')
      const peek = await post(
        app,
        '/studio',
        { action: 'get', campaignId: c.campaignId },
        asUser(OTHER_CREATOR),
      )
      expect(peek.status).toBe(403)
      const notOps = await post(
        app,
        '/review',
        { action: 'approve', campaignId: c.campaignId },
        asUser(CREATOR),
      )
      expect(notOps.status).toBe(403)
      expect((await problem(notOps)).code).toBe('ops-only')
      const state = await h.sql('select state from public.funding_campaigns where id = $1', [
        c.campaignId,
      ])
      expect(state[0]).toEqual({ state: 'rejected' })
    })

    it('a fan sees and changes only their own pledges', async () => {
      const c = await live()
      const tierId = c.tiers[0]?.tierId as string
      const mine = await pledgeWithCard(c.campaignId, tierId, fan(1))
      for (const action of ['get', 'change', 'cancel']) {
        const res = await post(
          app,
          '/pledge',
          { action, pledgeId: mine.pledgeId, quantity: 3 },
          asUser(fan(2)),
        )
        expect(res.status, action).toBe(404)
        expect((await problem(res)).code).toBe('pledge-not-found')
      }
      const row = await h.sql('select quantity, status from public.funding_pledges where id = $1', [
        mine.pledgeId,
      ])
      expect(row[0]).toEqual({ quantity: 1, status: 'active' })
    })
  })

  describe('bad input: 4xx naming the field, nothing written', () => {
    const tables = [
      'public.funding_campaigns',
      'public.funding_tiers',
      'public.funding_campaign_transitions',
      'public.funding_pledges',
      'public.funding_billing_keys',
    ]
    const snapshot = async () => Promise.all(tables.map((t) => count(t)))

    it('studio', async () => {
      now = BASE
      const cases: Array<[Record<string, unknown>, string]> = [
        [
          { campaign: campaignContent(now + MINUTE, now + DAY, { goalAmount: 10.5 }) },
          'campaign.goalAmount',
        ],
        [{ campaign: campaignContent(now + MINUTE, now + DAY, { title: '' }) }, 'campaign.title'],
        [{ campaign: campaignContent(now - MINUTE, now + DAY) }, 'campaign.startsAt'],
        [{ campaign: campaignContent(now + DAY, now + MINUTE) }, 'campaign.endsAt'],
        [
          {
            campaign: { ...campaignContent(now + MINUTE, now + DAY), startsAt: '2030-13-01T10:00' },
          },
          'campaign.startsAt',
        ],
        [
          {
            campaign: campaignContent(now + MINUTE, now + DAY, {
              tiers: [{ name: 'x', price: 50, stock: 1, deliveryMonth: '2031-01' }],
            }),
          },
          'campaign.tiers.0.price',
        ],
        [
          {
            campaign: campaignContent(now + MINUTE, now + DAY, {
              tiers: [{ name: 'x', price: 500, stock: 0, deliveryMonth: '2031-01' }],
            }),
          },
          'campaign.tiers.0.stock',
        ],
        [
          {
            campaign: campaignContent(now + MINUTE, now + DAY, {
              tiers: [{ name: 'x', price: 500, stock: 1, deliveryMonth: '2029-01' }],
            }),
          },
          'campaign.tiers.0.deliveryMonth',
        ],
        [{ campaign: campaignContent(now + MINUTE, now + DAY, { tiers: [] }) }, 'campaign.tiers'],
        [{ action: 'submit' }, 'campaign'],
        [{ action: 'publish' }, 'action'],
        [{ campaignId: 'nope', action: 'get' }, 'campaignId'],
      ]
      const before = await snapshot()
      for (const [body, field] of cases) {
        const res = await post(app, '/studio', body, asUser(CREATOR))
        expect(res.status, JSON.stringify(body)).toBeGreaterThanOrEqual(400)
        expect(res.status).toBeLessThan(500)
        const p = await problem(res)
        expect(
          p.errors?.map((e) => e.field),
          JSON.stringify(body),
        ).toContain(field)
      }
      const notJson = await post(app, '/studio', '{', asUser(CREATOR))
      expect(notJson.status).toBe(400)
      expect(await snapshot()).toEqual(before)
    })

    it('review and pledge', async () => {
      const c = await live()
      const tierId = c.tiers[0]?.tierId as string
      const before = await snapshot()
      const review: Array<[Record<string, unknown>, string]> = [
        [{ action: 'reject', campaignId: c.campaignId }, 'reason'],
        [{ action: 'cancel', campaignId: c.campaignId, reason: '' }, 'reason'],
        [{ action: 'approve', campaignId: 'x' }, 'campaignId'],
        [{ action: 'launch', campaignId: c.campaignId }, 'action'],
      ]
      for (const [body, field] of review) {
        const res = await post(app, '/review', body, asOps)
        expect(res.status, JSON.stringify(body)).toBe(422)
        expect((await problem(res)).errors?.map((e) => e.field)).toContain(field)
      }
      const pledge: Array<[Record<string, unknown>, string, number]> = [
        [{ campaignId: c.campaignId, tierId, quantity: 0 }, 'quantity', 422],
        [{ campaignId: c.campaignId, tierId, quantity: 1.5 }, 'quantity', 422],
        [{ campaignId: c.campaignId, tierId, quantity: 1, extraAmount: -1 }, 'extraAmount', 422],
        [{ campaignId: c.campaignId, quantity: 1 }, 'tierId', 422],
        [{ campaignId: c.campaignId, tierId: c.campaignId, quantity: 1 }, 'tierId', 404],
        [{ action: 'register-card', pledgeId: c.campaignId }, 'authKey', 422],
        [{ action: 'change', pledgeId: c.campaignId }, 'quantity', 422],
        [{ campaignId: c.campaignId, tierId, quantity: 1, authKey: 'has space' }, 'authKey', 422],
      ]
      for (const [body, field, status] of pledge) {
        const res = await post(app, '/pledge', body, asUser(fan(50)))
        expect(res.status, JSON.stringify(body)).toBe(status)
        expect((await problem(res)).errors?.map((e) => e.field)).toContain(field)
      }
      expect(await snapshot()).toEqual(before)
      expect(
        (await h.sql('select remaining from public.funding_tiers where id = $1', [tierId]))[0],
      ).toEqual({
        remaining: 100,
      })
    })

    it('an authKey Toss refuses gives the held stock back', async () => {
      const c = await live()
      const tierId = c.tiers[1]?.tierId as string
      const wrongCustomer = toss.billingAuth('ck_someone_else')
      const res = await post(
        app,
        '/pledge',
        { campaignId: c.campaignId, tierId, quantity: 2, authKey: wrongCustomer },
        asUser(fan(60)),
      )
      expect(res.status).toBe(422)
      const p = await problem(res)
      expect(p.code).toBe('card-not-registered')
      expect(p.errors?.[0]?.field).toBe('authKey')
      const transfer = toss.billingAuth(await customerKeyOf(fan(61)), { method: 'TRANSFER' })
      const unsupported = await post(
        app,
        '/pledge',
        { campaignId: c.campaignId, tierId, quantity: 1, authKey: transfer },
        asUser(fan(61)),
      )
      expect(unsupported.status).toBe(422)
      expect((await problem(unsupported)).code).toBe('payment-method-not-supported')
      expect(
        (await h.sql('select remaining from public.funding_tiers where id = $1', [tierId]))[0],
      ).toEqual({
        remaining: 10,
      })
      expect(
        await count(
          `public.funding_pledges where tier_id = $1 and status in ('pending', 'active')`,
          [tierId],
        ),
      ).toBe(0)
    })
  })

  describe('pledges', () => {
    it('100 concurrent pledges for the last 10 units: exactly 10 succeed, the rest are sold-out', async () => {
      const c = await live({
        tiers: [{ name: '한정', price: 30_000, stock: 12, deliveryMonth: '2031-01' }],
      })
      const tierId = c.tiers[0]?.tierId as string
      await pledgeWithCard(c.campaignId, tierId, fan(1000), 2)
      const results = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          post(
            app,
            '/pledge',
            { campaignId: c.campaignId, tierId, quantity: 1 },
            asUser(fan(1100 + i)),
          ),
        ),
      )
      const statuses = results.map((r) => r.status)
      expect(statuses.filter((s) => s === 201)).toHaveLength(10)
      expect(statuses.filter((s) => s === 409)).toHaveLength(90)
      for (const res of results.filter((r) => r.status === 409)) {
        expect((await problem(res)).code).toBe('sold-out')
      }
      const tier = await h.sql<{ remaining: number }>(
        'select remaining from public.funding_tiers where id = $1',
        [tierId],
      )
      expect(tier[0]?.remaining).toBe(0)
      expect(
        await count(
          `public.funding_pledges where tier_id = $1 and status in ('pending','active')`,
          [tierId],
        ),
      ).toBe(11)
    })

    it('amounts come from the database; one live pledge per fan per tier; change and cancel until the end', async () => {
      const c = await live()
      const tierId = c.tiers[0]?.tierId as string
      const res = await post(
        app,
        '/pledge',
        { campaignId: c.campaignId, tierId, quantity: 2, extraAmount: 1000, amount: 1 },
        asUser(fan(70)),
      )
      expect(res.status).toBe(201)
      const pledge = (await res.json()) as {
        pledgeId: string
        amount: number
        status: string
        customerKey: string
      }
      expect(pledge).toMatchObject({ amount: 11_000, status: 'pending' })
      const again = await post(
        app,
        '/pledge',
        { campaignId: c.campaignId, tierId, quantity: 1 },
        asUser(fan(70)),
      )
      expect(again.status).toBe(409)
      expect((await problem(again)).code).toBe('already-pledged')

      const registered = await post(
        app,
        '/pledge',
        {
          action: 'register-card',
          pledgeId: pledge.pledgeId,
          authKey: toss.billingAuth(pledge.customerKey),
        },
        asUser(fan(70)),
      )
      expect(registered.status).toBe(200)
      expect(await registered.json()).toMatchObject({
        status: 'active',
        card: { number: '43301234****123*' },
      })

      const changed = await post(
        app,
        '/pledge',
        { action: 'change', pledgeId: pledge.pledgeId, quantity: 3 },
        asUser(fan(70)),
      )
      expect(await changed.json()).toMatchObject({ quantity: 3, extraAmount: 1000, amount: 16_000 })
      const tier = async () =>
        (
          await h.sql<{ remaining: number }>(
            'select remaining from public.funding_tiers where id = $1',
            [tierId],
          )
        )[0]?.remaining
      expect(await tier()).toBe(97)
      const cancelled = await post(
        app,
        '/pledge',
        { action: 'cancel', pledgeId: pledge.pledgeId },
        asUser(fan(70)),
      )
      expect(await cancelled.json()).toMatchObject({ status: 'cancelled' })
      expect(await tier()).toBe(100)
      // The card of a cancelled pledge is deleted at Toss by the workers.
      await runFundingWork(deps, { owner: 'test', campaignId: c.campaignId })
      expect(toss.deletedBillingKeys.size).toBeGreaterThan(0)
      const key = await h.sql(
        'select billing_key, deleted_at is not null as deleted from public.funding_billing_keys where pledge_id = $1',
        [pledge.pledgeId],
      )
      expect(key[0]).toEqual({ billing_key: null, deleted: true })

      // After the end nothing changes any more.
      const second = await pledgeWithCard(c.campaignId, tierId, fan(71))
      now = c.endMs
      const late = await post(
        app,
        '/pledge',
        { action: 'cancel', pledgeId: second.pledgeId },
        asUser(fan(71)),
      )
      expect(late.status).toBe(409)
      expect(await problem(late)).toMatchObject({ code: 'campaign-not-open', state: 'ended' })
    })
  })

  describe('completion', () => {
    const chargedOrders = async (campaignId: string) =>
      h.sql<{ order_id: string }>(
        `select a.order_id from public.funding_charge_attempts a join public.funding_pledges p on p.id = a.pledge_id
         where p.campaign_id = $1 and a.status = 'done'`,
        [campaignId],
      )

    it('success charges every pledge once, records orders and payments, deletes the cards; a repeat charges nobody', async () => {
      const c = await live()
      const tierId = c.tiers[0]?.tierId as string
      for (let i = 0; i < 12; i++)
        await pledgeWithCard(c.campaignId, tierId, fan(2000 + i), 1, i * 100)
      const chargesBefore = toss.chargeCount
      now = c.endMs
      const res = await post(app, '/complete', { campaignId: c.campaignId }, asService)
      expect(res.status).toBe(200)
      expect(await res.json()).toMatchObject({
        state: 'succeeded',
        charged: 12,
        remaining: 0,
        failed: 0,
      })
      expect(toss.chargeCount - chargesBefore).toBe(12)
      const orders = await chargedOrders(c.campaignId)
      expect(orders).toHaveLength(12)
      for (const { order_id } of orders) expect(toss.chargesByOrder.get(order_id)).toBe(1)
      const paid = await h.sql<{ n: string; total: string }>(
        `select count(*) as n, sum(p.total_amount) as total from public.payments p join public.orders o on o.id = p.order_id
         where o.toss_order_id = any($1) and p.status = 'DONE'`,
        [orders.map((o) => o.order_id)],
      )
      expect(paid[0]).toEqual({ n: '12', total: String(12 * 5000 + 6600) })
      expect(
        await count(
          `public.funding_billing_keys k join public.funding_pledges p on p.id = k.pledge_id
        where p.campaign_id = $1 and k.billing_key is not null`,
          [c.campaignId],
        ),
      ).toBe(0)

      const again = await post(app, '/complete', { campaignId: c.campaignId }, asService)
      expect(again.status).toBe(200)
      expect(toss.chargeCount - chargesBefore).toBe(12)
    })

    it('failure releases every pledge and deletes its card, charging nobody', async () => {
      const c = await live({ goalAmount: 1_000_000 })
      const tierId = c.tiers[1]?.tierId as string
      for (let i = 0; i < 3; i++) await pledgeWithCard(c.campaignId, tierId, fan(3000 + i), 2)
      const deletedBefore = toss.deletedBillingKeys.size
      const chargesBefore = toss.chargeCount
      now = c.endMs
      const res = await post(app, '/complete', { campaignId: c.campaignId }, asService)
      expect(res.status).toBe(200)
      expect(await res.json()).toMatchObject({ state: 'failed', released: 3, charged: 0 })
      expect(toss.chargeCount).toBe(chargesBefore)
      expect(toss.deletedBillingKeys.size - deletedBefore).toBe(3)
      expect(
        (await h.sql('select remaining from public.funding_tiers where id = $1', [tierId]))[0],
      ).toEqual({ remaining: 10 })
    })

    it('declines are retried on the next business days at 17:00 KST, then the pledge is cancelled and its stock released', async () => {
      const c = await live()
      const tierId = c.tiers[1]?.tierId as string
      const ok = await pledgeWithCard(c.campaignId, tierId, fan(4000))
      const flaky = await pledgeWithCard(c.campaignId, tierId, fan(4001))
      const broken = await pledgeWithCard(c.campaignId, tierId, fan(4002), 3)
      toss.failCharges(flaky.customerKey, ['INVALID_REJECT_CARD', 'PROVIDER_ERROR'])
      toss.failCharges(broken.customerKey, [
        'INVALID_STOPPED_CARD',
        'INVALID_STOPPED_CARD',
        'INVALID_CARD_EXPIRATION',
        'INVALID_STOPPED_CARD',
        'INVALID_STOPPED_CARD',
      ])
      // Ends Friday 2030-03-08 at 10:00 KST.
      now = Date.parse('2030-03-08T10:00:00+09:00')
      await h.sql('update public.funding_campaigns set ends_at = $2 where id = $1', [
        c.campaignId,
        kst(now - MINUTE),
      ])
      const first = await post(app, '/complete', { campaignId: c.campaignId }, asService)
      expect(first.status).toBe(202)
      expect(await first.json()).toMatchObject({
        charged: 1,
        retrying: 2,
        remaining: 2,
        nextAttemptAt: '2030-03-11T17:00:00+09:00',
      })

      const status = async (pledgeId: string) =>
        (
          await h.sql<{ status: string; attempt: number }>(
            'select status, attempt from public.funding_pledges where id = $1',
            [pledgeId],
          )
        )[0]
      // Before the retry time nothing is due.
      now = Date.parse('2030-03-11T16:59:00+09:00')
      expect(
        (await runFundingWork(deps, { owner: 'early', campaignId: c.campaignId })).claimed,
      ).toBe(0)
      const retryDays = ['2030-03-11', '2030-03-12', '2030-03-13', '2030-03-14']
      for (const day of retryDays) {
        now = Date.parse(`${day}T17:00:00+09:00`)
        await runFundingWork(deps, { owner: `retry-${day}`, campaignId: c.campaignId })
      }
      expect(await status(ok.pledgeId)).toEqual({ status: 'charged', attempt: 1 })
      expect(await status(flaky.pledgeId)).toEqual({ status: 'charged', attempt: 3 })
      expect(await status(broken.pledgeId)).toEqual({ status: 'charge-failed', attempt: 5 })
      const attempts = await h.sql<{ attempt: number; at: string }>(
        `select attempt, to_char(created_at at time zone 'Asia/Seoul', 'YYYY-MM-DD HH24:MI') as at
         from public.funding_charge_attempts where pledge_id = $1 order by attempt`,
        [broken.pledgeId],
      )
      expect(attempts.map((a) => a.at)).toEqual([
        '2030-03-08 10:00',
        '2030-03-11 17:00',
        '2030-03-12 17:00',
        '2030-03-13 17:00',
        '2030-03-14 17:00',
      ])
      expect(
        (await h.sql('select remaining from public.funding_tiers where id = $1', [tierId]))[0],
      ).toEqual({ remaining: 8 })
      const progress = await post(
        app,
        '/review',
        { action: 'progress', campaignId: c.campaignId },
        asOps,
      )
      expect(await progress.json()).toMatchObject({
        charged: 2,
        failed: 1,
        remaining: 0,
        retrying: 0,
      })
    })

    it('an interrupted run is resumed by another instance after its lease, and nobody is charged twice', async () => {
      const c = await live()
      const tierId = c.tiers[0]?.tierId as string
      for (let i = 0; i < 30; i++) await pledgeWithCard(c.campaignId, tierId, fan(5000 + i))
      now = c.endMs
      await h.db.call('funding_campaign_decide', {
        p_actor: 'system',
        p_campaign_id: c.campaignId,
        p_now: kst(now),
      })
      // Instance A claims a batch, sends half of it to Toss, and dies before recording anything.
      const batch = await h.db.call<WorkItem[]>('funding_work_claim', {
        p_owner: 'instance-a',
        p_limit: 20,
        p_lease_seconds: 60,
        p_campaign_id: c.campaignId,
        p_now: kst(now),
      })
      expect(batch).toHaveLength(20)
      for (const item of batch.slice(0, 10)) {
        const outcome = await deps.method.charge({
          billingKey: item.billingKey as string,
          customerKey: item.customerKey as string,
          amount: item.amount,
          orderId: item.orderId,
          orderName: item.orderName,
          idempotencyKey: item.idempotencyKey,
        })
        expect(outcome.kind).toBe('done')
      }
      // Instance B, during A's lease: only the unclaimed 10.
      const during = await runFundingWork(deps, { owner: 'instance-b', campaignId: c.campaignId })
      expect(during.charged).toBe(10)
      // After the lease: A's 20, half of them already charged at Toss, found by order id.
      now += 61_000
      const after = await runFundingWork(deps, { owner: 'instance-b', campaignId: c.campaignId })
      expect(after.charged).toBe(20)
      const orders = await chargedOrders(c.campaignId)
      expect(orders).toHaveLength(30)
      for (const { order_id } of orders) expect(toss.chargesByOrder.get(order_id)).toBe(1)
      const lookups = toss.requests.filter((r) => r.path.startsWith('/v1/payments/orders/'))
      expect(lookups.length).toBeGreaterThanOrEqual(20)
    })

    it('two instances share one run without charging anyone twice', async () => {
      const c = await live()
      const tierId = c.tiers[0]?.tierId as string
      for (let i = 0; i < 60; i++) await pledgeWithCard(c.campaignId, tierId, fan(6000 + i))
      now = c.endMs
      await h.db.call('funding_campaign_decide', {
        p_actor: 'system',
        p_campaign_id: c.campaignId,
        p_now: kst(now),
      })
      const [a, b] = await Promise.all([
        runFundingWork(deps, {
          owner: 'a',
          campaignId: c.campaignId,
          options: { batchSize: 5, concurrency: 4 },
        }),
        runFundingWork(deps, {
          owner: 'b',
          campaignId: c.campaignId,
          options: { batchSize: 5, concurrency: 4 },
        }),
      ])
      expect(a.charged + b.charged).toBe(60)
      expect(a.charged).toBeGreaterThan(0)
      expect(b.charged).toBeGreaterThan(0)
      const orders = await chargedOrders(c.campaignId)
      expect(orders).toHaveLength(60)
      for (const { order_id } of orders) expect(toss.chargesByOrder.get(order_id)).toBe(1)
    })

    it('a charge whose answer was lost is reconciled by order id, not charged again', async () => {
      const c = await live()
      const tierId = c.tiers[0]?.tierId as string
      const p = await pledgeWithCard(c.campaignId, tierId, fan(7000), 2)
      now = c.endMs
      toss.dropChargeAnswers(1)
      const first = await post(app, '/complete', { campaignId: c.campaignId }, asService)
      expect(first.status).toBe(202)
      expect(await first.json()).toMatchObject({ charged: 0, remaining: 1 })
      const order = `fc_${p.pledgeId.replaceAll('-', '')}_1`
      expect(toss.chargesByOrder.get(order)).toBe(1)
      now += 61_000
      const second = await post(app, '/complete', { campaignId: c.campaignId }, asService)
      expect(second.status).toBe(200)
      expect(await second.json()).toMatchObject({ charged: 1, remaining: 0 })
      expect(toss.chargesByOrder.get(order)).toBe(1)
    })
  })

  describe('funding-payment-webhook', () => {
    it('BILLING_DELETED is deduplicated before anything else, and an unknown key changes nothing', async () => {
      const c = await live()
      const p = await pledgeWithCard(c.campaignId, c.tiers[0]?.tierId as string, fan(8000))
      const key = (
        await h.sql<{ billing_key: string }>(
          'select billing_key from public.funding_billing_keys where pledge_id = $1',
          [p.pledgeId],
        )
      )[0]?.billing_key as string
      const headers = webhookHeaders()
      const event = {
        eventType: 'BILLING_DELETED',
        createdAt: kst(now),
        data: { billingKey: key, reason: 'USER_REQUEST' },
      }
      const first = await post(app, '/webhook', event, headers)
      expect(await first.json()).toEqual({ ok: true, outcome: 'applied' })
      const requests = toss.requests.length
      const second = await post(app, '/webhook', event, headers)
      expect(await second.json()).toEqual({ ok: true, outcome: 'duplicate' })
      expect(toss.requests.length).toBe(requests)
      const row = await h.sql(
        'select billing_key, delete_reason from public.funding_billing_keys where pledge_id = $1',
        [p.pledgeId],
      )
      expect(row[0]).toEqual({ billing_key: null, delete_reason: 'USER_REQUEST' })
      const unknown = await post(
        app,
        '/webhook',
        { ...event, data: { billingKey: 'bk_not_ours' } },
        webhookHeaders(),
      )
      expect(await unknown.json()).toEqual({ ok: true, outcome: 'unknown-key' })
      const bad = await post(
        app,
        '/webhook',
        { eventType: 'BILLING_DELETED', data: {} },
        webhookHeaders(),
      )
      expect(bad.status).toBe(422)
      expect((await problem(bad)).errors?.[0]?.field).toBe('data.billingKey')
    })

    it('a duplicate PAYMENT_STATUS_CHANGED never reaches Toss; a refund of a funding charge goes through refund-process', async () => {
      const c = await live()
      const p = await pledgeWithCard(c.campaignId, c.tiers[0]?.tierId as string, fan(8100), 2)
      now = c.endMs
      expect((await post(app, '/complete', { campaignId: c.campaignId }, asService)).status).toBe(
        200,
      )
      const paymentKey = (
        await h.sql<{ payment_key: string }>(
          `select payment_key from public.funding_charge_attempts where pledge_id = $1 and status = 'done'`,
          [p.pledgeId],
        )
      )[0]?.payment_key as string
      now = Date.now()
      const refund = await post(
        app,
        '/refund',
        { paymentKey, cancelReason: '리워드 취소', cancelAmount: 4000 },
        asUser(fan(8100)),
      )
      expect(refund.status).toBe(200)
      expect(await refund.json()).toMatchObject({ status: 'done', balanceAmount: 6000 })
      // Both reach the sales source settlement reads, for the campaign's creator.
      const sales = await h.sql<{
        creator_id: string
        source: string
        kind: string
        amount_krw: string
      }>(
        `select creator_id, source, kind, amount_krw from public.settlement_sales
         where entry_id like $1 or entry_id in (
           select 'refund:' || r.id || ':0' from public.refunds r where r.payment_key = $2)
         order by kind desc`,
        [`sale:${paymentKey}:%`, paymentKey],
      )
      expect(sales).toEqual([
        { creator_id: CREATOR, source: 'funding', kind: 'sale', amount_krw: '10000' },
        { creator_id: CREATOR, source: 'funding', kind: 'refund', amount_krw: '4000' },
      ])

      const payment = toss.payment(paymentKey)
      const headers = webhookHeaders()
      const event = {
        eventType: 'PAYMENT_STATUS_CHANGED',
        createdAt: kst(Date.now()),
        data: payment,
      }
      const first = await post(app, '/webhook', event, headers)
      expect(first.status).toBe(200)
      const fetches = toss.requests.filter((r) => r.method === 'GET').length
      const second = await post(app, '/webhook', event, headers)
      expect(await second.json()).toEqual({ ok: true, outcome: 'duplicate' })
      expect(toss.requests.filter((r) => r.method === 'GET').length).toBe(fetches)
    })

    it('settles a charge whose answer was lost from the Toss record', async () => {
      const c = await live()
      const p = await pledgeWithCard(c.campaignId, c.tiers[0]?.tierId as string, fan(8200), 2)
      now = c.endMs
      toss.dropChargeAnswers(1)
      expect((await post(app, '/complete', { campaignId: c.campaignId }, asService)).status).toBe(
        202,
      )
      const order = `fc_${p.pledgeId.replaceAll('-', '')}_1`
      expect(toss.chargesByOrder.get(order)).toBe(1)
      // What Toss would send: its own record of the payment.
      const payment = await client.getPaymentByOrderId(order)
      const res = await post(
        app,
        '/webhook',
        { eventType: 'PAYMENT_STATUS_CHANGED', createdAt: kst(Date.now()), data: payment },
        webhookHeaders(),
      )
      expect(await res.json()).toEqual({ ok: true, outcome: 'charge-reconciled' })
      expect(
        (await h.sql('select status from public.funding_pledges where id = $1', [p.pledgeId]))[0],
      ).toEqual({ status: 'charged' })
      expect(toss.chargesByOrder.get(order)).toBe(1)
    })
  })

  describe('scheduled jobs', () => {
    it('funding-clock and funding-charges are registered and close a campaign end to end', async () => {
      const c = await live()
      const tierId = c.tiers[0]?.tierId as string
      for (let i = 0; i < 3; i++) await pledgeWithCard(c.campaignId, tierId, fan(9000 + i), 2)
      const config = loadConfig({ TOSS_SECRET_KEY: toss.secretKey, TOSS_API_URL: toss.url })
      const jobs = buildJobs({ config, logger, db: h.db })
      const byName = new Map(jobs.map((j) => [j.name, j]))
      expect([...byName.keys()]).toEqual(
        expect.arrayContaining(['funding-clock', 'funding-charges']),
      )
      now = c.endMs
      const ctx = {
        db: h.db,
        logger,
        now: () => now,
        shouldStop: () => false,
        signal: new AbortController().signal,
        state: {},
        saveState: () => {},
        trigger: 'cron',
      }
      const clockCounts = await byName.get('funding-clock')?.run(ctx)
      expect(clockCounts).toMatchObject({ ended: 1 })
      // The job takes every campaign's due work (other tests' leftovers too), this one's included.
      const charges = await byName.get('funding-charges')?.run(ctx)
      expect(charges?.charged).toBe(3)
      expect(charges?.keysDeleted).toBeGreaterThanOrEqual(3)
      const progress = await h.db.call('funding_campaign_progress', { p_campaign_id: c.campaignId })
      expect(progress).toMatchObject({
        state: 'succeeded',
        charged: 3,
        remaining: 0,
        cardsToDelete: 0,
      })
    })
  })

  it('no billing key appears in any response or log line', () => {
    expect(toss.issuedBillingKeys.length).toBeGreaterThan(100)
    const text = `${bodies.join('\n')}\n${logLines.join('\n')}`
    expect(bodies.length).toBeGreaterThan(100)
    expect(logLines.length).toBeGreaterThan(100)
    for (const key of toss.issuedBillingKeys) expect(text.includes(key), key).toBe(false)
  })
})

const OPS_ID = '3c3c3c3c-3333-4333-8333-333333333333'
