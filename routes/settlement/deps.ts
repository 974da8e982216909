import type { Logger } from '../../src/observability/log.js'
import type { Db } from '../../src/platform/db/port.js'
import type { XlsxWriterFactory } from './export-format.js'
import type { FontSource } from './font.js'

/** What the settlement handlers need; built once by the entries and passed to each factory. */
export interface SettlementDeps {
  db: Db
  logger: Logger
  /**
   * The Korean font for statements (from the package on Node, a URL on Workers). Without it a
   * statement request fails before any effect and may be replayed to legacy.
   */
  font?: FontSource
  /** Streams XLSX; absent on Workers, where an XLSX export answers 406 and CSV works. */
  xlsx?: XlsxWriterFactory
  /** Milliseconds since the epoch (period-over checks, issue dates). */
  clock?: () => number
  /** Rows per database page of an export. */
  exportPageSize?: number
  /** Time one `calculate-all` call may spend before it answers with progress. */
  runBudgetMs?: number
}
