/**
 * Legacy `payment-checkout`: `POST {items: [{productId, quantity}]}` by a signed-in user →
 * 201 `{orderId, orderName, amount, currency, customerKey}` priced from the catalog; with an
 * `Idempotency-Key`, a repeat answers the first order with 200 and `idempotent-replayed: true`.
 */
import { z } from 'zod'
import { fieldsOf, json, type LegacyContract, readJson, validationFailed } from '../legacy-kit.js'
import { dbErrorResponse, idempotencyKeyOf, userIdOf } from '../payments-contract.js'

const Body = z.object({
  items: z
    .array(
      z.object({
        productId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
        quantity: z.number().int().min(1).max(99),
      }),
    )
    .min(1)
    .max(20),
})

interface Order {
  orderId: string
  orderName: string
  amount: number
  currency: string
  customerKey: string
  replayed: boolean
}

export const contract: LegacyContract = async (req, env) => {
  const { userId, refused } = await userIdOf(req, env)
  if (refused) return refused
  const key = idempotencyKeyOf(req)
  if (key.refused) return key.refused
  const read = await readJson(req)
  if (!read.ok) return read.response
  const parsed = Body.safeParse(read.body)
  if (!parsed.success) return validationFailed(fieldsOf(parsed.error.issues))
  let order: Order
  try {
    order = await env.db.call<Order>('checkout_create_order', {
      p_user_id: userId,
      p_items: parsed.data.items,
      p_idempotency_key: key.key ?? null,
    })
  } catch (error) {
    return dbErrorResponse(error)
  }
  const { orderId, orderName, amount, currency, customerKey } = order
  return json(
    { orderId, orderName, amount, currency, customerKey },
    order.replayed ? 200 : 201,
    order.replayed ? { 'idempotent-replayed': 'true' } : {},
  )
}
