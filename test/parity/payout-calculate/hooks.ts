import type { ParityHook } from '../../../scripts/parity/cases.js'
import type { Db } from '../../../src/platform/db/port.js'
import { seedPayment } from '../../integration/db-harness.js'

/** A creator every run shares (hooks are idempotent, so native and legacy read the same month). */
export const PARITY_CREATOR_ID = '7a11e0c0-0000-4000-8000-00000000c001'

type Sql = (text: string, params?: unknown[]) => Promise<Record<string, unknown>[]>

/** A creator with two sales and a refund in January 2026 (KST), seeded once. */
async function seedMonth(ctx: Parameters<ParityHook>[0], creatorId: string, productId: string) {
  const { db, sql } = ctx.services as { db?: Db; sql?: Sql }
  if (!db || !sql) throw new Error('this setup hook needs the CI stand-ins (database)')
  const inserted = await sql(
    `insert into public.products (id, name, price_krw, creator_id) values ($1, '패리티 굿즈', 250000, $2)
     on conflict (id) do nothing returning id`,
    [productId, creatorId],
  )
  if (inserted.length === 0) return
  await sql(
    `insert into public.creator_tax_profiles (creator_id, effective_from, income_type, legal_name, bank_name, account_last4)
     values ($1, '2020-01-01', 'business', '패리티 크리에이터', '국민은행', '4321') on conflict do nothing`,
    [creatorId],
  )
  // Confirmation needs a verified identity (0007); its content is opaque to SQL.
  await sql(
    `insert into public.identity_verifications (user_id, provider, verification_id, ci_hash,
       pii_key_id, pii_ciphertext, birth_year, verified_at)
     values ($1, 'portone', $2, $3, 'k1', 'placeholder-ciphertext', 1990, now())
     on conflict do nothing`,
    [
      creatorId,
      `iv-parity-${creatorId}`,
      `parity${creatorId.replace(/-/g, '')}`.slice(0, 43).padEnd(43, 'x'),
    ],
  )
  const sale = await seedPayment(db, {
    userId: ctx.vars.otherUserId,
    items: [{ productId, quantity: 2 }],
    approvedAt: '2026-01-10T03:00:00Z',
  })
  await seedPayment(db, {
    userId: ctx.vars.otherUserId,
    items: [{ productId, quantity: 2 }],
    approvedAt: '2026-01-31T14:59:59Z',
  })
  await sql(
    `insert into public.refunds (payment_key, requester, amount, full_cancel, refundable_amount, reason, status, settled_at)
     values ($1, 'ops', 50000, false, 500000, '패리티 환불', 'done', '2026-01-20T03:00:00Z')`,
    [sale.paymentKey],
  )
}

export const creatorMonth: ParityHook = async (ctx) => {
  await seedMonth(ctx, PARITY_CREATOR_ID, 'parity-creator-goods')
  return { creatorId: PARITY_CREATOR_ID, period: '2026-01' }
}

/** The signed-in test user as a creator with the same month. */
export const ownMonth: ParityHook = async (ctx) => {
  const userId = ctx.vars.userId as string
  await seedMonth(ctx, userId, 'parity-user-goods')
  return { creatorId: userId, period: '2026-01' }
}

export const hooks: Record<string, ParityHook> = { creatorMonth, ownMonth }
