import { DependencyUnavailableError } from '../../src/errors.js'
import { readJson } from '../../src/kit/request.js'
import type { AppContext, NativeHandler } from '../../src/types.js'
import { callerOf, requireOwnerOrOps } from './access.js'
import { attachment } from './content-disposition.js'
import type { SettlementDeps } from './deps.js'
import { sqlCall } from './problems.js'
import { parseInput, StatementQuery } from './schemas.js'
import { renderStatement, STATEMENT_LAYOUT_VERSION, type StatementData } from './statement-pdf.js'

/**
 * `payout-statement`: one settlement's PDF statement (GET `?settlementId=` or POST
 * `{settlementId}`), for the creator it belongs to or ops. Conditional GET: the ETag is
 * derived from the settlement's version and status and the layout version, so a repeat with
 * `If-None-Match` is a 304 without rendering.
 */
export function createPayoutStatement(deps: SettlementDeps): NativeHandler {
  const { db, font } = deps
  return async function payoutStatement(c) {
    const caller = callerOf(c)
    const input = parseInput(
      StatementQuery,
      c.req.method === 'GET' ? c.req.query() : await readJson(c),
    )
    const data = await sqlCall(
      db.call<StatementData & { creatorId: string }>('settlement_get', {
        p_id: input.settlementId,
      }),
    )
    requireOwnerOrOps(caller, data.creatorId)

    const etag = await statementEtag(data)
    const headers = {
      etag,
      'cache-control': 'private, no-cache',
      vary: 'authorization',
    }
    if (matches(c, etag)) return c.body(null, 304, headers)

    if (!font) throw new DependencyUnavailableError('statement font')
    const pdf = await renderStatement(data, await font.load())
    const period = data.periodStart.slice(0, 7)
    return c.body(pdf as Uint8Array<ArrayBuffer>, 200, {
      ...headers,
      'content-type': 'application/pdf',
      'content-length': String(pdf.byteLength),
      'content-disposition': attachment(
        `정산명세서_${period}_${data.statementNo}.pdf`,
        `statement_${period}_${data.statementNo}.pdf`,
      ),
    })
  }
}

/**
 * Strong ETag over everything the statement shows and the layout version: the same input
 * always renders the same bytes (the PDF's dates come from the settlement, not the clock).
 */
export async function statementEtag(data: StatementData): Promise<string> {
  const identity = JSON.stringify([data, STATEMENT_LAYOUT_VERSION])
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(identity))
  const hex = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('')
  return `"${hex.slice(0, 32)}"`
}

/** `If-None-Match` (RFC 9110 section 13.1.2): weak comparison, `*` or a list. */
function matches(c: AppContext, etag: string): boolean {
  const header = c.req.header('if-none-match')
  if (!header) return false
  if (header.trim() === '*') return true
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag)
}
