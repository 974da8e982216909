import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { exceljsXlsxWriter } from '../../routes/settlement/export-xlsx-node.js'
import { fontFromPackage } from '../../routes/settlement/font-node.js'
import { createPayoutStatement } from '../../routes/settlement/payout-statement.js'
import { createSettlementExport } from '../../routes/settlement/settlement-export.js'
import { createLogger } from '../../src/observability/log.js'
import { createPostgresDb } from '../../src/platform/db/postgres.js'
import type { AppEnv } from '../../src/types.js'

/**
 * The export and statement handlers alone on a Node server, for measuring their memory: every
 * caller is ops (the guards in front are measured elsewhere).
 * Env: DATABASE_URL, PORT.
 */
const db = createPostgresDb({ connectionString: process.env.DATABASE_URL as string, max: 4 })
const deps = {
  db,
  logger: createLogger({ level: 'error', write: () => {} }),
  font: fontFromPackage(),
  xlsx: exceljsXlsxWriter,
}
const exportHandler = createSettlementExport(deps)
const statementHandler = createPayoutStatement(deps)
const app = new Hono<AppEnv>()
app.use(async (c, next) => {
  c.set('identity', { subject: undefined, role: 'service_role', claims: {}, verified: true })
  await next()
})
app.get('/health', (c) => c.text('ok'))
app.get('/export', (c) => exportHandler(c))
app.get('/statement', (c) => statementHandler(c))
serve({ fetch: app.fetch, port: Number(process.env.PORT), hostname: '127.0.0.1' })
