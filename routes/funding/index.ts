import { closed, defineFeature, KiB, MiB } from '../../src/route-table.js'
import { tossWebhookPolicy } from '../payments/index.js'

/**
 * Funding campaigns: pledges (paid through TossPayments), the funding payment webhook, the
 * studio submission, the admin review and closing a campaign.
 * Not native yet: every route is proxied to its Edge Function. Handlers, schemas, SQL calls and
 * problem mapping go in this folder; a route turns native by naming its factory in `native`
 * (see docs/ARCHITECTURE.md, "How to add a native function").
 */
export const funding = defineFeature({
  name: 'funding',
  routes: [
    {
      id: 'funding-pledge',
      phase: 2,
      summary: 'Pledge to a funding campaign',
      aliases: ['/api/v1/funding/pledge'],
      policy: {
        replay: 'never',
        rateLimit: closed(10),
        bodyLimitBytes: 16 * KiB,
        strictOrigin: true,
      },
    },
    {
      id: 'funding-payment-webhook',
      phase: 2,
      summary: 'TossPayments webhook for funding payments',
      aliases: ['/api/v1/webhooks/funding-payment'],
      policy: tossWebhookPolicy,
    },
    {
      id: 'campaign-complete',
      phase: 3,
      summary: 'Close a funding campaign',
      aliases: ['/api/v1/funding/campaign-complete'],
      policy: { replay: 'never', auth: 'service' },
    },
    {
      id: 'funding-admin-review',
      phase: 3,
      summary: 'Admin review of a funding submission',
      policy: { replay: 'never' },
      aliases: ['/api/v1/funding/admin-review'],
    },
    {
      id: 'funding-studio-submit',
      phase: 3,
      summary: 'Creator studio submission of a funding campaign',
      aliases: ['/api/v1/funding/studio-submit'],
      policy: { replay: 'never', bodyLimitBytes: 1 * MiB },
    },
  ],
})
