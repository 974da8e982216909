import { closed, defineFeature } from '../../src/route-table.js'

/**
 * Creator settlement: payouts with withholding tax, payout statements, settlement exports.
 * Not native yet: every route is proxied to its Edge Function. Handlers, schemas, SQL calls and
 * problem mapping go in this folder; a route turns native by naming its factory in `native`
 * (see docs/ARCHITECTURE.md, "How to add a native function").
 */
export const settlement = defineFeature({
  name: 'settlement',
  routes: [
    {
      id: 'payout-calculate',
      phase: 2,
      summary: 'Creator payout with withholding tax',
      aliases: ['/api/v1/settlement/payout-calculate'],
      policy: { replay: 'never', rateLimit: closed(30) },
    },
    {
      id: 'payout-statement',
      phase: 2,
      summary: 'Payout statement as PDF',
      policy: { replay: 'never', readOnly: true },
      aliases: ['/api/v1/settlement/statement'],
      methods: ['GET', 'POST'],
    },
    {
      id: 'settlement-export',
      phase: 2,
      summary: 'Settlement export as CSV or Excel',
      policy: { replay: 'never', readOnly: true },
      aliases: ['/api/v1/settlement/export'],
      methods: ['GET', 'POST'],
    },
  ],
})
