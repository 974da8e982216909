import { closed, defineFeature } from '../../src/route-table.js'

/**
 * Identity verification through a third-party provider.
 * Not native yet: the route is proxied to its Edge Function. Handlers, schemas, the provider
 * client, SQL calls and problem mapping go in this folder; the route turns native by naming its
 * factory in `native` (see docs/ARCHITECTURE.md, "How to add a native function").
 */
export const identity = defineFeature({
  name: 'identity',
  routes: [
    {
      id: 'verify-identity',
      phase: 3,
      summary: 'Identity verification through a third party',
      aliases: ['/api/v1/identity/verify'],
      policy: { replay: 'never', rateLimit: closed(10) },
    },
  ],
})
