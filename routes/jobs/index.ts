import { defineFeature } from '../../src/route-table.js'

/**
 * Scheduled jobs, called by Cloud Scheduler or cron with a service-role token.
 * Not native yet: the route is proxied to its Edge Function. The dispatcher and its jobs go in
 * this folder; the route turns native by naming its factory in `native` (see
 * docs/ARCHITECTURE.md, "How to add a native function").
 */
export const jobs = defineFeature({
  name: 'jobs',
  routes: [
    {
      id: 'scheduled-dispatcher',
      phase: 3,
      summary: 'Scheduled jobs (Cloud Scheduler / cron)',
      aliases: ['/api/v1/scheduled/dispatch'],
      policy: { auth: 'service' },
    },
  ],
})
