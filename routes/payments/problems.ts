import { defineProblems } from '../../src/errors.js'

/** What the payment handlers answer besides validation and the database's codes. */
export const PAYMENT_PROBLEMS = defineProblems('payments', {
  'ops-only': { status: 403, title: 'Only ops may resend a refund by id' },
  'webhook-not-authentic': { status: 401, title: 'The webhook could not be authenticated' },
  'webhook-in-progress': {
    status: 409,
    title: 'This delivery is being processed; deliver it again later',
  },
})

/**
 * Stable codes raised by supabase/migrations/0001_payments.sql (docs/data-model.md); the SQL
 * detail of most starts with the field at fault (`items.2.productId`).
 */
export const PAYMENT_SQL_PROBLEMS = defineProblems('payments', {
  'invalid-items': { status: 422, title: 'The cart is not valid', sql: { detail: 'field' } },
  'invalid-product-id': { status: 422, title: 'Not a product id', sql: { detail: 'field' } },
  'invalid-quantity': { status: 422, title: 'Quantity must be 1-99', sql: { detail: 'field' } },
  'duplicate-product': {
    status: 422,
    title: 'A product appears twice',
    sql: { detail: 'field' },
  },
  'unknown-product': { status: 422, title: 'Unknown product', sql: { detail: 'field' } },
  'inactive-product': {
    status: 422,
    title: 'The product is not on sale',
    sql: { detail: 'field' },
  },
  'amount-too-large': {
    status: 422,
    title: 'The order total is too large',
    sql: { detail: 'field' },
  },
  'idempotency-key-reused': {
    status: 422,
    title: 'This Idempotency-Key was used for a different request',
    sql: { detail: 'field' },
  },
  'invalid-idempotency-key': {
    status: 422,
    title: 'Invalid Idempotency-Key',
    sql: { detail: 'field' },
  },
  'invalid-amount': { status: 422, title: 'The amount must be positive', sql: { detail: 'field' } },
  'invalid-reason': {
    status: 422,
    title: 'A reason of 1-200 characters is required',
    sql: { detail: 'field' },
  },
  'payment-not-found': { status: 404, title: 'Payment not found', sql: { detail: 'field' } },
  'refund-not-found': { status: 404, title: 'Refund not found', sql: { detail: 'field' } },
  'not-refundable': { status: 409, title: 'The payment cannot be refunded' },
  'refund-window-closed': { status: 403, title: 'The refund period is over' },
  'refund-in-progress': {
    status: 409,
    title: 'Another refund of this payment is in progress',
    retryAfterSeconds: 5,
  },
  'exceeds-refundable': {
    status: 422,
    title: 'The amount is more than what is left to refund',
    sql: { detail: 'field' },
  },
  'invalid-event': {
    status: 422,
    title: 'The webhook event is not valid',
    sql: { detail: 'field' },
  },
  'refund-account-required': {
    status: 422,
    title: 'A refund account is required for virtual-account payments',
    sql: { detail: 'field' },
  },
})
