import type { ParityHook } from '../../../scripts/parity/cases.js'
import type { Db } from '../../../src/platform/db/port.js'
import type { TossFake } from '../../fakes/toss.js'
import { seedPayment } from '../../integration/db-harness.js'
import { hooks as checkout } from '../payment-checkout/hooks.js'

/** A DONE card payment recorded in the database and known to the Toss stand-in. */
export const paidPayment: ParityHook = async (ctx) => {
  const { db, toss } = ctx.services as { db?: Db; toss?: TossFake }
  if (!db || !toss) throw new Error('this setup hook needs the CI stand-ins (database and Toss)')
  const { product } = await (checkout.catalog as ParityHook)(ctx)
  const seeded = await seedPayment(db, {
    userId: ctx.vars.userId,
    items: [{ productId: product as string, quantity: 2 }],
  })
  toss.seed({
    paymentKey: seeded.paymentKey,
    orderId: seeded.orderId,
    totalAmount: seeded.amount,
    status: 'DONE',
  })
  return { paymentKey: seeded.paymentKey, orderId: seeded.orderId, amount: String(seeded.amount) }
}

export const hooks: Record<string, ParityHook> = { paidPayment }
