import { defineFeature } from '../../src/route-table.js'

/**
 * Operator actions (`ops-manage`), for users with the ops role.
 * Not native yet: the route is proxied to its Edge Function. Handlers, schemas, SQL calls and
 * problem mapping go in this folder; the route turns native by naming its factory in `native`
 * (see docs/ARCHITECTURE.md, "How to add a native function").
 */
export const ops = defineFeature({
  name: 'ops',
  routes: [
    {
      id: 'ops-manage',
      phase: 3,
      summary: 'Operator actions',
      aliases: ['/api/v1/ops'],
      methods: ['GET', 'POST', 'PATCH', 'DELETE'],
      policy: { replay: 'before-effect', auth: 'required' },
    },
  ],
})
