import type { z } from 'zod'
import { requireUserId } from '../../src/kit/caller.js'
import { readIdempotencyKey, validJson } from '../../src/kit/request.js'
import { withEffect } from '../../src/platform/effect.js'
import type { NativeHandler } from '../../src/types.js'
import { dbCall } from './db-problems.js'
import type { PaymentDeps } from './deps.js'
import { CheckoutBody, type CheckoutResponse } from './schemas.js'

/** What `checkout_create_order` returns. */
export interface CheckoutOrder {
  orderId: string
  orderName: string
  amount: number
  currency: 'KRW'
  customerKey: string
  replayed: boolean
}

/**
 * `payment-checkout`: create an order priced from the catalog and answer what the Toss payment
 * widget needs (`orderId`, `orderName`, `amount`, `currency`, `customerKey`). The amount is
 * computed in the database; a client-sent amount is ignored. With an `Idempotency-Key`, a
 * repeat returns the first order (200 and `idempotent-replayed: true` instead of 201).
 */
export function createPaymentCheckout({ db, logger }: PaymentDeps): NativeHandler {
  return async function paymentCheckout(c) {
    const userId = requireUserId(c)
    const idempotencyKey = readIdempotencyKey(c)
    const { items } = await validJson(c, CheckoutBody)
    // The order may commit even if its answer is lost: from here a failure is never replayed.
    const order = await dbCall(
      withEffect(c, 'order-create', () =>
        db.call<CheckoutOrder>('checkout_create_order', {
          p_user_id: userId,
          p_items: items,
          p_idempotency_key: idempotencyKey ?? null,
        }),
      ),
    )
    logger.info('checkout order', {
      requestId: c.var.requestId,
      orderId: order.orderId,
      amount: order.amount,
      replayed: order.replayed,
    })
    if (order.replayed) c.header('idempotent-replayed', 'true')
    const { orderId, orderName, amount, currency, customerKey } = order
    // The answer /openapi.json and the typed client describe (`CheckoutResponse`).
    const answer: z.input<typeof CheckoutResponse> = {
      orderId,
      orderName,
      amount,
      currency,
      customerKey,
    }
    return c.json(answer, order.replayed ? 200 : 201)
  }
}
