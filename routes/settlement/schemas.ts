import { z } from 'zod'
import { parseInput as kitParseInput } from '../../src/kit/request.js'
import { PERIOD_PATTERN } from './period.js'

const uuid = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, {
  message: 'a UUID',
})
const period = z.string().regex(PERIOD_PATTERN, { message: 'a month as YYYY-MM (2000-2099)' })
// The pattern alone lets 2026-02-30 through, which the database refuses (a 500, not a 422).
const isoDate = z
  .string()
  .regex(/^20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$/, {
    message: 'a date as YYYY-MM-DD',
  })
  .refine(
    (v) => {
      // Runs after a failed pattern too: an unparsable value must not throw.
      const day = new Date(`${v}T00:00:00Z`)
      return !Number.isNaN(day.getTime()) && day.toISOString().slice(0, 10) === v
    },
    {
      message: 'a date that exists (YYYY-MM-DD)',
    },
  )

const onePeriod = {
  creatorId: uuid,
  period,
  payoutDate: isoDate.optional(),
}

/** `payout-calculate` bodies, by `action`. */
export const CalculateBody = z.discriminatedUnion('action', [
  z.object({ action: z.literal('preview'), ...onePeriod }).strict(),
  z.object({ action: z.literal('calculate'), ...onePeriod }).strict(),
  z.object({ action: z.literal('confirm'), ...onePeriod }).strict(),
  z.object({ action: z.literal('mark-paid'), settlementId: uuid }).strict(),
  z.object({ action: z.literal('list'), creatorId: uuid.optional() }).strict(),
  z
    .object({
      action: z.literal('calculate-all'),
      period,
      payoutDate: isoDate.optional(),
      runId: uuid.optional(),
      batchSize: z.number().int().min(1).max(500).optional(),
    })
    .strict(),
])
export type CalculateBody = z.infer<typeof CalculateBody>

/** `payout-statement`: `?settlementId=` (GET) or `{settlementId}` (POST). */
export const StatementQuery = z.object({ settlementId: uuid }).strict()

/** `settlement-export` query (GET) or body (POST). */
export const ExportQuery = z
  .object({
    period,
    format: z.enum(['csv', 'xlsx']).default('csv'),
    status: z.enum(['draft', 'confirmed', 'paid']).optional(),
    creatorId: uuid.optional(),
  })
  .strict()
export type ExportQuery = z.infer<typeof ExportQuery>

/**
 * Validate with the request kit; every bad field is listed (422). An unknown member is named
 * itself, not its parent object, so a typo in a field name points at the typo (as the legacy
 * settlement functions answer).
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  return kitParseInput(schema, input, { unknownMember: 'unknown member' })
}
