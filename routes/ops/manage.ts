import { z } from 'zod'
import { DependencyUnavailableError } from '../../src/errors.js'
import { hasOpsRole } from '../../src/kit/caller.js'
import { parseInput, readJson, validQuery } from '../../src/kit/request.js'
import type { Logger } from '../../src/observability/log.js'
import type { Db } from '../../src/platform/db/port.js'
import { sqlProblems } from '../../src/platform/db/problems.js'
import { markEffect, withEffect } from '../../src/platform/effect.js'
import { methodNotAllowed, notFound, validationFailed } from '../../src/problems.js'
import type { AppContext, NativeHandler } from '../../src/types.js'
import {
  type IdentityCrypto,
  identityStatus,
  type SealedPerson,
  sealAad,
} from '../identity/index.js'
import {
  RefundAccount,
  type RefundRow,
  type RefundRunResult,
  runRefund,
  type TossClient,
} from '../payments/index.js'
import { decodeCursor, encodeCursor } from './cursor.js'
import { OPS_PROBLEMS } from './problems.js'
import { AuditQuery, QuotaBody, ReasonBody, RecordsQuery, ResendBody, Uuid } from './schemas.js'

export interface OpsDeps {
  db: Db
  logger: Logger
  /** Resending refunds needs Toss; without it that action answers 503. */
  toss: TossClient | undefined
  /** Decrypts identity records for the masked view; without it only the status is shown. */
  identityCrypto: IdentityCrypto | undefined
}

/**
 * What `GET users/{id}/{section}` lists, by section: the SQL function (same arguments as
 * `ops_user_records`) and the row fields forming the keyset cursor. Settlements arrive with the
 * settlement migration: add `settlements: { fn: '<its listing function>', ... }` here.
 */
export interface OpsSection {
  fn: string
  atField: string
  idField: string
}
export const OPS_SECTIONS: Record<string, OpsSection> = {
  orders: { fn: 'ops_user_records', atField: 'createdAt', idField: 'id' },
  payments: { fn: 'ops_user_records', atField: 'createdAt', idField: 'paymentKey' },
  refunds: { fn: 'ops_user_records', atField: 'createdAt', idField: 'refundId' },
  pledges: { fn: 'ops_user_records', atField: 'createdAt', idField: 'pledgeId' },
}
/** Sections people ask for that this deployment cannot list yet. */
const PENDING_SECTIONS = new Set(['settlements'])

const RESEND = ResendBody(RefundAccount)

/** Stable SQL codes of the ops functions → problems. */
const opsSql = sqlProblems({
  rules: {
    'reason-required': () =>
      OPS_PROBLEMS.error('reason-required', { detail: 'reason: required', field: 'reason' }),
    'unknown-feature': () =>
      OPS_PROBLEMS.error('unknown-feature', { detail: 'feature: unknown', field: 'feature' }),
    'invalid-remaining': () =>
      OPS_PROBLEMS.error('invalid-remaining', {
        detail: 'remaining: 0-100000',
        field: 'remaining',
      }),
    'unknown-section': () => OPS_PROBLEMS.error('unknown-section', { detail: 'No such section' }),
    'campaign-not-found': () =>
      OPS_PROBLEMS.error('campaign-not-found', {
        detail: 'No campaign with this id',
        field: 'param:campaignId',
      }),
    'campaign-not-live': (detail) =>
      OPS_PROBLEMS.error('campaign-not-live', { detail: `The campaign is ${detail}` }),
  },
})
const sql = opsSql.call

/** A path segment that must be a UUID, named `param:<name>` when it is not. */
function parseParam(name: string, value: string | undefined): string {
  const params = parseInput(z.object({ [name]: Uuid }), { [name]: value }, { target: 'param' })
  return (params[name] as string).toLowerCase()
}

/** The query string; an unknown parameter is named itself, not the query as a whole. */
function parseQuery<S extends z.ZodType>(c: AppContext, schema: S): Promise<z.output<S>> {
  return validQuery(c, schema, { unknownMember: 'not a parameter of this resource' })
}

/** The operator: a verified user whose `app_metadata.role` is `ops` (as `/admin` checks). */
function requireOperator(c: AppContext): string {
  const identity = c.var.identity
  if (!identity?.verified || !identity.subject || !hasOpsRole(identity.claims)) {
    throw OPS_PROBLEMS.error('ops-only', { detail: 'The token needs app_metadata.role = ops' })
  }
  return `jwt:${identity.subject}`
}

const maskName = (name: string) => {
  const chars = [...name]
  if (chars.length <= 1) return '*'
  if (chars.length === 2) return `${chars[0]}*`
  return `${chars[0]}${'*'.repeat(chars.length - 2)}${chars[chars.length - 1]}`
}

/**
 * `ops-manage`: the platform's back office API for users with the ops role. Paths after
 * `/functions/v1/ops-manage` (or `/api/v1/ops`):
 *
 * GET  users/{userId}                          identity (masked), payout hold
 * GET  users/{userId}/{section}?status&from&to&limit&cursor   orders, payments, refunds, pledges
 * POST users/{userId}/ai-quota                 {feature, remaining, reason}
 * POST creators/{creatorId}/payout-hold        {reason}
 * POST creators/{creatorId}/payout-release     {reason}
 * POST refunds/{refundId}/resend               {reason, refundReceiveAccount?}
 * POST campaigns/{campaignId}/suspend          {reason}
 * GET  audit?actor&action&targetType&targetId&from&to&limit&before
 *
 * Every write is recorded in `ops_audit` (append-only) with who, before → after and the reason,
 * in the same transaction as the change.
 */
export function createOpsManage(deps: OpsDeps): NativeHandler {
  const { db } = deps
  const log = deps.logger.child({ component: 'ops' })

  async function userOverview(c: AppContext, userId: string) {
    const status = await sql(identityStatus(db, userId))
    let masked: Record<string, unknown> | undefined
    if (status.verified && deps.identityCrypto) {
      const record = await sql(
        db.call<{ piiKeyId: string; piiCiphertext: string; birthYear: number } | null>(
          'identity_record_get',
          { p_user_id: userId },
        ),
      )
      if (record) {
        const person = await deps.identityCrypto.open<SealedPerson>(
          { keyId: record.piiKeyId, ciphertext: record.piiCiphertext },
          sealAad(userId),
        )
        masked = {
          name: maskName(person.name),
          birthYear: record.birthYear,
          phoneLast4: person.phoneNumber ? person.phoneNumber.slice(-4) : null,
          hasDi: person.di !== null,
        }
      }
    }
    const held = await sql(db.call<boolean>('payout_hold_active', { p_creator_id: userId }))
    return c.json({
      userId,
      identity: { ...status, ...(masked ? { masked } : {}) },
      payoutHeld: held,
    })
  }

  async function records(c: AppContext, userId: string, section: string) {
    const spec = OPS_SECTIONS[section]
    if (!spec) {
      if (PENDING_SECTIONS.has(section)) {
        throw OPS_PROBLEMS.error('section-not-available', {
          detail: `${section} cannot be listed until its tables are migrated`,
          field: 'param:section',
        })
      }
      throw OPS_PROBLEMS.error('unknown-section', {
        detail: `Sections: ${Object.keys(OPS_SECTIONS).join(', ')}`,
        field: 'param:section',
      })
    }
    const q = await parseQuery(c, RecordsQuery)
    const position = q.cursor ? decodeCursor(q.cursor) : undefined
    if (q.cursor && !position) {
      throw validationFailed([{ field: 'query:cursor', message: 'not a cursor of this API' }])
    }
    const rows = await sql(
      db.call<Record<string, unknown>[]>(spec.fn, {
        p_user_id: userId,
        p_section: section,
        p_status: q.status ?? null,
        p_from: q.from ?? null,
        p_to: q.to ?? null,
        p_limit: q.limit,
        p_before_at: position?.at ?? null,
        p_before_id: position?.id ?? null,
      }),
    )
    const last = rows.at(-1)
    const nextCursor =
      rows.length === q.limit && last
        ? encodeCursor(String(last[spec.atField]), String(last[spec.idField]))
        : null
    return c.json({ items: rows, nextCursor })
  }

  async function resendRefund(c: AppContext, actor: string, refundId: string) {
    const body = parseInput(RESEND, await readJson(c))
    if (!deps.toss) throw new DependencyUnavailableError('toss')
    const refund = await sql(db.call<RefundRow>('refund_get', { p_refund_id: refundId }), {
      'refund-not-found': () =>
        OPS_PROBLEMS.error('refund-not-found', {
          detail: 'No refund with this id',
          field: 'param:refundId',
        }),
    })
    if (refund.status !== 'pending') {
      throw OPS_PROBLEMS.error('refund-not-pending', { detail: `The refund is ${refund.status}` })
    }
    markEffect(c, 'refund-send')
    const result: RefundRunResult = await runRefund(
      { db, toss: deps.toss, logger: log },
      refund,
      body.refundReceiveAccount as Parameters<typeof runRefund>[2],
    )
    const after = { status: result.refund.status, outcome: result.state }
    const audit = await sql(
      db.call<{ id: number }>('ops_audit_append', {
        p_actor: actor,
        p_action: 'refund.resend',
        p_target_type: 'refund',
        p_target_id: refundId,
        p_before: { status: 'pending' },
        p_after: after,
        p_reason: body.reason,
        p_request_id: c.var.requestId,
      }),
    )
    return c.json({
      changed: result.refund.status !== 'pending',
      before: { status: 'pending' },
      after,
      auditId: audit.id,
      refund: {
        refundId: result.refund.refundId,
        status: result.refund.status,
        amount: result.refund.amount,
        failureCode: result.refund.failureCode,
      },
    })
  }

  const write = (c: AppContext, effect: string, fn: string, args: Record<string, unknown>) =>
    withEffect(c, effect, () => sql(db.call<Record<string, unknown>>(fn, args)))

  return async function opsManage(c) {
    const actor = requireOperator(c)
    const rest = (c.var.route?.rest ?? '').replace(/\/+$/, '')
    const parts = rest === '' ? [] : rest.split('/')
    const method = c.req.method
    const [head, id, action] = parts

    if (head === 'audit' && parts.length === 1) {
      if (method !== 'GET') throw methodNotAllowed(['GET'])
      const q = await parseQuery(c, AuditQuery)
      const entries = await sql(
        db.call<Array<{ id: number }>>('ops_audit_list', {
          p_actor: q.actor ?? null,
          p_action: q.action ?? null,
          p_target_type: q.targetType ?? null,
          p_target_id: q.targetId ?? null,
          p_from: q.from ?? null,
          p_to: q.to ?? null,
          p_limit: q.limit,
          p_before: q.before ?? null,
        }),
      )
      const last = entries.at(-1)
      return c.json({
        items: entries,
        nextBefore: entries.length === q.limit && last ? last.id : null,
      })
    }

    if (head === 'users' && parts.length >= 2 && parts.length <= 3) {
      const userId = parseParam('userId', id)
      if (parts.length === 2) {
        if (method !== 'GET') throw methodNotAllowed(['GET'])
        return userOverview(c, userId)
      }
      if (action === 'ai-quota') {
        if (method !== 'POST') throw methodNotAllowed(['POST'])
        const body = parseInput(QuotaBody, await readJson(c))
        const result = await write(c, 'ai-quota-set', 'ops_ai_quota_set', {
          p_actor: actor,
          p_user_id: userId,
          p_feature: body.feature,
          p_remaining: body.remaining,
          p_reason: body.reason,
          p_request_id: c.var.requestId,
        })
        log.info('ops action', { action: 'ai-quota.set', auditId: result.auditId })
        return c.json(result)
      }
      if (method !== 'GET') throw methodNotAllowed(['GET'])
      return records(c, userId, String(action))
    }

    if (
      head === 'creators' &&
      parts.length === 3 &&
      (action === 'payout-hold' || action === 'payout-release')
    ) {
      if (method !== 'POST') throw methodNotAllowed(['POST'])
      const creatorId = parseParam('creatorId', id)
      const body = parseInput(ReasonBody, await readJson(c))
      const result = await write(c, action, 'ops_payout_hold_set', {
        p_actor: actor,
        p_creator_id: creatorId,
        p_held: action === 'payout-hold',
        p_reason: body.reason,
        p_request_id: c.var.requestId,
      })
      log.info('ops action', { action, auditId: result.auditId, changed: result.changed })
      return c.json(result)
    }

    if (head === 'refunds' && parts.length === 3 && action === 'resend') {
      if (method !== 'POST') throw methodNotAllowed(['POST'])
      return resendRefund(c, actor, parseParam('refundId', id))
    }

    if (head === 'campaigns' && parts.length === 3 && action === 'suspend') {
      if (method !== 'POST') throw methodNotAllowed(['POST'])
      const campaignId = parseParam('campaignId', id)
      const body = parseInput(ReasonBody, await readJson(c))
      const result = await write(c, 'campaign-suspend', 'ops_campaign_suspend', {
        p_actor: actor,
        p_campaign_id: campaignId,
        p_reason: body.reason,
        p_request_id: c.var.requestId,
      })
      log.info('ops action', { action: 'campaign.suspend', auditId: result.auditId })
      return c.json(result)
    }

    throw notFound('No such ops resource; see the ops API in the README')
  }
}
