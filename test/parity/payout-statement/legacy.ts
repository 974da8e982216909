/**
 * Legacy `payout-statement`: `GET ?settlementId=` or `POST {settlementId}` → the statement PDF
 * of a settlement, for the creator it belongs to or ops, as an attachment named
 * `정산명세서_<yyyy-mm>_<statement no>.pdf` (ASCII fallback `statement_…`). The stand-in's PDF
 * is a one-page document with the statement number (the parity compares a PDF by type).
 */
import { PDFDocument, StandardFonts } from 'pdf-lib'
import { z } from 'zod'
import { fieldsOf, type LegacyContract, readJson, validationFailed } from '../legacy-kit.js'
import {
  callerOf,
  disposition,
  forbidden,
  settlementDbError,
  UUID,
} from '../settlement-contract.js'

const Input = z.strictObject({ settlementId: z.string().regex(UUID) })

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
  const parsed = Input.safeParse(input)
  if (!parsed.success) return validationFailed(fieldsOf(parsed.error.issues))
  try {
    const s = await env.db.call<{ creatorId: string; statementNo: string; periodStart: string }>(
      'settlement_get',
      { p_id: parsed.data.settlementId },
    )
    if (!caller.ops && caller.userId !== s.creatorId) return forbidden('not-your-settlement')
    const doc = await PDFDocument.create()
    const font = await doc.embedFont(StandardFonts.Helvetica)
    doc.addPage().drawText(`Statement ${s.statementNo}`, { x: 50, y: 750, size: 14, font })
    const pdf = await doc.save()
    const period = s.periodStart.slice(0, 7)
    return new Response(pdf as Uint8Array<ArrayBuffer>, {
      headers: {
        'content-type': 'application/pdf',
        'content-disposition': disposition(
          `정산명세서_${period}_${s.statementNo}.pdf`,
          `statement_${period}_${s.statementNo}.pdf`,
        ),
      },
    })
  } catch (error) {
    return settlementDbError(error)
  }
}
