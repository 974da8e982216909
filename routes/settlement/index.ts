import { closed, defineFeature, KiB, type NativeServices } from '../../src/route-table.js'
import type { SettlementDeps } from './deps.js'
import type { XlsxWriterFactory } from './export-format.js'
import { type FontSource, fontFromUrl } from './font.js'
import { createPayoutCalculate } from './payout-calculate.js'
import { createPayoutStatement } from './payout-statement.js'
import { SETTLEMENT_PROBLEMS, SETTLEMENT_SQL_PROBLEMS } from './problems.js'
import { CalculateBody, ExportQuery, StatementQuery } from './schemas.js'
import { createSettlementExport } from './settlement-export.js'

export type { SettlementDeps } from './deps.js'
export type { XlsxWriterFactory } from './export-format.js'
export type { FontSource } from './font.js'
export { kstDate } from './period.js'
export { runAll } from './run-all.js'

/**
 * Creator settlement: payouts with withholding tax, payout statements (Korean PDF) and
 * settlement exports (CSV, XLSX). Needs the database. The statement font comes from the entry
 * (`settlement.font`: the npm package on Node) or `SETTLEMENT_FONT_URL` (Workers); the XLSX
 * writer only from the Node entry (`settlement.xlsx`).
 */
export const settlement = defineFeature({
  name: 'settlement',
  problems: [SETTLEMENT_PROBLEMS, SETTLEMENT_SQL_PROBLEMS],
  setup: settlementSetup,
  routes: [
    {
      id: 'payout-calculate',
      phase: 2,
      summary: 'Creator payout with withholding tax',
      aliases: ['/api/v1/settlement/payout-calculate'],
      // `preview` and `list` only read and may be replayed; `calculate`, `confirm`,
      // `mark-paid` and `calculate-all` mark their effect just before the saving call
      // (a failure the database proves uncommitted is still replayable).
      policy: { replay: 'before-effect', rateLimit: closed(30), bodyLimitBytes: 16 * KiB },
      native: createPayoutCalculate,
      api: [{ method: 'POST', body: CalculateBody, otherStatuses: [201, 202] }],
    },
    {
      id: 'payout-statement',
      phase: 2,
      summary: 'Payout statement as PDF',
      aliases: ['/api/v1/settlement/statement'],
      methods: ['GET', 'POST'],
      // Reads only: a failed native attempt may be replayed to legacy.
      policy: { replay: 'always', readOnly: true, bodyLimitBytes: 4 * KiB },
      native: createPayoutStatement,
      api: [
        { method: 'GET', query: StatementQuery, produces: ['application/pdf'], headers: ['etag'] },
        { method: 'POST', body: StatementQuery, produces: ['application/pdf'], headers: ['etag'] },
      ],
    },
    {
      id: 'settlement-export',
      phase: 2,
      summary: 'Settlement export as CSV or Excel',
      aliases: ['/api/v1/settlement/export'],
      methods: ['GET', 'POST'],
      // Reads only (a stream already started is never replayed: its status is sent).
      policy: { replay: 'always', readOnly: true, bodyLimitBytes: 4 * KiB },
      native: createSettlementExport,
      api: [
        {
          method: 'GET',
          query: ExportQuery,
          produces: [
            'text/csv',
            'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
          ],
        },
        {
          method: 'POST',
          body: ExportQuery,
          produces: [
            'text/csv',
            'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
          ],
        },
      ],
    },
  ],
})

function settlementSetup({ config, db, logger, resources = {} }: NativeServices) {
  if (!db) return undefined
  const font = isFontSource(resources['settlement.font'])
    ? resources['settlement.font']
    : config.SETTLEMENT_FONT_URL
      ? fontFromUrl(config.SETTLEMENT_FONT_URL)
      : undefined
  const xlsx = resources['settlement.xlsx']
  return {
    db,
    logger: logger.child({ component: 'settlement' }),
    ...(font ? { font } : {}),
    ...(typeof xlsx === 'function' ? { xlsx: xlsx as XlsxWriterFactory } : {}),
  } satisfies SettlementDeps
}

function isFontSource(value: unknown): value is FontSource {
  return typeof (value as FontSource | undefined)?.load === 'function'
}
