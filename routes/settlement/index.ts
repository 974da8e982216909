import type { Config } from '../../src/config.js'
import type { Logger } from '../../src/observability/log.js'
import type { Db } from '../../src/platform/db/port.js'
import type { NativeHandler } from '../../src/types.js'
import type { SettlementDeps } from './deps.js'
import type { XlsxWriterFactory } from './export-format.js'
import { type FontSource, fontFromUrl } from './font.js'
import { createPayoutCalculate } from './payout-calculate.js'
import { createPayoutStatement } from './payout-statement.js'
import { createSettlementExport } from './settlement-export.js'

export type { SettlementDeps } from './deps.js'
export type { XlsxWriterFactory } from './export-format.js'
export type { FontSource } from './font.js'

/** What the runtime supplies: Node reads the font from its package and streams XLSX. */
export interface SettlementPlatform {
  font?: FontSource
  xlsx?: XlsxWriterFactory
}

/**
 * The three settlement routes. Without a font source (`SETTLEMENT_FONT_URL` on Workers, the
 * package on Node) `payout-statement` has no native handler and stays on its Edge Function.
 */
export function settlementHandlers(services: {
  config: Config
  logger: Logger
  db: Db
  settlement?: SettlementPlatform
}): Record<string, NativeHandler> {
  const { config, db, settlement = {} } = services
  const font =
    settlement.font ??
    (config.SETTLEMENT_FONT_URL ? fontFromUrl(config.SETTLEMENT_FONT_URL) : undefined)
  const logger = services.logger.child({ component: 'settlement' })
  const base = { db, logger, ...(settlement.xlsx ? { xlsx: settlement.xlsx } : {}) }
  const missingFont: FontSource = {
    origin: 'none',
    load: () => Promise.reject(new Error('no statement font configured')),
  }
  const deps: SettlementDeps = { ...base, font: font ?? missingFont }
  return {
    'payout-calculate': createPayoutCalculate(deps),
    'settlement-export': createSettlementExport(deps),
    ...(font ? { 'payout-statement': createPayoutStatement(deps) } : {}),
  }
}
