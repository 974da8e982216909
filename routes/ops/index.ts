import { defineFeature, KiB, open } from '../../src/route-table.js'
import { identityCrypto } from '../identity/index.js'
import { RefundAccount, TossClient } from '../payments/index.js'
import { createOpsManage, type OpsDeps } from './manage.js'
import { OPS_PROBLEMS } from './problems.js'
import { AuditQuery, QuotaBody, ReasonBody, RecordsQuery, ResendBody } from './schemas.js'

export { OPS_SECTIONS, type OpsSection } from './manage.js'

/**
 * The platform's ops back office API (`ops-manage`), distinct from the gateway's own `/admin`:
 * for users whose `app_metadata.role` is `ops`. Native wherever there is a database.
 */
export const ops = defineFeature({
  name: 'ops',
  problems: [OPS_PROBLEMS],
  setup: ({ config, db, logger, vendorFetch }): OpsDeps | undefined => {
    if (!db) return undefined
    return {
      db,
      logger,
      toss: config.TOSS_SECRET_KEY
        ? new TossClient({
            secretKey: config.TOSS_SECRET_KEY,
            baseUrl: config.TOSS_API_URL,
            ...(vendorFetch?.toss ? { fetch: vendorFetch.toss } : {}),
          })
        : undefined,
      identityCrypto:
        config.IDENTITY_CI_KEYS && config.IDENTITY_CI_HASH_KEY
          ? identityCrypto({ keys: config.IDENTITY_CI_KEYS, hashKey: config.IDENTITY_CI_HASH_KEY })
          : undefined,
    }
  },
  routes: [
    {
      id: 'ops-manage',
      phase: 3,
      summary: 'Operator actions',
      aliases: ['/api/v1/ops'],
      methods: ['GET', 'POST', 'PATCH', 'DELETE'],
      // Reads may go to legacy when the database is down; a write is never replayed once marked.
      policy: {
        replay: 'before-effect',
        auth: 'required',
        rateLimit: open(300),
        bodyLimitBytes: 16 * KiB,
      },
      native: createOpsManage,
      api: [
        { method: 'GET', path: '/users/:userId', summary: "A user's overview" },
        {
          method: 'GET',
          path: '/users/:userId/:section',
          summary: "A user's records in one section, newest first",
          query: RecordsQuery,
        },
        {
          method: 'POST',
          path: '/users/:userId/ai-quota',
          summary: "Set a user's AI quota",
          body: QuotaBody,
        },
        {
          method: 'POST',
          path: '/creators/:creatorId/payout-hold',
          summary: "Hold a creator's payouts",
          body: ReasonBody,
        },
        {
          method: 'POST',
          path: '/creators/:creatorId/payout-release',
          summary: "Release a creator's payouts",
          body: ReasonBody,
        },
        {
          method: 'POST',
          path: '/refunds/:refundId/resend',
          summary: 'Send a pending refund to Toss again',
          body: ResendBody(RefundAccount),
        },
        {
          method: 'POST',
          path: '/campaigns/:campaignId/suspend',
          summary: 'Suspend a funding campaign',
          body: ReasonBody,
        },
        { method: 'GET', path: '/audit', summary: 'The ops audit trail', query: AuditQuery },
      ],
    },
  ],
})
