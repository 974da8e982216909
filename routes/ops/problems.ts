import { defineProblems } from '../../src/errors.js'

/**
 * What the back office answers besides the gateway's own problems. Some entries answer the
 * gateway's generic codes (`validation-failed`, `not-found`) with a title of their own.
 */
export const OPS_PROBLEMS = defineProblems('ops', {
  'ops-only': { status: 403, title: 'Only ops may use the back office' },
  'reason-required': { code: 'validation-failed', status: 422, title: 'A reason is required' },
  'unknown-feature': { code: 'validation-failed', status: 422, title: 'Unknown AI feature' },
  'invalid-remaining': { code: 'validation-failed', status: 422, title: 'Invalid quota' },
  'unknown-section': { code: 'not-found', status: 404, title: 'Unknown section' },
  'section-not-available': { status: 404, title: 'Not available on this deployment' },
  'campaign-not-found': { status: 404, title: 'Campaign not found' },
  'campaign-not-live': { status: 409, title: 'Only a live campaign can be suspended' },
  'refund-not-found': { status: 404, title: 'Refund not found' },
  'refund-not-pending': { status: 409, title: 'Only a pending refund can be resent' },
})
