import { z } from 'zod'

export const Uuid = z.uuid('a UUID')

const reason = z
  .string({ error: 'required: say why (it goes to the audit trail)' })
  .trim()
  .min(1, 'required: say why (it goes to the audit trail)')
  .max(500, 'at most 500 characters')

// ISO 8601 allows any offset up to ±23:59; PostgreSQL's timestamptz takes at most ±15:59 and
// refuses the rest (SQLSTATE 22009), which must be the client's 422, not a database error.
const isoTime = z.iso
  .datetime({ offset: true, error: 'an ISO 8601 time with offset' })
  .refine(
    (v) => Number(/[+-](\d{2}):?\d{2}$/.exec(v)?.[1] ?? 0) <= 15,
    'an ISO 8601 time with an offset of at most ±15:59',
  )

/** `GET users/{id}/{section}`: filters and keyset pagination. */
export const RecordsQuery = z
  .object({
    status: z
      .string()
      .regex(/^[A-Za-z_-]{1,32}$/, 'a status such as DONE or pending')
      .optional(),
    from: isoTime.optional(),
    to: isoTime.optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    cursor: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,400}$/, 'the nextCursor of the previous page')
      .optional(),
  })
  .strict()

/** `GET audit`. */
export const AuditQuery = z
  .object({
    actor: z.string().min(1).max(200).optional(),
    action: z
      .string()
      .regex(/^[a-z][a-z0-9.-]{0,63}$/, 'an action such as payout.hold')
      .optional(),
    targetType: z.enum(['user', 'creator', 'refund', 'campaign']).optional(),
    targetId: z.string().min(1).max(200).optional(),
    from: isoTime.optional(),
    to: isoTime.optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    before: z.coerce.number().int().min(1).optional(),
  })
  .strict()

export const ReasonBody = z.object({ reason }).strict()

export const QuotaBody = z
  .object({
    feature: z.string().regex(/^[a-z][a-z0-9-]{0,39}$/, 'an AI feature such as reply-suggest'),
    remaining: z.number({ error: 'a whole number from 0 to 100000' }).int().min(0).max(100_000),
    reason,
  })
  .strict()

export const ResendBody = (account: z.ZodType) =>
  z.object({ reason, refundReceiveAccount: account.optional() }).strict()
