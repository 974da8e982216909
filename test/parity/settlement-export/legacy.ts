/**
 * Legacy `settlement-export` (ops): `GET ?period=&format=csv|xlsx[&status=][&creatorId=]` or the
 * same as a JSON body → the month's settlements as an attachment `정산내역_<yyyy-mm>[_<status>].<format>`.
 * CSV is UTF-8 with a BOM and CRLF. The stand-in's XLSX is an empty zip of the right type (the
 * parity compares a spreadsheet by type).
 */
import { z } from 'zod'
import { fieldsOf, type LegacyContract, readJson, validationFailed } from '../legacy-kit.js'
import {
  callerOf,
  disposition,
  forbidden,
  monthRange,
  PERIOD,
  settlementDbError,
  UUID,
} from '../settlement-contract.js'

const Query = z.strictObject({
  period: z.string().regex(PERIOD),
  format: z.enum(['csv', 'xlsx']).default('csv'),
  status: z.enum(['draft', 'confirmed', 'paid']).optional(),
  creatorId: z.string().regex(UUID).optional(),
})

const TYPES = {
  csv: 'text/csv; charset=utf-8',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
}

export const contract: LegacyContract = async (req, env) => {
  const caller = await callerOf(req, env)
  let input: unknown
  if (req.method === 'GET') {
    input = Object.fromEntries(new URL(req.url).searchParams)
  } else {
    const read = await readJson(req)
    if (!read.ok) return read.response
    input = read.body
  }
  const parsed = Query.safeParse(input)
  if (!parsed.success) return validationFailed(fieldsOf(parsed.error.issues))
  if (!caller.ops) return forbidden('ops-only')
  const q = parsed.data
  try {
    const rows = await env.db.call<Array<Record<string, unknown>>>('settlement_export_page', {
      p_period_start: monthRange(q.period)[0],
      p_status: q.status ?? null,
      p_creator: q.creatorId ?? null,
      p_after: null,
      p_limit: 5000,
    })
    const suffix = q.status ? `_${q.status}` : ''
    const body =
      q.format === 'csv'
        ? `\ufeffstatementNo,transferKrw\r\n${rows.map((r) => `${r.statementNo},${r.transferKrw}`).join('\r\n')}\r\n`
        : new Uint8Array([0x50, 0x4b, 0x05, 0x06, ...new Array(18).fill(0)])
    return new Response(body, {
      headers: {
        'content-type': TYPES[q.format],
        'content-disposition': disposition(
          `정산내역_${q.period}${suffix}.${q.format}`,
          `settlements_${q.period}${suffix}.${q.format}`,
        ),
      },
    })
  } catch (error) {
    return settlementDbError(error)
  }
}
