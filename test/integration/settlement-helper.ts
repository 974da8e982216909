import { randomBytes, randomUUID } from 'node:crypto'
import { Hono } from 'hono'
import { exceljsXlsxWriter } from '../../routes/settlement/export-xlsx-node.js'
import { fontFromPackage } from '../../routes/settlement/font-node.js'
import type { SettlementDeps } from '../../routes/settlement/index.js'
import { createPayoutCalculate } from '../../routes/settlement/payout-calculate.js'
import { createPayoutStatement } from '../../routes/settlement/payout-statement.js'
import { createSettlementExport } from '../../routes/settlement/settlement-export.js'
import { errorHandler } from '../../src/error-handler.js'
import { createLogger } from '../../src/observability/log.js'
import type { Db } from '../../src/platform/db/port.js'
import type { AppEnv, Identity } from '../../src/types.js'
import type { Harness } from './db-harness.js'

export const OPS = { 'x-test-user': '9e0c1f2a-3b4c-4d5e-8f6a-7b8c9d0e1f2a', 'x-test-ops': '1' }
export const asUser = (userId: string) => ({ 'x-test-user': userId })

/** One font source for every test app: the package is read once per test file. */
export const testFont = fontFromPackage()

export function settlementDeps(db: Db, overrides: Partial<SettlementDeps> = {}): SettlementDeps {
  return {
    db,
    logger: createLogger({ level: 'error', write: () => {} }),
    font: testFont,
    xlsx: exceljsXlsxWriter,
    // After every period of the tests: confirmation checks that the period is over.
    clock: () => Date.parse('2027-06-01T00:00:00Z'),
    ...overrides,
  }
}

/** The three handlers on a minimal app: identity from test headers, problems as the gateway renders them. */
export function buildSettlementApp(deps: SettlementDeps) {
  const app = new Hono<AppEnv>()
  app.use(async (c, next) => {
    c.set('requestId', 'req-test')
    c.set('sideEffect', false)
    const user = c.req.header('x-test-user')
    const identity: Identity | undefined = user
      ? {
          subject: user,
          role: 'authenticated',
          claims: c.req.header('x-test-ops') ? { app_metadata: { role: 'ops' } } : {},
          verified: true,
        }
      : undefined
    c.set('identity', identity)
    await next()
  })
  app.post('/calculate', (c) => createPayoutCalculate(deps)(c))
  app.on(['GET', 'POST'], '/statement', (c) => createPayoutStatement(deps)(c))
  app.on(['GET', 'POST'], '/export', (c) => createSettlementExport(deps)(c))
  app.onError(errorHandler(createLogger({ level: 'error', write: () => {} })))
  return app
}

export function post(
  app: { request: (path: string, init: RequestInit) => Response | Promise<Response> },
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
) {
  return app.request(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
}

export interface Creator {
  id: string
  productId: string
}

/** A creator with a product priced `priceKrw` and a tax profile. */
export async function seedCreator(
  h: Pick<Harness, 'sql'>,
  {
    priceKrw = 10_000,
    incomeType = 'business',
    legalName = '김하늘',
    verified = true,
  }: { priceKrw?: number; incomeType?: string; legalName?: string; verified?: boolean } = {},
): Promise<Creator> {
  const id = randomUUID()
  const productId = `p_${randomBytes(5).toString('hex')}`
  await h.sql(
    `insert into public.products (id, name, price_krw, creator_id) values ($1, '굿즈', $2, $3)`,
    [productId, priceKrw, id],
  )
  await h.sql(
    `insert into public.creator_tax_profiles (creator_id, effective_from, income_type, legal_name, bank_name, account_last4)
     values ($1, '2020-01-01', $2, $3, '국민은행', '4321')`,
    [id, incomeType, legalName],
  )
  if (verified) {
    // A verified identity (0007): confirmation refuses a creator without one. The record's
    // content is opaque to SQL, so a placeholder ciphertext and hash stand in.
    await h.sql(
      `insert into public.identity_verifications (user_id, provider, verification_id, ci_hash,
         pii_key_id, pii_ciphertext, birth_year, verified_at)
       values ($1, 'portone', $3, $2, 'k1', 'placeholder-ciphertext', 1990, now())`,
      [id, randomBytes(32).toString('base64url'), `iv-${id}`],
    )
  }
  return { id, productId }
}

/** A DONE payment of `quantity` of the creator's product, approved at `approvedAt`. */
export async function seedSale(
  db: Db,
  creator: Creator,
  approvedAt: string,
  quantity = 1,
): Promise<{ paymentKey: string; amount: number }> {
  const order = await db.call<{ orderId: string; amount: number }>('checkout_create_order', {
    p_user_id: randomUUID(),
    p_items: [{ productId: creator.productId, quantity }],
  })
  const paymentKey = `pk_${randomBytes(8).toString('hex')}`
  const outcome = await db.call('payment_apply_snapshot', {
    p_payment: {
      paymentKey,
      orderId: order.orderId,
      status: 'DONE',
      method: '카드',
      totalAmount: order.amount,
      balanceAmount: order.amount,
      requestedAt: approvedAt,
      approvedAt,
    },
  })
  if (outcome !== 'applied') throw new Error(`seedSale: ${String(outcome)}`)
  return { paymentKey, amount: order.amount }
}

/** A completed refund of `amount` of a payment, finished at `settledAt`. */
export async function seedRefund(
  h: Pick<Harness, 'sql'>,
  paymentKey: string,
  amount: number,
  settledAt: string,
): Promise<void> {
  await h.sql(
    `insert into public.refunds (payment_key, requester, amount, full_cancel, refundable_amount, reason, status, settled_at)
     values ($1, 'ops', $2, false, $2, '테스트 환불', 'done', $3)`,
    [paymentKey, amount, settledAt],
  )
  await h.sql(
    `update public.payments set balance_amount = balance_amount - $2,
       status = case when balance_amount - $2 = 0 then 'CANCELED' else 'PARTIAL_CANCELED' end
     where payment_key = $1`,
    [paymentKey, amount],
  )
}

export const count = async (h: Pick<Harness, 'sql'>, table: string, where = 'true') =>
  Number(
    (await h.sql<{ n: string }>(`select count(*) as n from public.${table} where ${where}`))[0]?.n,
  )
