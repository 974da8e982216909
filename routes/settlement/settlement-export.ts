import { readJson } from '../../src/kit/request.js'
import type { NativeHandler } from '../../src/types.js'
import { callerOf, requireOps } from './access.js'
import { attachment } from './content-disposition.js'
import type { SettlementDeps } from './deps.js'
import { csvStream } from './export-csv.js'
import { EXPORT_COLUMNS, type ExportRow } from './export-format.js'
import { monthPeriod } from './period.js'
import { SETTLEMENT_PROBLEMS, sqlCall } from './problems.js'
import { type ExportQuery, ExportQuery as ExportQuerySchema, parseInput } from './schemas.js'

const CONTENT_TYPES = {
  csv: 'text/csv; charset=utf-8',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
} as const

/**
 * `settlement-export` (ops): the settlements of a month, optionally filtered by status or
 * creator, as CSV or XLSX. Streamed page by page (keyset on the settlement id); the next page
 * is read only when the client has taken the previous one, so memory stays flat and a
 * cancelled download stops the queries.
 */
export function createSettlementExport(deps: SettlementDeps): NativeHandler {
  const { db, logger } = deps
  const pageSize = deps.exportPageSize ?? 1000
  return async function settlementExport(c) {
    const caller = callerOf(c)
    const query = parseInput(
      ExportQuerySchema,
      c.req.method === 'GET' ? c.req.query() : await readJson(c),
    )
    requireOps(caller, 'export settlements')
    if (query.format === 'xlsx' && !deps.xlsx) {
      throw SETTLEMENT_PROBLEMS.error('xlsx-unavailable', {
        detail: 'Ask for format=csv, or use the Node deployment for XLSX',
        errors: [{ field: 'format', message: 'xlsx is served by the Node deployment only' }],
      })
    }
    const period = monthPeriod(query.period)
    const fetchPage = (after: string | null) =>
      sqlCall(
        db.call<ExportRow[]>('settlement_export_page', {
          p_period_start: period.start,
          p_status: query.status ?? null,
          p_creator: query.creatorId ?? null,
          p_after: after,
          p_limit: pageSize,
        }),
      )
    // The first page is read before answering, so a database failure is still a problem
    // response rather than a broken download.
    const first = await fetchPage(null)
    const pages = pagesFrom(first, fetchPage, pageSize, () =>
      logger.info('settlement export cancelled', { period: query.period, format: query.format }),
    )
    const body =
      query.format === 'xlsx' && deps.xlsx
        ? deps.xlsx(EXPORT_COLUMNS, pages)
        : csvStream(EXPORT_COLUMNS, pages)
    return c.body(body, 200, {
      'content-type': CONTENT_TYPES[query.format],
      'content-disposition': attachment(
        `정산내역_${query.period}${suffix(query)}.${query.format}`,
        `settlements_${query.period}${suffix(query)}.${query.format}`,
      ),
      'cache-control': 'no-store',
    })
  }
}

function suffix(query: ExportQuery): string {
  return query.status ? `_${query.status}` : ''
}

/** Pages after `first`, fetched one at a time as they are asked for. */
async function* pagesFrom(
  first: ExportRow[],
  fetchPage: (after: string | null) => Promise<ExportRow[]>,
  pageSize: number,
  onCancel: () => void,
): AsyncGenerator<ExportRow[]> {
  let page = first
  let finished = false
  try {
    while (page.length > 0) {
      yield page
      if (page.length < pageSize) break
      page = await fetchPage(String(page.at(-1)?.settlementId))
    }
    finished = true
  } finally {
    if (!finished) onCancel()
  }
}
